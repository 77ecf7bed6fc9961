"""Units built for other x86 targets and another compiler are right, and were built so.

The kernels pick vector widths and register blocks from the compiler's predefined macros
(``__AVX512F__``, ``__AVX2__``, ...), so each target compiles different code. Here, for
each configuration that .ci/targets runs the C suites under (``-O3 -march=x86-64-v2``:
SSE4.2, no AVX; ``-O3 -march=x86-64-v3``: AVX2 and FMA; clang at ``-O3 -march=native``),
one unit holding the kernels most tied to the target (our tanh and exp, a matrix product
and a matrix-vector one, a one-channel and a three-channel convolution with a fused bias
and relu, and the filter gradient) is built in a fresh cache and checked against numpy in
float64. Passing tests prove little if the flags never reached the compiler, so each
configuration also checks what the compiler saw: a probe unit reports its predefined
macros, the cache's record of the unit names the flags and the compiler, and the
disassembly of an SSE-only unit holds no AVX register (a kernel that needs AVX must be
behind a guard: nothing in it may run on a v2 machine).
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import symgraph as sg
from symgraph.runtime import build, get_toolchain, toolchain

pytestmark = pytest.mark.targets

X86 = platform.machine().lower() in ("x86_64", "amd64")

# What the probe reports: one bit per predefined macro, in this order.
MACROS = ("__SSE4_2__", "__AVX__", "__AVX2__", "__FMA__", "__AVX512F__", "__clang__", "_OPENMP")
PROBE_SOURCE = (
    "int sg_target_macros(void) {\n    int bits = 0;\n"
    + "".join(f"#ifdef {m}\n    bits |= {1 << i};\n#endif\n" for i, m in enumerate(MACROS))
    + "    return bits;\n}\n"
)
PROBE_CDEF = "int sg_target_macros(void);"


@dataclass(frozen=True)
class Config:
    """One configuration of .ci/targets: the environment and what its units must be."""

    cc: str  # "" for the default compiler
    cflags: str  # "" for symgraph's default (-O3 -march=native)
    macros: dict[str, bool]  # predefined macros that must be (True) or must not be (False) set
    forbidden_registers: tuple[str, ...]  # vector registers the unit may not name


CPU_FLAGS = set()
if X86:
    try:
        with open("/proc/cpuinfo") as _f:
            CPU_FLAGS = set(next((ln for ln in _f if ln.startswith("flags")), ":").partition(":")[2].split())
    except OSError:
        pass

CONFIGS = {
    "x86-64-v2": Config(
        "",
        "-O3 -march=x86-64-v2",
        {"__SSE4_2__": True, "__AVX__": False, "__AVX2__": False, "__FMA__": False, "__AVX512F__": False},
        ("ymm", "zmm"),
    ),
    "x86-64-v3": Config(
        "",
        "-O3 -march=x86-64-v3",
        {"__SSE4_2__": True, "__AVX__": True, "__AVX2__": True, "__FMA__": True, "__AVX512F__": False},
        ("zmm",),
    ),
    # native: the macros follow this CPU
    "clang": Config(
        "clang",
        "",
        {"__clang__": True, "__AVX2__": "avx2" in CPU_FLAGS, "__AVX512F__": "avx512f" in CPU_FLAGS},
        (),
    ),
}


def _available(config: Config) -> str | None:
    """Why ``config`` cannot be built on this machine, or None."""
    if not X86:
        return f"x86 targets; this machine is {platform.machine()}"
    if config.cc and shutil.which(config.cc) is None:
        return f"{config.cc} is not installed"
    return None


@pytest.fixture(params=sorted(CONFIGS), ids=str)
def config(request, monkeypatch, tmp_path) -> Config:
    """Set the configuration's CC and SYMGRAPH_CFLAGS, in a fresh cache of its own."""
    config = CONFIGS[request.param]
    reason = _available(config)
    if reason:
        pytest.skip(reason)
    if config.cc:
        monkeypatch.setenv("CC", config.cc)
    else:
        monkeypatch.delenv("CC", raising=False)
    if config.cflags:
        monkeypatch.setenv("SYMGRAPH_CFLAGS", config.cflags)
    else:
        monkeypatch.delenv("SYMGRAPH_CFLAGS", raising=False)
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    compiler = get_toolchain().compiler
    if config.cflags and not toolchain._compiles(compiler, tuple(config.cflags.split())):
        pytest.skip(f"{' '.join(compiler)} does not take {config.cflags} (GCC 11 and clang 12 do)")
    return config


def conv_nhwc64(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A valid, stride-1 NHWC cross-correlation in float64 (filters (kh, kw, in, out))."""
    kh, kw = w.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (kh, kw), axis=(1, 2))
    return np.einsum("nhwcij,ijco->nhwo", windows, w.astype(np.float64))


def filter_grad64(x: np.ndarray, u: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """d sum(conv(x, w) * u) / dw in float64."""
    windows = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), (kh, kw), axis=(1, 2))
    return np.einsum("nhwcij,nhwo->ijco", windows, u.astype(np.float64))


def target_unit():
    """The function of kernels tied to the target, its inputs and the float64 references."""
    rng = np.random.default_rng(0)
    v = np.linspace(-9, 9, 40_001, dtype=np.float32)  # above the OpenMP threshold, odd: a vector tail
    a, b = rng.standard_normal((67, 45), np.float32), rng.standard_normal((45, 33), np.float32)
    row, m = rng.standard_normal((1, 784), np.float32), rng.standard_normal((784, 64), np.float32)
    x1, w1 = rng.standard_normal((3, 28, 28, 1), np.float32), rng.standard_normal((5, 5, 1, 32), np.float32)
    x3, w3 = rng.standard_normal((2, 13, 11, 3), np.float32), rng.standard_normal((3, 3, 3, 8), np.float32)
    bias = rng.standard_normal(32, np.float32)
    u = rng.standard_normal((3, 24, 24, 32), np.float32)
    feeds = [v, a, b, row, m, x1, w1, bias, x3, w3, u]

    ph = [sg.placeholder(arr.shape, "float32") for arr in feeds]
    sv, sa, sb, srow, sm, sx1, sw1, sbias, sx3, sw3, su = ph
    conv1 = sg.nn.conv2d(sx1, sw1)
    outputs = [
        sg.tanh(sv) * sg.exp(sv * 0.5),
        sa @ sb,
        srow @ sm,
        sg.nn.relu(conv1 + sbias),
        sg.nn.conv2d(sx3, sw3),
        sg.grad(sg.sum(conv1 * su), [sw1])[0],
    ]
    v64 = v.astype(np.float64)
    expected = [
        np.tanh(v64) * np.exp(v64 * 0.5),
        a.astype(np.float64) @ b,
        row.astype(np.float64) @ m,
        np.maximum(conv_nhwc64(x1, w1) + bias, 0),
        conv_nhwc64(x3, w3),
        filter_grad64(x1, u, 5, 5),
    ]
    return sg.function(ph, outputs, mode="c"), feeds, expected


NAMES = ("tanh*exp", "matmul", "matrix-vector", "conv c1 + bias + relu", "conv c3", "conv filter gradient")
# our tanh and exp are within 2 ulp each; products and convolutions sum up to 800 terms
TOLERANCES = {"tanh*exp": (3e-6, 1e-30)}
DEFAULT_TOLERANCE = (2e-5, 2e-4)


def probe_macros() -> dict[str, bool]:
    loaded = build.build(PROBE_SOURCE, PROBE_CDEF, name_hint="target-probe")
    bits = loaded.lib.sg_target_macros()
    return {m: bool(bits >> i & 1) for i, m in enumerate(MACROS)}


def vector_registers(library: Path) -> set[str]:
    """The x86 vector register families (mm, xmm, ymm, zmm) named in ``library``'s code."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(re.findall(r"%([xyz]?mm)\d+", out.stdout))


def test_units_built_for_the_target_match_numpy(config: Config):
    tc = get_toolchain()  # without OpenMP (clang without libomp) it runs on one thread: still right
    f, feeds, expected = target_unit()
    got = f(*feeds)
    for name, g, e in zip(NAMES, got, expected):
        rtol, atol = TOLERANCES.get(name, DEFAULT_TOLERANCE)
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"{name} under {config}")

    # the compiler saw the configuration: its predefined macros ...
    macros = probe_macros()
    wanted = {**config.macros, "_OPENMP": tc.openmp}
    wrong = {m: macros[m] for m, want in wanted.items() if macros[m] != want}
    assert not wrong, f"predefined macros {wrong} (wanted {wanted}) under {config}"
    # ... the cache's record of the unit: the flags and the compiler that built it ...
    library = f._compiled.library.path
    record = json.loads((library.parent / "meta.json").read_text())
    flags = config.cflags.split() or ["-O3", "-march=native"]
    assert record["cflags"][: len(flags)] == flags, record["cflags"]
    assert record["compiler"] == tc.version
    assert ("clang" in tc.version.lower()) == (config.cc == "clang"), tc.version
    # ... and the machine code: an SSE-only unit names no AVX register, and no unit an MMX
    # one (GCC 12 used one without EMMS at x86-64-v2: the toolchain passes -mno-mmx)
    if shutil.which("objdump"):
        found = vector_registers(library) & {"mm", *config.forbidden_registers}
        assert not found, f"{library.name} built with {config.cflags} uses {sorted(found)} registers"
