"""The generated unit: structure of the C, updates, outputs and call-time errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symgraph as sg
from symgraph.ops.arithmetic import Add
from symgraph.ops.c_loops import PARALLEL_MIN_STATIC
from symgraph.runtime import toolchain
from symgraph.runtime.toolchain import csrc_dir


def test_kernels_are_named_after_ops_and_reshape_is_free():
    x = sg.placeholder((None, 3), name="x")
    f = sg.function([x], sg.reshape(x + 1.0, (-1,)), mode="c")
    source = f.c_source
    assert "static int k" in source and "_add(" in source
    assert "reshape" not in source.split("int sg_entry")[1]  # no kernel: the buffer is shared
    assert "(1.f)" in source  # a one-element constant is inlined
    np.testing.assert_array_equal(f(np.zeros((2, 3), "float32")), np.ones(6))


def test_user_names_reach_c_only_in_comments():
    x = sg.placeholder((None,), name="x */ int evil; /*")
    f = sg.function([x], x + x, mode="c")
    code = [line for line in f.c_source.splitlines() if not line.strip().startswith("/*") and "/*" not in line]
    assert not any("evil" in line for line in code)
    np.testing.assert_array_equal(f(np.ones(2, "float32")), [2, 2])


def test_updates_read_old_values_in_c():
    a = sg.Variable(np.float32(1.0), name="a")
    b = sg.Variable(np.float32(10.0), name="b")
    swap = sg.function([], [a, b], updates=[(a, b), (b, a + b)], mode="c")
    assert [float(v) for v in swap()] == [1.0, 10.0]
    assert float(a.get_value()) == 10.0 and float(b.get_value()) == 11.0


def test_outputs_are_fresh_arrays():
    W = sg.Variable(np.zeros(3, "float32"), name="W")
    x = sg.placeholder((3,), name="x")
    f = sg.function([x], [W, x, x + W, x + W], updates=[(W, W + 1.0)], mode="c")
    data = np.zeros(3, "float32")
    w_out, x_out, s1, s2 = f(data)
    w_out[0] = x_out[0] = s1[0] = 42
    assert W.get_value()[0] == 1 and data[0] == 0 and s2[0] == 0


def test_one_build_serves_every_batch_size():
    x = sg.placeholder((None, 4), name="x")
    b = sg.Variable(np.arange(4, dtype="float32"), name="b")
    f = sg.function([x], x + b, mode="c")
    for batch in (1, 7, 128):
        data = np.random.default_rng(batch).standard_normal((batch, 4)).astype("float32")
        np.testing.assert_array_equal(f(data), data + np.arange(4, dtype="float32"))


def test_call_time_shape_error_from_c_names_the_node():
    x = sg.placeholder((None,), name="x")
    y = sg.placeholder((None,), name="y")
    out = x + y  # the line named
    f = sg.function([x, y], out, mode="c")
    with pytest.raises(sg.errors.ShapeError) as info:
        f(np.ones(3, "float32"), np.ones(4, "float32"))
    message = str(info.value)
    assert message.startswith("add:") and "float32[x.0] = (3,)" in message and "test_unit.py:" in message


def test_non_contiguous_inputs_are_accepted():
    x = sg.placeholder((None, 2), name="x")
    f = sg.function([x], x + x, mode="c")
    data = np.arange(12, dtype="float32").reshape(3, 4)[:, ::2]
    np.testing.assert_array_equal(f(data), data * 2)


def test_shared_buffer_reshape_checks_sizes_at_call_time():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.reshape(x, (2, x.shape[0] // 2)), mode="c")
    assert f(np.ones(4, "float32")).shape == (2, 2)
    with pytest.raises(sg.errors.ShapeError, match="cannot reshape 5 elements into 4"):
        f(np.ones(5, "float32"))


def test_integer_power_uses_its_support_function():
    i = sg.placeholder((None,), "int32", name="i")
    g = sg.function([i], i**3, mode="c")
    np.testing.assert_array_equal(g(np.arange(5, dtype="int32")), np.arange(5) ** 3)
    assert g.c_source.count("sg_ipow_int32_t(int32_t") == 1


def test_debug_mode_runs_both_and_agrees():
    x = sg.placeholder((None, 3), name="x")
    W = sg.Variable(np.ones(3, "float32"), name="W")
    f = sg.function([x], sg.exp(x) + W, updates=[(W, W * 2.0)], mode="debug")
    data = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    np.testing.assert_allclose(f(data), np.exp(data) + 1, rtol=1e-6)
    np.testing.assert_array_equal(W.get_value(), [2, 2, 2])  # updated once, not twice
    assert f.c_source is not None


def test_debug_mode_reports_a_disagreement(monkeypatch):
    x = sg.placeholder((2,), name="x")
    f = sg.function([x], x + 1.0, mode="debug")
    monkeypatch.setattr(Add, "compute", lambda self, a, b: a - b)  # break the numpy side
    with pytest.raises(sg.errors.BackendMismatchError, match="output 0 differs"):
        f(np.zeros(2, "float32"))


def test_trust_input_skips_the_checks_but_computes_the_same():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], x + 1.0, mode="c", trust_input=True)
    np.testing.assert_array_equal(f(np.zeros(3, "float32")), [1, 1, 1])


def test_without_a_compiler_mode_c_says_what_to_install_and_py_still_works(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-anywhere")
    toolchain._toolchain.cache_clear()
    x = sg.placeholder((2,), name="x")
    try:
        with pytest.raises(sg.errors.SymgraphError, match="install"):
            sg.function([x], x * 3.0, mode="c")
        np.testing.assert_array_equal(sg.function([x], x * 3.0, mode="py")(np.ones(2, "float32")), [3, 3])
    finally:
        toolchain._toolchain.cache_clear()


def test_parallel_threshold_is_one_number():
    texts = [header.read_text() for header in sorted(csrc_dir().glob("*.h"))]
    defined = [int(n) for text in texts for n in re.findall(r"#define SG_PARALLEL_MIN (\d+)", text)]
    assert defined == [PARALLEL_MIN_STATIC]  # defined once, in the headers, as the loops' builder has it


def test_calls_take_the_c_path_and_fall_back_for_unusual_arguments():
    x = sg.placeholder((None, 2), name="x")
    f = sg.function([x], x * 2.0)
    assert f._caller is not None  # the C call path exists here
    np.testing.assert_array_equal(f(np.ones((3, 2), "float32")), np.full((3, 2), 2))
    strided = np.ones((3, 4), "float32")[:, ::2]
    np.testing.assert_array_equal(f(strided), np.full((3, 2), 2))  # copied on the checked path
    np.testing.assert_array_equal(f(x=np.ones((1, 2), "float32")), [[2, 2]])  # keywords too
    np.testing.assert_array_equal(f([[1, 2]]), [[2, 4]])  # Python data converted
    with pytest.raises(sg.errors.DTypeError):
        f(np.ones((3, 2), "float64"))
    with pytest.raises(sg.errors.ShapeError):
        f(np.ones((3, 3), "float32"))


def test_a_failing_call_on_the_c_path_raises_the_named_error():
    idx = sg.placeholder((None,), "int64", name="idx")
    table = sg.Variable(np.arange(6, dtype="float32").reshape(3, 2), name="table")
    f = sg.function([idx], sg.take(table, idx, axis=0))
    assert f._caller is not None
    np.testing.assert_array_equal(f(np.array([2, 0])), [[4, 5], [0, 1]])
    with pytest.raises(sg.errors.IndexOutOfRangeError, match="index 3 is out of bounds"):
        f(np.array([3]))


def test_temporaries_live_in_an_arena_reused_by_liveness():
    x = sg.placeholder((None, 3), name="x")
    y = sg.exp(x) @ sg.constant(np.ones((3, 2), "float32"))
    f = sg.function([x], sg.sum(y * y, axis=1) + sg.max(y), passes="O0")
    entry = f.c_source.split("int sg_entry")[1]
    assert "malloc(" not in entry and "free(" not in entry.split("if (sg_need > sg_call->size)")[0]
    assert "posix_memalign" in entry  # only when a call needs more than the arena holds
    assert "static void *" not in f.c_source  # the function's own memory (sg_call), not the library's
    slots = entry.count("const size_t sg_slot")
    temporaries = entry.count("(char *)(sg_call->memory) + ")
    assert slots < temporaries  # dead temporaries' slots are reused
    for n in (7, 1, 128, 7):  # grows for 128, reuses for the smaller ones
        a = np.random.default_rng(n).standard_normal((n, 3)).astype("float32")
        e = np.exp(a) @ np.ones((3, 2))
        np.testing.assert_allclose(f(a), (e * e).sum(1) + e.max(), rtol=2e-5)


def _adam_like(shape=(3, 5)):
    g = sg.placeholder(shape, name="g")
    p, m, v = (sg.Variable(np.full(shape, k, "float32"), name=n) for k, n in ((1.0, "p"), (0.0, "m"), (0.0, "v")))
    m_new = 0.9 * m + 0.1 * g
    v_new = 0.999 * v + 0.001 * g * g
    p_new = p - 0.01 * m_new / (sg.sqrt(v_new) + 1e-7)
    return g, (p, m, v), [(m, m_new), (v, v_new), (p, p_new)]


def test_optimizer_updates_are_written_in_place_by_one_loop():
    g, (p, m, v), updates = _adam_like()
    f = sg.function([g], [], updates=updates)
    body = f.c_source.split("int sg_entry(")[1]
    assert "memcpy" not in body  # every update written by the kernel itself
    assert f.c_source.count("static int k") == 1
    rng = np.random.default_rng(0)
    p_, m_, v_ = np.ones((3, 5), "float32"), np.zeros((3, 5), "float32"), np.zeros((3, 5), "float32")
    for _ in range(3):
        grad = rng.standard_normal((3, 5)).astype("float32")
        f(grad)
        m_ = np.float32(0.9) * m_ + np.float32(0.1) * grad
        v_ = np.float32(0.999) * v_ + np.float32(0.001) * grad * grad
        p_ = p_ - np.float32(0.01) * m_ / (np.sqrt(v_) + np.float32(1e-7))
    np.testing.assert_allclose(m.get_value(), m_, rtol=1e-6)
    np.testing.assert_allclose(v.get_value(), v_, rtol=1e-6)
    np.testing.assert_allclose(p.get_value(), p_, rtol=1e-6)


def test_an_old_value_read_after_the_update_kernel_keeps_the_copy():
    a = sg.Variable(np.arange(4, dtype="float32"), name="a")
    b = sg.Variable(np.zeros(4, "float32"), name="b")
    new_a = sg.exp(a)
    # b's new value needs the old a after exp(a) ran, through a reduction (not fusable)
    f = sg.function([], [], updates=[(a, new_a), (b, sg.sum(a) + new_a)])
    f()
    old = np.arange(4, dtype="float32")
    np.testing.assert_allclose(a.get_value(), np.exp(old), rtol=1e-6)
    np.testing.assert_allclose(b.get_value(), old.sum() + np.exp(old), rtol=1e-6)


@pytest.mark.parametrize("passes", ["O0", "O2"])
def test_in_place_keeps_theano_rule_for_outputs_and_other_updates(passes):
    a = sg.Variable(np.arange(4, dtype="float32"), name="a")
    b = sg.Variable(np.zeros((2, 2), "float32"), name="b")
    # a's old value leaves as an output and, reshaped, as b's new value
    f = sg.function(
        [], [a * 1.0, sg.reshape(a, (2, 2))], updates=[(a, a + 1.0), (b, sg.reshape(a, (2, 2)))], passes=passes
    )
    out, reshaped = f()
    np.testing.assert_array_equal(out, np.arange(4))
    np.testing.assert_array_equal(reshaped, np.arange(4).reshape(2, 2))
    np.testing.assert_array_equal(b.get_value(), np.arange(4).reshape(2, 2))
    np.testing.assert_array_equal(a.get_value(), np.arange(4) + 1)
