"""canonicalize, fold_constants and simplify_algebra: each rewrite by graph structure,
the numbers with the passes on and off (C and numpy), and the user's line kept."""

from __future__ import annotations

import time

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.traversal import toposort
from symgraph.passes.simplify import canonicalize, fold_constants, simplify_algebra


def ops(t) -> list[str]:
    """The op names of the graph computing ``t``, in topological order."""
    return [n.op.name for n in toposort([t])]


def run(pass_, y):
    (out,), fired = pass_([y])
    return out, fired


def value(t) -> np.ndarray:
    assert t.node.op.name == "constant", ops(t)
    return t.node.op.value


def x32(shape=(3,)):
    return sg.placeholder(shape, "float32", name="x")


def i32(shape=(3,)):
    return sg.placeholder(shape, "int32", name="i")


# ---------------------------------------------------------------- canonicalize


def test_constant_operand_goes_second():
    x = x32()
    out, fired = run(canonicalize, 2.0 * x)
    assert fired == 1 and ops(out) == ["placeholder", "constant", "mul"]
    assert out.node.inputs[0] is x
    assert out is run(canonicalize, x * 2.0)[0]  # one form: the two spellings merge


def test_maximum_of_floats_keeps_its_order_but_integers_swap():
    x, i = x32(), i32()
    assert run(canonicalize, sg.maximum(0.0, x))[1] == 0  # maximum(0.0, -0.0) is -0.0
    out, fired = run(canonicalize, sg.maximum(0, i))
    assert fired == 1 and out.node.inputs[0] is i


def test_sub_constant_becomes_add_of_negation():
    x = x32()
    out, _ = run(canonicalize, x - 3.0)
    assert out.node.op.name == "add" and out.node.inputs[0] is x
    assert value(out.node.inputs[1]) == np.float32(-3.0)


def test_divide_by_power_of_two_becomes_multiply_but_not_by_three():
    x = x32()
    out, _ = run(canonicalize, x / 4.0)
    assert out.node.op.name == "mul" and value(out.node.inputs[1]) == np.float32(0.25)
    assert run(canonicalize, x / 3.0)[1] == 0
    assert run(canonicalize, x / 0.0)[1] == 0


def test_negated_constant_is_folded():
    c = sg.constant(np.array([1.0, -2.0], np.float32))
    out, _ = run(canonicalize, -c)
    np.testing.assert_array_equal(value(out), [-1.0, 2.0])
    assert value(out).dtype == np.float32


# ---------------------------------------------------------------- fold_constants


def test_fold_keeps_dtype_and_shape():
    a = sg.constant(np.arange(6, dtype=np.int16).reshape(2, 3))
    b = sg.constant(np.array([1, 2, 3], np.int16))
    out, fired = run(fold_constants, sg.reshape(a * b + 1, (3, 2)))
    assert fired == 3 and ops(out) == ["constant"]
    want = (np.arange(6, dtype=np.int16).reshape(2, 3) * np.int16([1, 2, 3]) + np.int16(1)).reshape(3, 2)
    np.testing.assert_array_equal(value(out), want)
    assert value(out).dtype == np.int16 and out.shape == (3, 2)


def test_fold_does_not_materialise_big_results():
    big = sg.zeros((512, 512))  # 262144 elements: stays a broadcast of a scalar
    out, fired = run(fold_constants, big)
    assert fired == 0 and ops(out) == ["constant", "broadcast_to"]
    small = sg.zeros((4, 4)) + 1.0
    out, _ = run(fold_constants, small)
    np.testing.assert_array_equal(value(out), np.ones((4, 4), np.float32))


def test_fold_leaves_placeholders_and_symbolic_shapes():
    x = sg.placeholder((None,), name="x")
    out, fired = run(fold_constants, x + sg.constant(1.0) * 2.0)
    assert fired == 1 and ops(out) == ["placeholder", "constant", "add"]
    assert run(fold_constants, sg.zeros_like(x))[1] == 0  # shape known only at call time


# ---------------------------------------------------------------- simplify_algebra


def test_mul_by_one_either_side_and_broadcast():
    x = x32()
    assert run(simplify_algebra, x * 1.0)[0] is x
    assert run(simplify_algebra, 1.0 * x)[0] is x
    out, _ = run(simplify_algebra, x * sg.ones((2, 3)))
    assert ops(out) == ["placeholder", "broadcast_to"] and out.shape == (2, 3)


def test_add_zero_and_sub_zero():
    x, i = x32(), i32()
    assert run(simplify_algebra, i + 0)[0] is i
    assert run(simplify_algebra, x - 0.0)[0] is x
    assert run(simplify_algebra, x + sg.constant(np.float32(-0.0)))[0] is x
    # x + 0.0 turns -0.0 into +0.0: not an identity on floats
    assert run(simplify_algebra, x + 0.0)[1] == 0


def test_sub_self_and_mul_by_zero_only_for_integers():
    x, i = x32(), i32()
    out, _ = run(simplify_algebra, i - i)
    assert ops(out) == ["constant", "broadcast_to"] and out.dtype == np.int32
    out, _ = run(simplify_algebra, i * 0)
    assert ops(out) == ["constant", "broadcast_to"]
    # NaN semantics: inf - inf and inf * 0 are NaN, so float x-x and x*0 stay
    assert run(simplify_algebra, x - x)[1] == 0
    assert run(simplify_algebra, x * 0.0)[1] == 0
    f = sg.function([x], [x - x, x * 0.0])
    got = f(np.array([np.inf, np.nan, 1.0], np.float32))
    assert np.isnan(got[0][:2]).all() and np.isnan(got[1][:2]).all() and got[0][2] == 0


@pytest.mark.parametrize("level", ["O0", "O1", "O2"])
@pytest.mark.parametrize("mode", ["py", "c"])
def test_sub_self_and_mul_by_zero_keep_an_operand_that_raises(mode, level):
    # take(v, idx) raises for an index out of range: x - x and x * 0 must not drop it at
    # one level and raise at another (the fuzzer's seed 27402)
    v = sg.placeholder((4,), "int32", name="v")
    idx = sg.placeholder((None,), "int32", name="idx")
    x = sg.take(v, idx)
    f = sg.function([v, idx], [x - x, x * 0], mode=mode, passes=level)
    values = np.arange(4, dtype="int32")
    for a in f(values, np.array([1, 3], "int32")):
        np.testing.assert_array_equal(a, [0, 0])
    with pytest.raises(sg.errors.IndexOutOfRangeError):
        f(values, np.array([1, 9], "int32"))
    # a leaf computes nothing and raises nothing: it still folds
    i = i32()
    assert ops(run(simplify_algebra, i * 0)[0]) == ["constant", "broadcast_to"]


def test_divide_by_one_and_double_negation():
    x = x32()
    assert run(simplify_algebra, x / 1.0)[0] is x
    assert run(simplify_algebra, sg.negative(sg.negative(x)))[0] is x


def test_divide_self_only_where_exact():
    big = sg.broadcast_to(sg.constant(np.float32(3.0)), (400, 400))  # too big to fold
    out, fired = run(simplify_algebra, big / big)
    assert fired == 1 and ops(out) == ["constant", "broadcast_to"] and value(out.node.inputs[0]) == 1
    zero = sg.broadcast_to(sg.constant(np.float32(0.0)), (400, 400))
    assert run(simplify_algebra, zero / zero)[1] == 0  # 0/0 is NaN
    x = x32()
    assert run(simplify_algebra, x / x)[1] == 0  # x may be 0, inf or NaN at call time
    f = sg.function([x], x / x)
    got = f(np.array([0.0, np.inf, 2.0], np.float32))
    assert np.isnan(got[:2]).all() and got[2] == 1


def test_double_transpose():
    x = sg.placeholder((2, 3, 4), name="x")
    assert run(simplify_algebra, x.T.T)[0] is x
    out, _ = run(simplify_algebra, sg.transpose(sg.transpose(x, (1, 0, 2)), (0, 2, 1)))
    assert ops(out) == ["placeholder", "transpose"] and out.node.op.perm == (1, 2, 0)


def test_reshape_chain_and_reshape_to_same_shape():
    x = sg.placeholder((2, 6), name="x")
    out, _ = run(simplify_algebra, sg.reshape(sg.reshape(x, (3, 4)), (4, 3)))
    assert ops(out) == ["placeholder", "reshape"] and out.shape == (4, 3)
    assert run(simplify_algebra, sg.reshape(sg.reshape(x, (12,)), (2, 6)))[0] is x


def test_broadcast_chain():
    x = sg.placeholder((3,), name="x")
    out, _ = run(simplify_algebra, sg.broadcast_to(sg.broadcast_to(x, (2, 3)), (4, 2, 3)))
    assert ops(out) == ["placeholder", "broadcast_to"] and out.shape == (4, 2, 3)


def test_sum_of_broadcast_multiplies_by_the_count():
    x = sg.placeholder((3,), name="x")
    out, _ = run(simplify_algebra, sg.sum(sg.broadcast_to(x, (5, 3)), axis=0))
    assert ops(out) == ["placeholder", "constant", "mul"] and value(out.node.inputs[1]) == 5
    col = sg.placeholder((4, 1), name="c")
    out, _ = run(simplify_algebra, sg.sum(sg.broadcast_to(col, (2, 4, 6)), axis=(0, 2), keepdims=True))
    assert out.shape == (1, 4, 1) and "sum" not in ops(out)
    # an axis the broadcast did not add is summed for real
    assert run(simplify_algebra, sg.sum(sg.broadcast_to(x, (5, 3)), axis=1))[1] == 0
    i = sg.placeholder((3,), "int8", name="i")
    out, _ = run(simplify_algebra, sg.sum(sg.broadcast_to(i, (5, 3)), axis=0))
    assert out.dtype == np.int64 and "sum" not in ops(out)


def test_casts():
    x = x32()
    wide = sg.cast(sg.cast(x, "float64"), "int32")
    out, _ = run(simplify_algebra, wide)
    assert ops(out) == ["placeholder", "cast"] and out.node.inputs[0] is x
    assert run(simplify_algebra, sg.cast(sg.cast(x, "float64"), "float32"))[0] is x
    # a narrowing inner cast rounds: it stays
    d = sg.placeholder((3,), "float64", name="d")
    assert run(simplify_algebra, sg.cast(sg.cast(d, "float32"), "float64"))[1] == 0


def test_golden_dump_of_a_simplified_graph():
    x = sg.placeholder((2, 3), name="x")
    y = sg.sum(sg.broadcast_to(sg.negative(sg.negative(x.T.T * 1.0)), (4, 2, 3)), axis=0) - 2.0
    (out,), _ = canonicalize([y])
    (out,), _ = simplify_algebra([out])
    assert sg.dump(out, show_locations=False) == (
        "# optimized=False\n"
        "%0 = placeholder{name=x}  float32[2,3]\n"
        "%1 = constant{value=4.}   float32[]\n"
        "%2 = mul(%0, %1)          float32[2,3]\n"
        "%3 = constant{value=-2.}  float32[]\n"
        "%4 = add(%2, %3)          float32[2,3]\n"
        "outputs: %4\n"
    )


# ---------------------------------------------------------------- numbers, lines, cost


def _graph():
    x = sg.placeholder((4, 3), name="x")
    i = sg.placeholder((3,), "int32", name="i")
    a = (2.0 * x - 3.0) / 4.0 * 1.0 + sg.constant(np.float32(-0.0))
    b = sg.reshape(sg.reshape(sg.negative(sg.negative(a.T.T)), (12,)), (3, 4)) / 1.0
    c = sg.sum(sg.broadcast_to(sg.sum(x, axis=0), (5, 3)), axis=0) - 0.0
    d = sg.cast(sg.cast(i, "int64"), "float32") + sg.constant(np.float32(1.0)) * 2.0
    e = (i - i) + i * 0 + sg.maximum(1, i) + (sg.constant(3) - sg.constant(1))
    return [x, i], [b, c, d, e]


@pytest.mark.parametrize("mode", ["py", "c"])
def test_numbers_equal_with_passes_on_and_off(mode):
    inputs, outputs = _graph()
    rng = np.random.default_rng(0)
    args = [rng.standard_normal((4, 3)).astype(np.float32), np.array([-2, 0, 7], np.int32)]
    off = sg.function(inputs, outputs, passes="O0", mode=mode)(*args)
    on_fn = sg.function(inputs, outputs, mode=mode)
    on = on_fn(*args)
    fired = {r.name: r.fired for r in on_fn.report.passes}
    assert fired["canonicalize"] and fired["fold_constants"] and fired["simplify_algebra"]
    for got, want in zip(on, off):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_rewrites_keep_the_users_line():
    x = sg.placeholder((2, 3), name="x")
    y = sg.sum(sg.broadcast_to(x, (4, 2, 3)), axis=0)  # the line the replacement points at
    line = y.node.location.line
    (out,), _ = simplify_algebra([y])
    assert out.node.op.name == "mul" and out.node.location.line == line
    z = 2.0 * x - 3.0  # canonicalised on this line
    (out,), _ = canonicalize([z])
    assert out.node.op.name == "add" and out.node.location.line == line + 4


def test_w3_training_graph_simplifies_quickly():
    from benchmarks.workloads import mlp_train_graph

    _, loss, updates = mlp_train_graph()
    outputs = [loss] + [u for _, u in updates]
    start = time.perf_counter()
    outputs, _ = canonicalize(outputs)
    outputs, _ = fold_constants(outputs)
    outputs, _ = simplify_algebra(outputs)
    assert time.perf_counter() - start < 0.1
