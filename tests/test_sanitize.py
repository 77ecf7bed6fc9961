"""The sanitizer job (.ci/sanitize) builds every unit with ASan and UBSan, and a report
ends the run.

The tests marked ``sanitize`` run only inside that job (it sets SYMGRAPH_SANITIZE=1,
SYMGRAPH_CFLAGS and LD_PRELOAD): they check that units really are instrumented, and that
an out-of-bounds write or a signed overflow in a unit kills the process with a report
(in a child process that inherits the job's environment, so the run goes on). Outside the
job, one test runs the script itself: on those tests, which must pass, and on a test whose
unit writes past the end of its buffer, which must fail the run with ASan's report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import symgraph as sg
from symgraph.runtime.toolchain import get_toolchain

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / ".ci" / "sanitize"
IN_JOB = os.environ.get("SYMGRAPH_SANITIZE") == "1"
in_job_only = pytest.mark.skipif(not IN_JOB, reason="runs inside .ci/sanitize only (SYMGRAPH_SANITIZE=1)")


def _libasan() -> str | None:
    """gcc's ASan runtime for the compiler symgraph uses, or None."""
    try:
        found = subprocess.run(
            [*get_toolchain().compiler, "-print-file-name=libasan.so"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if os.path.isabs(found) and os.path.exists(found) else None


def _run_unit(c_body: str, cdef: str, call: str) -> subprocess.CompletedProcess:
    """Build ``c_body`` with build.build in a child Python (the job's environment) and run ``call``."""
    script = textwrap.dedent(
        f"""
        import numpy as np
        from symgraph.runtime import build
        unit = build.build({c_body!r}, {cdef!r}, name_hint="sanitizer_probe")
        lib, ffi = unit.lib, unit.ffi
        {call}
        print("the unit returned")
        """
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)


OUT_OF_BOUNDS = """
#include <stdint.h>
/* one element past the end: the off-by-one a kernel's loop bound could make */
void sg_fill(float *out, int64_t n)
{
    for (int64_t i = 0; i <= n; i++) out[i] = 1.0f;
}
"""
SIGNED_OVERFLOW = """
#include <stdint.h>
int32_t sg_add(int32_t a, int32_t b) { return a + b; }
"""


@pytest.mark.sanitize
@in_job_only
def test_units_are_built_with_the_sanitizers_and_asan_is_loaded():
    assert {"-fsanitize=address,undefined"} <= set(get_toolchain().cflags)
    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    assert "libasan" in maps, "the ASan runtime is not loaded: LD_PRELOAD is missing"
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.tanh(x) * 2.0, mode="c")
    data = np.linspace(-2, 2, 7, dtype="float32")
    np.testing.assert_allclose(f(data), np.tanh(data) * 2, rtol=1e-6)
    assert "libubsan" in Path("/proc/self/maps").read_text(), "a unit was built without UBSan"


@pytest.mark.sanitize
@in_job_only
def test_an_out_of_bounds_write_in_a_unit_ends_the_run():
    good = _run_unit(OUT_OF_BOUNDS, "void sg_fill(float *out, int64_t n);", "")
    assert good.returncode == 0 and "the unit returned" in good.stdout, good.stderr
    bad = _run_unit(
        OUT_OF_BOUNDS,
        "void sg_fill(float *out, int64_t n);",
        "a = np.zeros(5, np.float32); lib.sg_fill(ffi.from_buffer('float[]', a), a.size)",
    )
    assert bad.returncode != 0 and "the unit returned" not in bad.stdout
    assert "AddressSanitizer: heap-buffer-overflow" in bad.stderr and "sg_fill" in bad.stderr, bad.stderr[-3000:]


@pytest.mark.sanitize
@in_job_only
def test_a_signed_overflow_in_a_unit_ends_the_run():
    bad = _run_unit(SIGNED_OVERFLOW, "int32_t sg_add(int32_t a, int32_t b);", "lib.sg_add(2**31 - 1, 1)")
    assert bad.returncode != 0 and "the unit returned" not in bad.stdout
    assert "runtime error: signed integer overflow" in bad.stderr, bad.stderr[-3000:]


IN_PROCESS_OUT_OF_BOUNDS = f"""
import numpy as np
from symgraph.runtime import build


def test_writes_past_the_end():
    unit = build.build({OUT_OF_BOUNDS!r}, "void sg_fill(float *out, int64_t n);", name_hint="past_the_end")
    a = np.zeros(3, np.float32)
    unit.lib.sg_fill(unit.ffi.from_buffer("float[]", a), a.size)


def test_after_it():
    pass
"""


@pytest.mark.skipif(IN_JOB, reason="this test starts the job itself")
def test_the_sanitize_job_passes_clean_units_and_fails_on_a_bad_one(tmp_path):
    if _libasan() is None:
        pytest.skip("the C compiler has no libasan.so: the sanitizer job cannot run here")
    env = {k: v for k, v in os.environ.items() if k not in ("SYMGRAPH_CACHE_DIR", "SYMGRAPH_TEST_CACHE_DIR")}
    env["PYTHON"] = sys.executable

    def job(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)

    clean = job("tests/test_sanitize.py")
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert "3 passed" in clean.stdout and "skipped" in clean.stdout, clean.stdout[-2000:]
    bad_test = tmp_path / "test_past_the_end.py"
    bad_test.write_text(IN_PROCESS_OUT_OF_BOUNDS)
    bad = job(str(bad_test))
    assert bad.returncode != 0 and " passed" not in bad.stdout, bad.stdout[-2000:]
    assert "AddressSanitizer: heap-buffer-overflow" in bad.stderr and "sg_fill" in bad.stderr, bad.stderr[-3000:]
