"""fn.export_c and model.export(format="c"): the C a function exports builds with `make`
alone and computes what the function computes in Python.

The reference is the function itself (``model.predict`` for the Keras models): bitwise
where the same code runs (the Makefile's BLAS=scipy-openblas links the OpenBLAS symgraph
links, with the same flags), else within float32 rounding of products summed in another
order (the portable GEMM, another -march, no OpenMP): rtol 1e-5, atol 1e-6 on softmax
and sigmoid outputs, measured differences about 3e-8. Every build goes into its own copy
of the export in tmp_path.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import symgraph as sg
from symgraph import keras
from symgraph.errors import InputError, UnsupportedError
from symgraph.export import ExportExistsError, check_name
from symgraph.function import Function
from symgraph.keras import layers
from symgraph.runtime.toolchain import _openblas, csrc_dir

RTOL, ATOL = 1e-5, 1e-6

pytestmark = pytest.mark.skipif(shutil.which("make") is None or shutil.which("cc") is None, reason="needs make and cc")


def scipy_openblas_dir() -> str:
    """The scipy_openblas32 package's directory (include/ and lib/): BLAS=scipy-openblas."""
    return os.path.dirname(_openblas()[0])


def make(directory: Path, *settings: str, target: str = "all") -> None:
    proc = subprocess.run(["make", "-j2", "-C", str(directory), target, *settings], capture_output=True, text=True)
    assert proc.returncode == 0, f"make {' '.join(settings)} failed:\n{proc.stdout}\n{proc.stderr}"


def run_command(
    command: Path, *args: str | Path, wrapper: tuple[str, ...] = (), expect: int = 0
) -> subprocess.CompletedProcess:
    proc = subprocess.run([*wrapper, str(command), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == expect, f"exit {proc.returncode} (expected {expect}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def build_copy(export: Path, where: Path, *settings: str) -> Path:
    """A copy of ``export`` built with ``settings``: its directory."""
    target = where / "_".join(s.split("=")[0].lower() for s in settings) if settings else where / "default"
    shutil.copytree(export, target)
    make(target, *settings)
    return target


def run_on(directory: Path, name: str, inputs: list[np.ndarray], n_out: int = 1, **kw) -> list[np.ndarray]:
    """The command ``directory/name`` on ``inputs`` (as .npy files): its outputs."""
    paths = []
    for k, a in enumerate(inputs):
        paths.append(directory / f"in{k}.npy")
        np.save(paths[-1], a)
    outs = [directory / f"out{k}.npy" for k in range(n_out)]
    run_command(directory / name, *paths, *outs, **kw)
    return [np.load(p) for p in outs]


# --- the two models of the issue ------------------------------------------------------------


def mnist_cnn() -> keras.Model:
    """examples/keras_mnist_cnn.py's architecture (untrained: seeded random weights)."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, (5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ]
    )


def lstm_classifier() -> keras.Model:
    """examples/keras_lstm_classifier.py's model, any sequence length."""
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            layers.Embedding(200, 32),
            layers.LSTM(32),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    model = mnist_cnn()
    directory = tmp_path_factory.mktemp("cnn") / "export"
    model.export(directory, format="c", name="cnn")
    images = np.random.default_rng(0).random((7, 28, 28, 1), dtype=np.float32)
    return directory, images, model.predict(images, verbose=0)


@pytest.fixture(scope="module")
def lstm(tmp_path_factory):
    model = lstm_classifier()
    directory = tmp_path_factory.mktemp("lstm") / "export"
    model.export(directory, format="c", name="lstm", weights="file")
    words = np.random.default_rng(1).integers(0, 200, (9, 40)).astype(np.int32)
    return directory, words, model.predict(words, verbose=0), model


CNN_BUILDS = {
    "scipy-openblas (the code predict runs)": ("BLAS=scipy-openblas", "SCIPY_OPENBLAS_DIR={ob}"),
    "portable GEMM": (),
    "portable GEMM, no OpenMP": ("OPENMP=0",),
    "-O3 -march=x86-64-v2": ("CFLAGS=-O3 -march=x86-64-v2",),
}


@pytest.mark.parametrize("build", list(CNN_BUILDS))
def test_the_mnist_cnn_runs_as_predict(cnn, build, tmp_path):
    directory, images, expected = cnn
    settings = [s.format(ob=scipy_openblas_dir()) for s in CNN_BUILDS[build]]
    built = build_copy(directory, tmp_path, *settings)
    (got,) = run_on(built, "cnn", [images])
    assert got.dtype == np.float32 and got.shape == (7, 10)
    if build.startswith("scipy-openblas (the code"):
        np.testing.assert_array_equal(got, expected)  # the same C, flags and BLAS: the same bits
    else:
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    assert float(np.ptp(got)) > 1e-3  # not a degenerate output that would hide a wrong result


@pytest.mark.parametrize("build", ["scipy-openblas", "portable", "portable, no OpenMP"])
def test_the_lstm_classifier_runs_as_predict_with_weights_from_a_file(lstm, build, tmp_path):
    directory, words, expected, model = lstm
    settings = {
        "scipy-openblas": ("BLAS=scipy-openblas", f"SCIPY_OPENBLAS_DIR={scipy_openblas_dir()}"),
        "portable": (),
        "portable, no OpenMP": ("OPENMP=0",),
    }[build]
    built = build_copy(directory, tmp_path, *settings)
    (got,) = run_on(built, "lstm", [words])
    assert got.shape == (9, 1)
    if build == "scipy-openblas":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    # the sequence length is a size of the call: one build serves every length
    (short,) = run_on(built, "lstm", [words[:, :7].copy()])
    np.testing.assert_allclose(short, model.predict(words[:, :7], verbose=0), rtol=RTOL, atol=ATOL)


def test_the_lstm_command_reports_bad_ids_bad_files_and_bad_weights(lstm, tmp_path):
    directory, words, _, _ = lstm
    built = build_copy(directory, tmp_path)
    command = built / "lstm"
    bad = words.copy()
    bad[3, 5] = 250
    np.save(tmp_path / "bad.npy", bad)
    proc = run_command(command, tmp_path / "bad.npy", tmp_path / "out.npy", expect=1)
    assert "index out of range" in proc.stderr and "250" in proc.stderr and "gather" in proc.stderr
    np.save(tmp_path / "floats.npy", words.astype(np.float32))
    proc = run_command(command, tmp_path / "floats.npy", tmp_path / "out.npy", expect=1)
    assert "int32[batch,x0.1]" in proc.stderr and "'<f4'" in proc.stderr
    np.save(tmp_path / "rank1.npy", words[0])
    proc = run_command(command, tmp_path / "rank1.npy", tmp_path / "out.npy", expect=1)
    assert "has 1 axes" in proc.stderr
    run_command(command, tmp_path / "in.npy", expect=2)  # an output missing: usage
    assert "INPUT0" in run_command(command, "--help").stdout

    np.save(tmp_path / "words.npy", words)
    weights = (built / "lstm.bin").read_bytes()
    elsewhere = tmp_path / "w.bin"
    elsewhere.write_bytes(weights)
    run_command(command, "--weights", elsewhere, tmp_path / "words.npy", tmp_path / "out.npy")
    cases = {
        "missing.bin": (None, "cannot open the weights file"),
        "truncated.bin": (weights[:-100], "ends early"),
        "longer.bin": (weights + b"\0", "longer than its Variables"),
        "magic.bin": (b"NOTMAGIC" + weights[8:], "not a symgraph weights file"),
        "other.bin": (weights[:16] + bytes(8) + weights[24:], "weights of another export"),
        "order.bin": (weights[:12] + struct.pack("=I", 0x04030201) + weights[16:], "other byte order"),
    }
    for filename, (content, message) in cases.items():
        path = tmp_path / filename
        if content is not None:
            path.write_bytes(content)
        proc = run_command(command, "--weights", path, tmp_path / "words.npy", tmp_path / "out.npy", expect=1)
        assert message in proc.stderr and "error (weights)" in proc.stderr, (filename, proc.stderr)


def test_hostile_npy_files_are_refused_with_a_message(tmp_path):
    x = sg.placeholder((None, 3), name="x")
    fn = sg.function([x], x * 2, name="twice")
    fn.export_c(tmp_path / "e")
    make(tmp_path / "e", "OPENMP=0")
    command = tmp_path / "e" / "twice"
    good = tmp_path / "good.npy"
    np.save(good, np.ones((2, 3), np.float32))
    data = good.read_bytes()
    header_end = data.index(b"\n") + 1
    cases = {
        "not npy": (b"hello", "not a .npy file"),
        "truncated data": (data[:-4], "ends early"),
        "trailing data": (data + b"\0\0\0\0", "more data than the header"),
        "huge header": (data[:8] + b"\xff\xff" + data[10:], "the file ends early"),
        "version 9": (data[:6] + b"\x09\x00" + data[8:], "version 9.0"),
        "fortran order": (data.replace(b"'fortran_order': False", b"'fortran_order': True "), "Fortran order"),
        "unknown key": (data.replace(b"'shape'", b"'shapx'"), "not the dictionary numpy writes"),
        "overflowing shape": (
            data[:10] + data[10:header_end].replace(b"(2, 3)", b"(99999999999999999, 99999999)") + data[header_end:],
            "",
        ),
    }
    for label, (content, message) in cases.items():
        path = tmp_path / "bad.npy"
        path.write_bytes(content)
        proc = run_command(command, path, tmp_path / "out.npy", expect=1)
        assert message in proc.stderr and "bad.npy" in proc.stderr, (label, proc.stderr)
    np.save(tmp_path / "big.npy", np.ones((2, 3), ">f4"))
    assert "'>f4'" in run_command(command, tmp_path / "big.npy", tmp_path / "out.npy", expect=1).stderr
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((2, 3), np.float32)))
    assert "Fortran order" in run_command(command, tmp_path / "f.npy", tmp_path / "out.npy", expect=1).stderr


# --- functions of the graph API -------------------------------------------------------------


def test_dtypes_several_inputs_and_outputs_shared_and_derived_sizes(tmp_path):
    n = sg.dim("n")
    a = sg.placeholder((n, 3), "float64", name="a")
    b = sg.placeholder((n,), "int64", name="b")
    c = sg.placeholder((4,), "bool", name="c")
    table = np.arange(12, dtype=np.float64).reshape(3, 4) - 5  # a constant array of the unit
    outs = [
        sg.concatenate([sg.exp(a), a * 2], axis=0),  # 2n rows: a size computed from n
        sg.sum(a, axis=1) + sg.cast(b, "float64"),
        sg.cast(c, "int32") * 3,
        sg.cast(b > 1, "uint8"),
        sg.dot(a, table),
    ]
    fn = sg.function([a, b, c], outs, name="mixed")
    fn.export_c(tmp_path / "e")
    make(tmp_path / "e")
    args = [np.linspace(-1, 1, 15).reshape(5, 3), np.arange(5, dtype=np.int64), np.array([1, 0, 0, 1], bool)]
    got = run_on(tmp_path / "e", "mixed", args, n_out=5)
    for g, want in zip(got, fn(*args)):
        assert g.dtype == want.dtype and g.shape == want.shape
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)
    # an empty batch
    empty = [np.zeros((0, 3)), np.zeros(0, np.int64), args[2]]
    got = run_on(tmp_path / "e", "mixed", empty, n_out=5)
    assert [g.shape for g in got] == [w.shape for w in fn(*empty)]
    # sizes bound from one input and checked against another
    np.save(tmp_path / "a.npy", args[0])
    np.save(tmp_path / "b.npy", np.arange(4, dtype=np.int64))
    np.save(tmp_path / "c.npy", args[2])
    outs = [tmp_path / f"o{k}.npy" for k in range(5)]
    proc = run_command(
        tmp_path / "e" / "mixed", tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy", *outs, expect=1
    )
    assert "input 1 (b) axis 0 has size 4, but the size n was 5" in proc.stderr


API_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "first/first.h"
#include "second/second.h"

int main(void)
{
    float x[6] = {-1.5f, -0.5f, 0.0f, 0.5f, 1.0f, 2.0f}, y[8], z[6];
    first_ctx *f;
    second_ctx *s;
    if (first_init(&f, NULL) != FIRST_OK || second_init(&s, NULL) != SECOND_OK) return 10;
    /* the typed call: the size, the input, the output */
    if (first_run(f, 2, x, y) != FIRST_OK) { printf("%s\n", first_error_message(f)); return 11; }
    for (int i = 0; i < 8; i++) printf("%.9g ", y[i]);
    printf("\n");
    if (second_run(s, 6, x, z) != SECOND_OK) return 12;
    for (int i = 0; i < 6; i++) printf("%.9g ", z[i]);
    printf("\n");
    /* bad arguments: a status and a message, nothing run */
    int status = first_run(f, -1, x, y);
    printf("%d %s\n", status, first_error_message(f));
    status = first_run(f, 2, NULL, y);
    printf("%d %s\n", status, first_error_message(f));
    status = first_run(f, 0, NULL, NULL); /* no elements: NULL is fine */
    printf("%d [%s]\n", status, first_error_message(f));
    status = second_init(NULL, NULL);
    printf("%d\n", status);
    second_ctx *bad;
    status = second_init(&bad, "weights.bin");
    printf("%d %s\n", status, second_error_message(bad));
    second_free(bad);
    int64_t shape[2], sizes[1] = {5};
    const int rank = first_output_shape(0, sizes, shape);
    printf("%d %lld %lld %s %s %s\n", rank, (long long)shape[0], (long long)shape[1], first_input_type(0),
           first_size_name(0), first_input_dtype(1) == NULL ? "null" : "?");
    const char *dtype;
    int64_t count;
    const float *w = (const float *)first_variable(f, 0, &dtype, &count);
    printf("%s %lld %.9g\n", dtype, (long long)count, w[1]);
    first_free(f);
    second_free(s);
    first_free(NULL);
    printf("%s\n", first_error_message(NULL));
    return 0;
}
"""


def test_the_api_from_c_two_exports_in_one_program(tmp_path):
    x = sg.placeholder((None, 3), name="x")
    W = sg.Variable(np.arange(12, dtype=np.float32).reshape(3, 4) / 10, name="W")
    first = sg.function([x], sg.tanh(x @ W) + 1, name="first")
    v = sg.placeholder((None,), name="v")
    second = sg.function([v], sg.nn.sigmoid(v) * sg.exp(v), name="second")
    first.export_c(tmp_path / "first")
    second.export_c(tmp_path / "second")
    make(tmp_path / "first")
    make(tmp_path / "second")
    # only the export's own names leave each object file (OpenMP's named critical sections aside)
    for name in ("first", "second"):
        symbols = subprocess.run(
            ["nm", "-g", "--defined-only", str(tmp_path / name / f"{name}.o")], capture_output=True, text=True
        ).stdout.split()[2::3]
        assert symbols and all(s.startswith(f"{name}_") or s.startswith(".gomp_critical") for s in symbols), symbols
    (tmp_path / "prog.c").write_text(API_PROGRAM)
    subprocess.run(
        ["cc", "-O2", "-fopenmp", "-I", str(tmp_path), str(tmp_path / "prog.c"), str(tmp_path / "first" / "libfirst.a"),
         str(tmp_path / "second" / "libsecond.a"), "-lm", "-o", str(tmp_path / "prog")],
        check=True,
    )  # fmt: skip
    lines = run_command(tmp_path / "prog").stdout.splitlines()
    xs = np.array([-1.5, -0.5, 0.0, 0.5, 1.0, 2.0], np.float32)
    np.testing.assert_allclose(np.array(lines[0].split(), np.float32), first(xs.reshape(2, 3)).ravel(), rtol=1e-6)
    np.testing.assert_allclose(np.array(lines[1].split(), np.float32), second(xs), rtol=1e-6)
    assert lines[2] == "8 first_run: the size x.0 is negative (-1)"
    assert lines[3] == "8 first_run: input 0 (x) is NULL"
    assert lines[4] == "0 []"
    assert lines[5] == "8"
    assert lines[6] == "8 second_init: this build has its weights compiled in; pass NULL as weights_path"
    assert lines[7] == "2 5 4 float32[x.0,3] x.0 null"
    assert lines[8] == "float32 12 0.100000001"
    assert lines[9].startswith("first: no context")


UPDATE_PROGRAM = r"""
#include <stdio.h>
#include "sgd.h"

int main(int argc, char **argv)
{
    float x[8] = {1, 2, -1, 0.5f, 0, 1, 3, -2}, y[4] = {1, -1, 2, 0}, loss;
    sgd_ctx *ctx;
    if (sgd_init(&ctx, argc > 1 ? argv[1] : NULL) != SGD_OK) { printf("%s\n", sgd_error_message(ctx)); return 1; }
    for (int step = 0; step < 3; step++) {
        if (sgd_run(ctx, 4, x, y, &loss) != SGD_OK) { printf("%s\n", sgd_error_message(ctx)); return 2; }
        printf("%.9g\n", loss);
    }
    const float *w = (const float *)sgd_variable(ctx, 0, NULL, NULL);
    printf("%.9g %.9g\n", w[0], w[1]);
    sgd_free(ctx);
    return 0;
}
"""


@pytest.mark.parametrize("weights", ["embed", "file"])
def test_a_training_step_keeps_its_variables_in_the_context(tmp_path, weights):
    n = sg.dim("n")  # one size for both: sgd_run(ctx, n, x, y, &loss)
    x = sg.placeholder((n, 2), name="x")
    y = sg.placeholder((n,), name="y")
    w = sg.Variable(np.array([0.5, -0.25], np.float32), name="w")
    loss = sg.mean((x @ w - y) ** 2)
    (gw,) = sg.grad(loss, [w])
    step = sg.function([x, y], loss, updates=[(w, w - 0.1 * gw)], name="sgd")
    step.export_c(tmp_path / "e", weights=weights)  # the values before any step
    make(tmp_path / "e", "OPENMP=0")
    (tmp_path / "e" / "prog.c").write_text(UPDATE_PROGRAM)
    subprocess.run(["cc", "-O2", "-I", str(tmp_path / "e"), str(tmp_path / "e" / "prog.c"),
                    str(tmp_path / "e" / "libsgd.a"), "-lm", "-o", str(tmp_path / "prog")], check=True)  # fmt: skip
    args = [str(tmp_path / "e" / "sgd.bin")] if weights == "file" else []
    lines = run_command(tmp_path / "prog", *args).stdout.splitlines()
    xs = np.array([1, 2, -1, 0.5, 0, 1, 3, -2], np.float32).reshape(4, 2)
    ys = np.array([1, -1, 2, 0], np.float32)
    losses = [float(step(xs, ys)) for _ in range(3)]
    np.testing.assert_allclose([float(v) for v in lines[:3]], losses, rtol=1e-6)
    np.testing.assert_allclose([float(v) for v in lines[3].split()], w.get_value(), rtol=1e-6)


def test_a_function_without_inputs_and_scalar_outputs(tmp_path):
    a = sg.Variable(np.float32(1.5), name="a")
    table = sg.constant(np.array([[1, 2], [3, 4]], np.int32))
    fn = sg.function([], [a * 2, sg.sum(table)], name="noin")
    fn.export_c(tmp_path / "e")
    make(tmp_path / "e")
    got = run_on(tmp_path / "e", "noin", [], n_out=2)
    assert got[0].shape == () and got[0] == np.float32(3.0)
    assert got[1].dtype == fn()[1].dtype and got[1] == 10


def test_py_and_profiled_functions_export_the_plain_unit(tmp_path):
    x = sg.placeholder((None,), name="x")
    plain = sg.function([x], sg.tanh(x) * 2)
    for k, fn in enumerate(
        [sg.function([x], sg.tanh(x) * 2, mode="py"), sg.function([x], sg.tanh(x) * 2, profile=True)]
    ):
        fn.export_c(tmp_path / f"e{k}", name="f")
        source = (tmp_path / f"e{k}" / "f.c").read_text()
        assert plain.c_source in source and "sg_profile" not in source
    make(tmp_path / "e1", "OPENMP=0")
    xs = np.linspace(-3, 3, 50, dtype=np.float32)
    (got,) = run_on(tmp_path / "e1", "f", [xs])
    np.testing.assert_allclose(got, plain(xs), rtol=RTOL, atol=ATOL)


def test_the_makefile_rebuilds_when_a_setting_changes(tmp_path):
    x = sg.placeholder((None,), name="x")
    sg.function([x], x + 1).export_c(tmp_path / "e", name="inc")
    make(tmp_path / "e")
    proc = subprocess.run(["make", "-C", str(tmp_path / "e")], capture_output=True, text=True)
    assert " -c " not in proc.stdout  # up to date
    proc = subprocess.run(["make", "-C", str(tmp_path / "e"), "OPENMP=0"], capture_output=True, text=True)
    assert proc.returncode == 0 and "-c inc.c" in proc.stdout and "-fopenmp" not in proc.stdout
    proc = subprocess.run(["make", "-C", str(tmp_path / "e"), "BLAS=mkl"], capture_output=True, text=True)
    assert proc.returncode != 0 and "BLAS must be portable, openblas, cblas or scipy-openblas" in proc.stderr


def test_a_cblas_with_standard_names_builds_through_sg_blas_cblas(tmp_path):
    """BLAS=openblas (SG_BLAS_CBLAS + SG_BLAS_OPENBLAS): no system OpenBLAS is installed here,
    so a cblas.h naming the wheel's prefixed routines stands in for one."""
    x = sg.placeholder((None, 16), name="x")
    W = sg.Variable(np.linspace(-1, 1, 16 * 8, dtype=np.float32).reshape(16, 8), name="W")
    fn = sg.function([x], x @ W, name="mm")
    fn.export_c(tmp_path / "e")
    ob = scipy_openblas_dir()
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "cblas.h").write_text(
        f'#include "{ob}/include/cblas.h"\n'
        "#define cblas_sgemm scipy_cblas_sgemm\n#define cblas_dgemm scipy_cblas_dgemm\n"
        "#define cblas_sgemv scipy_cblas_sgemv\n#define cblas_dgemv scipy_cblas_dgemv\n"
        "#define openblas_get_num_threads scipy_openblas_get_num_threads\n"
        "#define openblas_set_num_threads scipy_openblas_set_num_threads\n"
    )
    make(
        tmp_path / "e",
        "BLAS=openblas",
        f"BLAS_CFLAGS=-I{shim}",
        f"BLAS_LIBS=-L{ob}/lib -lscipy_openblas -Wl,-rpath,{ob}/lib",
    )
    xs = np.random.default_rng(2).random((33, 16), dtype=np.float32)
    (got,) = run_on(tmp_path / "e", "mm", [xs])
    np.testing.assert_array_equal(got, fn(xs))


# --- the portable GEMM itself -----------------------------------------------------------------

GEMM_CHECK = r"""
/* {FN} of the portable build against a double-precision loop: both layouts, every transpose,
 * leading dimensions past the rows' ends (left untouched), beta 0 (c not read: NaN there) */
static int check_{FN}(int m, int n, int k, double alpha, double beta)
{
    for (int order = 0; order < 2; order++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const int a_rows = (order == 0) == !ta ? m : k, a_cols = (order == 0) == !ta ? k : m;
                const int b_rows = (order == 0) == !tb ? k : n, b_cols = (order == 0) == !tb ? n : k;
                const int c_rows = order == 0 ? m : n, c_cols = order == 0 ? n : m;
                const int lda = a_cols + 3, ldb = b_cols + 1, ldc = c_cols + 2;
                {T} *a = malloc(sizeof({T}) * (size_t)(a_rows * lda + 1));
                {T} *b = malloc(sizeof({T}) * (size_t)(b_rows * ldb + 1));
                {T} *c = malloc(sizeof({T}) * (size_t)(c_rows * ldc + 1));
                double *c0 = malloc(sizeof(double) * (size_t)(c_rows * ldc + 1));
                for (int i = 0; i < a_rows * lda; i++) a[i] = ({T})value(i, 1);
                for (int i = 0; i < b_rows * ldb; i++) b[i] = ({T})value(i, 2);
                for (int i = 0; i < c_rows * ldc; i++) c0[i] = c[i] = beta == 0 ? ({T})NAN : ({T})value(i, 3);
                SG_CBLAS({FN})(order ? CblasColMajor : CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                               tb ? CblasTrans : CblasNoTrans, m, n, k, ({T})alpha, a, lda, b, ldb, ({T})beta, c, ldc);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double sum = 0, size = 0; /* size: the sum of |terms|, which bounds the rounding */
                        for (int p = 0; p < k; p++) {
                            const double av = order == 0 ? (ta ? a[p * lda + i] : a[i * lda + p])
                                                         : (ta ? a[i * lda + p] : a[p * lda + i]);
                            const double bv = order == 0 ? (tb ? b[j * ldb + p] : b[p * ldb + j])
                                                         : (tb ? b[p * ldb + j] : b[j * ldb + p]);
                            sum += av * bv;
                            size += fabs(av * bv);
                        }
                        const int at = order == 0 ? i * ldc + j : j * ldc + i;
                        const double want = alpha * sum + (beta == 0 ? 0 : beta * c0[at]);
                        const double kept = beta == 0 ? 0 : fabs(beta * c0[at]);
                        const double bound = {EPS} * 2 * (k + 4) * (fabs(alpha) * size + kept) + 1e-300;
                        if (!(fabs(c[at] - want) <= bound)) {
                            printf("BAD {FN} order %d ta %d tb %d m %d n %d k %d: %g vs %g\n", order, ta, tb, m, n, k,
                                   (double)c[at], want);
                            return 1;
                        }
                    }
                for (int i = 0; i < c_rows; i++)
                    for (int j = c_cols; j < ldc; j++)
                        if (!(c[i * ldc + j] == ({T})c0[i * ldc + j] || (isnan(c[i * ldc + j]) && beta == 0))) {
                            printf("BAD {FN}: wrote outside the matrix\n");
                            return 1;
                        }
                free(a);
                free(b);
                free(c);
                free(c0);
            }
    return 0;
}
"""

GEMM_MAIN = r"""
int main(void)
{
    static const int sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 16, 1}, {17, 33, 65}, {5, 300, 3}, {130, 20, 257},
                                   {129, 1030, 9}, {1, 40, 50}, {40, 1, 50}, {0, 5, 5}, {5, 5, 0}};
    static const double scalars[][2] = {{1, 0}, {0.75, 0.5}, {-2, 1}, {0, 0.25}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t q = 0; q < sizeof scalars / sizeof scalars[0]; q++) {
            const int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
            const double alpha = scalars[q][0], beta = scalars[q][1];
            if (check_sgemm(m, n, k, alpha, beta) || check_dgemm(m, n, k, alpha, beta)) return 1;
        }
    /* sgemv: y = alpha op(A) x + beta y, both layouts and transposes, strides of either sign */
    for (int order = 0; order < 2; order++)
        for (int t = 0; t < 2; t++)
            for (int inc = -2; inc <= 2; inc += 4) {
                const int m = 37, n = 21, lda = (order == 0 ? n : m) + 2;
                float a[37 * 40], x[80], y[80], y0[80];
                for (int i = 0; i < 37 * 40; i++) a[i] = (float)value(i, 4);
                for (int i = 0; i < 80; i++) {
                    x[i] = (float)value(i, 5);
                    y0[i] = y[i] = (float)value(i, 6);
                }
                SG_CBLAS(sgemv)(order ? CblasColMajor : CblasRowMajor, t ? CblasTrans : CblasNoTrans, m, n, 0.5f, a,
                                lda, x, inc, 2.0f, y, -inc);
                const int len_x = t ? m : n, len_y = t ? n : m;
                for (int i = 0; i < len_y; i++) {
                    double sum = 0;
                    for (int j = 0; j < len_x; j++) {
                        const int row = t ? j : i, col = t ? i : j;
                        const double av = order == 0 ? a[row * lda + col] : a[col * lda + row];
                        sum += av * x[inc > 0 ? j * inc : (len_x - 1 - j) * -inc];
                    }
                    const int at = -inc > 0 ? i * -inc : (len_y - 1 - i) * inc;
                    const double want = 0.5 * sum + 2.0 * y0[at];
                    if (!(fabs(y[at] - want) <= 1e-5)) {
                        printf("BAD sgemv order %d t %d inc %d: %g vs %g\n", order, t, inc, (double)y[at], want);
                        return 1;
                    }
                }
            }
    printf("ok\n");
    return 0;
}
"""


def gemm_program() -> str:
    """The portable GEMM's check: sgemm and dgemm against a double loop, sgemv with strides."""
    head = '#include <math.h>\n#include <stdio.h>\n#include "symgraph_blas.h"\n\n'
    head += "static double value(int64_t i, int seed) { return sin(0.37 * (double)i + seed) * 0.5; }\n"
    checks = [
        GEMM_CHECK.replace("{T}", t).replace("{FN}", fn).replace("{EPS}", eps)  # eps: the type's unit roundoff
        for t, fn, eps in (("float", "sgemm", "6e-8"), ("double", "dgemm", "1.2e-16"))
    ]
    return head + "".join(checks) + GEMM_MAIN


@pytest.mark.parametrize("flags", ["-O0", "-O3 -march=native", "-O2 -march=x86-64-v2 -fopenmp"])
def test_the_portable_gemm_is_cblas(tmp_path, flags):
    (tmp_path / "gemm.c").write_text(gemm_program())
    subprocess.run(
        ["cc", *flags.split(), "-ffp-contract=off", "-DSG_BLAS_PORTABLE", f"-I{csrc_dir()}", str(tmp_path / "gemm.c"),
         "-lm", "-o", str(tmp_path / "gemm")],
        check=True,
    )  # fmt: skip
    assert run_command(tmp_path / "gemm").stdout.strip() == "ok"


def test_every_runtime_header_compiles_alone_without_a_blas(tmp_path):
    """As tests/codegen/test_headers.py, with SG_BLAS_PORTABLE and no BLAS include directory."""
    headers = [p.name for p in csrc_dir().glob("*.h") if not p.name.endswith("_template.h")]
    for header in headers:
        (tmp_path / "one.c").write_text(f'#include "{header}"\n')
        proc = subprocess.run(
            ["cc", "-O2", "-Werror", "-DSG_BLAS_PORTABLE",
             f"-I{csrc_dir()}", "-fsyntax-only", str(tmp_path / "one.c")],
            capture_output=True, text=True,
        )  # fmt: skip
        assert proc.returncode == 0, f"{header}:\n{proc.stderr}"


# --- bad input --------------------------------------------------------------------------------


def small_function() -> Function:
    x = sg.placeholder((None,), name="x")
    return sg.function([x], x * 3, name="triple")


@pytest.mark.parametrize(
    "name", ["1abc", "a-b", "int", "main", "math", "Stdio", "sg_model", "SymgraphNet", "../evil", "", "a" * 65, "é", 3]
)
def test_names_that_are_not_c_identifiers_are_refused(name, tmp_path):
    with pytest.raises(InputError, match="name"):
        small_function().export_c(tmp_path / "e", name=name)
    assert not (tmp_path / "e").exists()


def test_good_names_and_the_default_name(tmp_path):
    assert check_name("mnist_v2") == "mnist_v2"
    small_function().export_c(tmp_path / "e")
    assert (tmp_path / "e" / "triple.h").exists()
    x = sg.placeholder((None,), name="x")
    sg.function([x], x, name="not an identifier").export_c(tmp_path / "f")
    assert (tmp_path / "f" / "model.h").exists()


def test_an_existing_directory_is_not_overwritten_without_overwrite(tmp_path):
    target = tmp_path / "e"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ExportExistsError, match="not empty; pass overwrite=True"):
        small_function().export_c(target)
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    with pytest.raises(FileExistsError):  # the builtin a user catches
        small_function().export_c(target)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportExistsError, match="not a directory"):
        small_function().export_c(tmp_path / "file", overwrite=True)
    # overwrite replaces the export's own files, leaves the others, and follows no link out
    outside = tmp_path / "outside.h"
    outside.write_text("untouched")
    (target / "triple.h").symlink_to(outside)
    small_function().export_c(target, overwrite=True)
    assert outside.read_text() == "untouched"
    assert not (target / "triple.h").is_symlink() and "triple_run" in (target / "triple.h").read_text()
    assert (target / "notes.txt").read_text() == "mine"
    # an empty directory is fine, and missing parents are made
    (tmp_path / "empty").mkdir()
    small_function().export_c(tmp_path / "empty")
    small_function().export_c(tmp_path / "a" / "b" / "c")
    assert (tmp_path / "a" / "b" / "c" / "Makefile").exists()


def test_bad_weights_mode(tmp_path):
    with pytest.raises(InputError, match="weights must be one of 'embed', 'file'"):
        small_function().export_c(tmp_path / "e", weights="bin")


def test_model_export_formats(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2)])
    with pytest.raises(UnsupportedError, match=r"formats symgraph writes are \['c', 'onnx'\]"):
        model.export(tmp_path / "m")  # Keras 3's default: a TensorFlow SavedModel
    with pytest.raises(UnsupportedError, match="'c'"):
        model.export(tmp_path / "m", format="litert")
    with pytest.raises(ValueError, match="Unrecognized format=zip"):
        model.export(tmp_path / "m", format="zip")
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        model.export(tmp_path / "m", format="c", opset_version=17)
    calls = []
    onnx = types.ModuleType("symgraph.onnx")  # symgraph.onnx's export_model, as model.export calls it
    onnx.export_model = lambda m, path, **kw: calls.append((m, path, kw)) or "done"
    monkeypatch.setitem(sys.modules, "symgraph.onnx", onnx)
    assert model.export(tmp_path / "m.onnx", format="onnx", opset_version=18) == "done"
    assert calls == [(model, tmp_path / "m.onnx", {"opset_version": 18})]
    assert not (tmp_path / "m").exists()


def test_model_export_of_a_subclassed_model_needs_its_input_shape(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3, activation="tanh")

        def call(self, x):
            return self.dense(x) * 2

    net = Net()
    with pytest.raises(ValueError, match="no known input shape"):
        net.export(tmp_path / "n", format="c")
    data = np.random.default_rng(3).random((4, 5), dtype=np.float32)
    expected = net.predict(data, verbose=0)
    path = net.export(tmp_path / "n", format="c", name="net", verbose=False)
    make(path, "OPENMP=0")
    (got,) = run_on(path, "net", [data])
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    other = Net()
    with pytest.raises(UnsupportedError, match="unknown size past the batch"):
        other.export(tmp_path / "o", format="c", input_signature=[(None, None)])


def test_input_names_that_clash_with_the_api_become_other_parameters(tmp_path):
    names = ["sizes", "ctx", "outputs", "mm_run_arrays", "MM_OK", "int", "x.0", "x-0"]
    xs = [sg.placeholder((None,), name=n) for n in names]
    fn = sg.function(xs, sum(xs[1:], xs[0]), name="mm")
    fn.export_c(tmp_path / "e")
    header = (tmp_path / "e" / "mm.h").read_text()
    assert (
        "int mm_run(mm_ctx *ctx, int64_t sizes_0, int64_t ctx_0, int64_t outputs_0, int64_t a_mm_run_arrays_0, "
        "int64_t a_MM_OK_0, int64_t int_0, int64_t x_0_0, int64_t x_0_0_1, const float *a_sizes, const float *a_ctx, "
        "const float *a_outputs, const float *a_mm_run_arrays, const float *a_MM_OK, const float *a_int, "
        "const float *x_0, const float *x_0_1, float *out0);" in header
    )
    make(tmp_path / "e", "OPENMP=0")
    args = [np.full(3, k, np.float32) for k in range(len(names))]
    (got,) = run_on(tmp_path / "e", "mm", args)
    np.testing.assert_array_equal(got, fn(*args))
