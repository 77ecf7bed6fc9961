"""Elementwise fusion, tested by graph structure and by equal numbers with it off."""

from __future__ import annotations

import numpy as np
import pytest

import symgraph as sg
from symgraph.graph.traversal import toposort
from symgraph.passes.fusion import fuse_elementwise, fuse_reductions

ONLY_FUSION = "O0,+fuse_elementwise"  # this pass alone: the others are tested on their own


def _op_names(outputs) -> list[str]:
    return [n.op.name for n in toposort(outputs) if n.inputs]


def test_w2_chain_becomes_one_loop():
    x = sg.placeholder((None,), name="x")
    a, b = sg.placeholder((), name="a"), sg.placeholder((), name="b")
    y = sg.tanh(x * a + b) * sg.nn.sigmoid(x) - 0.5 * x * x
    (out,), fired = fuse_elementwise([y])
    assert fired == 1 and _op_names([out]) == ["fused_elementwise"]
    assert out.node.op.expression() == "sub(mul(tanh(add(mul(%0, %1), %2)), sigmoid(%0)), mul(mul(%3, %0), %0))"
    assert out.node.location == y.node.location


def test_a_value_used_outside_the_group_becomes_a_second_output_of_the_loop():
    x = sg.placeholder((4,), name="x")
    e = sg.exp(x)
    y = e * 2.0 + 1.0
    (out_y, out_e), fired = fuse_elementwise([y, e])
    assert fired == 1 and out_y.node is out_e.node
    assert out_y.node.op.expressions() == ["exp(%0)", "add(mul($0, %1), %2)"]
    assert out_y.node.outputs[0] is out_e and out_y.node.outputs[1] is out_y


def test_an_export_that_would_make_a_cycle_is_not_fused():
    # h = x @ W + b feeds relu (forward) and the gradient's mask after a matmul that
    # depends on relu(h): exporting h from the mask's loop would need the matmul first
    x = sg.placeholder((None, 3), name="x")
    W = sg.Variable(np.ones((3, 3), "float32"), name="W")
    h = x @ W + 1.0
    r = sg.nn.relu(h)
    mask = sg.where(h > 0, r @ W, 0.0)
    (out_r, out_mask), _ = fuse_elementwise([r, mask])
    order = toposort([out_r, out_mask])
    assert len(order) == len({id(n) for n in order})  # a DAG: toposort would loop otherwise
    assert out_r.node.op.name == "fused_elementwise"  # h and relu(h): one loop, two outputs
    assert len(out_r.node.outputs) == 2
    assert out_mask.node.op.name == "fused_elementwise" and len(out_mask.node.outputs) == 1


def test_adam_update_is_one_loop_writing_m_v_and_the_parameter():
    g = sg.placeholder((2, 4), name="g")
    p, m, v = (sg.Variable(np.zeros((2, 4), "float32"), name=n) for n in "pmv")
    m_new = 0.9 * m + 0.1 * g
    v_new = 0.999 * v + 0.001 * g * g
    p_new = p - 0.01 * m_new / (sg.sqrt(v_new) + 1e-7)
    outs, fired = fuse_elementwise([m_new, v_new, p_new])
    assert fired == 1 and len({id(t.node) for t in outs}) == 1
    assert len(outs[0].node.outputs) == 3


def test_siblings_reading_one_input_share_a_loop():
    x = sg.placeholder((None, 8), name="x")
    a = sg.exp(x) * 2.0
    b = sg.tanh(x) + 1.0
    (out_a, out_b), fired = fuse_elementwise([a, b])
    assert fired == 1 and out_a.node is out_b.node
    assert sum(t is out_a.node.inputs[0] for t in out_a.node.inputs) == 1
    f = sg.function([x], [a, b], passes=ONLY_FUSION)
    data = np.linspace(-2, 2, 16, dtype="float32").reshape(2, 8)
    got_a, got_b = f(data)
    np.testing.assert_allclose(got_a, np.exp(data) * 2, rtol=2e-6)
    # sg_tanhf is within 2 ulp (1.2e-7 near -1), and tanh(x) + 1 cancels near x = -2
    np.testing.assert_allclose(got_b, np.tanh(data) + 1, rtol=2e-6, atol=3e-7)
    assert f.c_source.count("static int k") == 1


def test_siblings_with_a_path_between_them_are_not_merged():
    x = sg.placeholder((4, 4), name="x")
    a = sg.exp(x) * 2.0
    s = sg.sum(a, axis=1, keepdims=True)  # a -> sum -> b: one loop would need sum inside
    b = sg.tanh(x) + s
    (out_a, out_b), _ = fuse_elementwise([a, b])
    assert out_a.node is not out_b.node
    assert out_b.node.op.name == "fused_elementwise"


def test_siblings_of_different_shapes_stay_apart():
    x = sg.placeholder((4, 4), name="x")
    a = sg.exp(x) * 2.0
    b = sg.tanh(x[0]) + 1.0
    (out_a, out_b), _ = fuse_elementwise([a, b])
    assert out_a.node is not out_b.node


def test_a_smaller_broadcast_producer_is_not_recomputed_per_element():
    x = sg.placeholder((None, 8), name="x")
    c = sg.placeholder((None, 1), name="c")
    y = x * sg.exp(c) + 1.0  # exp(c) at (N, 1) would run 8 times per row if fused
    (out,), _ = fuse_elementwise([y])
    assert "exp" in _op_names([out])
    assert out.node.op.name == "fused_elementwise"
    assert any(t.node.op.name == "exp" for t in out.node.inputs)


def test_a_scalar_producer_is_fused():
    x = sg.placeholder((None,), name="x")
    s = sg.placeholder((), name="s")
    y = x * sg.exp(s)
    (out,), _ = fuse_elementwise([y])
    assert _op_names([out]) == ["fused_elementwise"]


def test_diamond_shares_the_common_value():
    x = sg.placeholder((None,), name="x")
    t = sg.tanh(x)
    y = t * t + t
    (out,), _ = fuse_elementwise([y])
    assert _op_names([out]) == ["fused_elementwise"]
    f = sg.function([x], y, passes=ONLY_FUSION)
    assert "const float v0 =" in f.c_source  # tanh computed once per element
    data = np.linspace(-2, 2, 7, dtype="float32")
    t_ = np.tanh(data)
    np.testing.assert_allclose(f(data), t_ * t_ + t_, rtol=2e-6, atol=5e-7)  # cancels near x = -2


GRAPHS = {
    "w2": lambda x, y: sg.tanh(x * 0.7 + 0.3) * sg.nn.sigmoid(x) - 0.5 * x * x,
    "broadcast": lambda x, y: sg.exp(x - sg.max(x, axis=1, keepdims=True)) / y,
    "where_cast": lambda x, y: sg.where(x > 0, sg.cast(x > y, "float32"), sg.abs(y) + 1.0),
    "ints": lambda x, y: sg.cast(sg.cast(x * 4.0, "int32") // 3 + 7, "float32") * y,
}


@pytest.mark.parametrize("mode", ["c", "py"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_numbers_equal_with_fusion_on_and_off(name, mode):
    x = sg.placeholder((None, 5), name="x")
    y = sg.placeholder((None, 5), name="y")
    out = GRAPHS[name](x, y)
    on = sg.function([x, y], out, mode=mode, passes=ONLY_FUSION)
    off = sg.function([x, y], out, mode=mode, passes="O0")
    assert any(r.name == "fuse_elementwise" and r.fired for r in on.report.passes)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((6, 5)).astype("float32") for _ in range(2))
    np.testing.assert_array_equal(on(a, b), off(a, b))


def test_training_step_has_fewer_kernels_with_fusion():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from workloads import mlp_train_graph

    def compiled(passes):  # each its own Variables (same seed): updates must not interfere
        inputs, loss, updates = mlp_train_graph(sizes=(20, 16, 4))
        return sg.function(inputs, loss, updates=updates, passes=passes)

    fused, plain = compiled(ONLY_FUSION), compiled("O0")
    assert fused.c_source.count("_fused_elementwise(") < plain.c_source.count("static int k")
    kernels = lambda f: f.c_source.count("static int k")  # noqa: E731
    assert kernels(fused) < kernels(plain) / 2
    x = np.random.default_rng(0).standard_normal((8, 20)).astype("float32")
    y = np.arange(8, dtype="int32") % 4
    for _ in range(3):  # the losses of three steps: the updates agree too
        assert fused(x, y) == plain(x, y)


# --- GEMM epilogue -----------------------------------------------------------------------

EPILOGUE = "O0,+fuse_elementwise,+fuse_matmul_epilogue"


def test_dense_relu_is_one_fused_matmul():
    x = sg.placeholder((None, 6), name="x")
    W = sg.Variable(np.ones((6, 5), "float32"), name="W")
    b = sg.Variable(np.ones(5, "float32"), name="b")
    f = sg.function([x], sg.nn.relu(x @ W + b), passes=EPILOGUE)
    (node,) = [n for n in toposort(f.outputs) if n.inputs]
    assert node.op.name == "fused_matmul"
    assert node.op.attributes() == {"expr": "relu(add(matmul(%0, %1), %2))"}


def test_a_product_read_elsewhere_or_transposed_a_keeps_its_own_kernel():
    x = sg.placeholder((4, 6), name="x")
    W = sg.placeholder((6, 5), name="W")
    p = x @ W
    f = sg.function([x, W], [sg.exp(p), p], passes=EPILOGUE)
    assert {n.op.name for n in toposort(f.outputs) if n.inputs} == {"matmul", "exp"}
    g = sg.function([x, W], sg.exp(sg.matmul(sg.transpose(x), x)), passes=EPILOGUE)
    assert "fused_matmul" not in {n.op.name for n in toposort(g.outputs)}


EPILOGUES = {
    "row_bias_relu": lambda p, row, col, full: sg.nn.relu(p + row),
    "column_and_scalar": lambda p, row, col, full: sg.tanh(p * col) - 0.5,
    "full_mask": lambda p, row, col, full: sg.where(full > 0, p, 0.0),
    "two_outputs": lambda p, row, col, full: [p + row, sg.nn.relu(p + row)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(EPILOGUES))
@pytest.mark.parametrize("transpose_b", [False, True])
def test_epilogue_numbers_equal_fused_and_unfused(name, dtype, transpose_b):
    n, k = 300, 7  # 300 columns: blocks of 218 rows, so 1000 rows end in a partial block
    batch = sg.dim("batch")
    x = sg.placeholder((batch, k), dtype, name="x")
    W = sg.placeholder((n, k) if transpose_b else (k, n), dtype, name="W")
    row = sg.placeholder((n,), dtype, name="row")
    col = sg.placeholder((batch, 1), dtype, name="col")
    full = sg.placeholder((batch, n), dtype, name="full")
    p = sg.matmul(x, sg.transpose(W)) if transpose_b else x @ W
    outs = EPILOGUES[name](p, row, col, full)
    inputs = [x, W, row, col, full]
    fused = sg.function(inputs, outs, passes=EPILOGUE)
    assert "fused_matmul" in {nd.op.name for nd in toposort(fused.outputs)}
    plain = sg.function(inputs, outs, passes="O0")
    rng = np.random.default_rng(0)
    for rows in (1, 218, 1000):
        args = [
            rng.standard_normal((rows, k)),
            rng.standard_normal((n, k) if transpose_b else (k, n)),
            rng.standard_normal(n),
            rng.standard_normal((rows, 1)),
            rng.standard_normal((rows, n)),
        ]
        args = [a.astype(dtype) for a in args]
        got, want = fused(*args), plain(*args)
        for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_mlp_forward_and_backward_use_epilogues():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from workloads import mlp_train_graph

    inputs, loss, updates = mlp_train_graph()
    f = sg.function(inputs, loss, updates=updates)
    names = [n.op.name for n in toposort(f.outputs + [v for _, v in f.updates])]
    assert names.count("fused_matmul") == 5  # three forward layers, two masked gradients
    assert "memcpy" not in f.c_source.split("int sg_entry(")[1]  # Adam writes in place


def test_a_fused_step_brings_its_c_support():
    x = sg.placeholder((None,), "int32", name="x")
    f = sg.function([x], sg.power(x, x) + 1)
    assert "fused_elementwise" in {n.op.name for n in toposort(f.outputs)}
    data = np.array([0, 1, 2, 3], "int32")
    np.testing.assert_array_equal(f(data), data**data + 1)


# --- elementwise producers fused into their reduction ----------------------------------

REDUCE = "O0,+fuse_elementwise,+fuse_reductions"

REDUCTIONS = {
    "sum_sq_diff": lambda a, b: sg.sum((a - b) * (a - b), axis=1),
    "mean_all": lambda a, b: sg.mean(sg.abs(a - b)),
    "max_axis0": lambda a, b: sg.max(sg.exp(a) * b, axis=0, keepdims=True),
    "min_rows": lambda a, b: sg.min(a + 2.0 * b, axis=1),
    "prod": lambda a, b: sg.prod(1.0 + 0.01 * a, axis=0),
    "count_positive": lambda a, b: sg.sum(a > b, axis=1),
    "any_all": lambda a, b: sg.any(a > 0.9, axis=0),
    "argmax": lambda a, b: sg.argmax(a * b, axis=1),
}


@pytest.mark.parametrize("mode", ["c", "py"])
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_numbers_equal_fused_and_unfused(name, mode):
    a = sg.placeholder((None, 37), name="a")
    b = sg.placeholder((None, 37), name="b")  # another symbol: checked at call time
    y = REDUCTIONS[name](a, b)
    fused = sg.function([a, b], y, passes=REDUCE, mode=mode)
    assert "fused_reduce" in {n.op.name for n in toposort(fused.outputs)}
    plain = sg.function([a, b], y, passes="O0", mode=mode)
    rng = np.random.default_rng(1)
    for rows in (1, 5, 2000):
        args = rng.random((rows, 37), dtype=np.float32), rng.random((rows, 37), dtype=np.float32)
        np.testing.assert_allclose(fused(*args), plain(*args), rtol=2e-6)


def test_a_fused_reduction_checks_symbolic_sizes_at_call_time():
    a = sg.placeholder((None, 4), name="a")
    b = sg.placeholder((None, 4), name="b")
    f = sg.function([a, b], sg.sum(a * b), passes=REDUCE)
    with pytest.raises(sg.errors.ShapeError, match="size 2 where the graph needs 3"):
        f(np.ones((3, 4), "float32"), np.ones((2, 4), "float32"))


def test_a_producer_read_elsewhere_or_broadcast_is_not_fused_into_the_reduction():
    a = sg.placeholder((8, 4), name="a")
    c = sg.placeholder((8, 1), name="c")
    e = sg.exp(a)
    out = fuse_elementwise([sg.sum(e, axis=1), e])[0]
    (s, _), _ = fuse_reductions(out)
    assert s.node.op.name == "sum"  # exp(a) is an output too: computed once, kept
    (t,), fired = fuse_reductions(fuse_elementwise([sg.sum(a * c, axis=1)])[0])
    assert fired == 0 and t.node.op.name == "sum"  # c (8, 1) would need a broadcast read


# --- convolution epilogue ---------------------------------------------------------------

CONV_EPILOGUE = "O0,+fuse_elementwise,+fuse_conv_epilogue"

# x, filter, strides, padding, groups: each path of the forward kernel (csrc/symgraph_conv.h)
CONV_CONFIGS = {
    "im2col_valid": ((9, 10, 9, 3), (3, 3, 3, 8), 1, "valid", 1),
    "im2col_strided_same_groups": ((9, 9, 8, 4), (3, 3, 2, 6), 2, "same", 2),
    "one_channel_direct": ((7, 12, 11, 1), (5, 5, 1, 37), 1, "same", 1),  # a vector chunk and a tail
    "one_channel_strided_explicit": ((7, 9, 10, 1), (3, 4, 1, 40), (2, 1), ((2, 0), (1, 3)), 1),
    "pointwise": ((6, 5, 4, 8), (1, 1, 8, 5), 1, "valid", 1),
    "pointwise_groups": ((6, 5, 4, 8), (1, 1, 4, 6), 1, "valid", 2),
}

CONV_EPILOGUES = {  # b: a bias of the data format's channel axis, (oc,) or (oc, 1, 1); b4: 4-D
    "bias_relu": lambda p, b, b4, full: sg.nn.relu(p + b),
    "bias_only": lambda p, b, b4, full: p + b,
    "bias_4d_sigmoid": lambda p, b, b4, full: sg.nn.sigmoid(b4 + p),
    "full_and_scalar": lambda p, b, b4, full: sg.tanh(p * full) - 0.5,
    "two_outputs": lambda p, b, b4, full: [p + b, sg.nn.relu(p + b)],
    "mask_then_value": lambda p, b, b4, full: [p > b, sg.nn.relu(p + b)],  # the product is held in output 1
}
NCHW_UNFUSED = {"full_and_scalar", "two_outputs", "mask_then_value"}  # a full NCHW input; two transposes back


def _conv_graph(config, epilogue, dtype, data_format="NHWC"):
    x_shape, w_shape, strides, padding, groups = CONV_CONFIGS[config]
    batch = sg.dim("batch")
    oc = w_shape[-1]
    channels_first = data_format == "NCHW"
    x_item = (x_shape[3], *x_shape[1:3]) if channels_first else x_shape[1:]
    x = sg.placeholder((batch, *x_item), dtype, name="x")
    w = sg.placeholder(w_shape, dtype, name="w")
    b = sg.placeholder((oc, 1, 1) if channels_first else (oc,), dtype, name="b")
    b4 = sg.reshape(b, (1, oc, 1, 1) if channels_first else (1, 1, 1, oc))
    p = sg.nn.conv2d(x, w, strides=strides, padding=padding, groups=groups, data_format=data_format)
    full = sg.placeholder((batch, *p.shape[1:]), dtype, name="full")
    return [x, w, b, full], CONV_EPILOGUES[epilogue](p, b, b4, full)


def _conv_args(inputs, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [tuple(batch if not isinstance(d, int) else d for d in t.shape) for t in inputs]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def test_conv_bias_relu_is_one_fused_conv():
    inputs, y = _conv_graph("im2col_valid", "bias_relu", "float32")
    f = sg.function(inputs, y, passes=CONV_EPILOGUE)
    (node,) = [n for n in toposort(f.outputs) if n.inputs]
    assert node.op.name == "fused_conv2d"
    assert node.op.attributes() == {
        "expr": "relu(add(conv2d{strides=(1,1), dilation=(1,1), padding=((0,0),(0,0)), groups=1}(%0, %1), %2))"
    }
    assert "_conv2d_add_relu(" in f.c_source and "sg_conv_epilogue_" in f.c_source
    (row,) = [r for r in f.report.passes if r.name == "fuse_conv_epilogue"]
    assert row.fired == 1 and row.nodes_after < row.nodes_before


@pytest.mark.parametrize("dtype, data_format", [("float32", "NHWC"), ("float64", "NHWC"), ("float32", "NCHW")])
@pytest.mark.parametrize("epilogue", list(CONV_EPILOGUES))
@pytest.mark.parametrize("config", list(CONV_CONFIGS))
def test_conv_epilogue_numbers_equal_fused_and_unfused(config, epilogue, dtype, data_format):
    """Every path of the forward kernel with each kind of epilogue: the same numbers as
    unfused. Channels-first: the loop moves before the transpose back to NCHW and fuses
    (bias and activation), or stays apart (a full input, two outputs)."""
    inputs, outs = _conv_graph(config, epilogue, dtype, data_format)
    fused = sg.function(inputs, outs, passes=CONV_EPILOGUE)
    names = [nd.op.name for nd in toposort(fused.outputs) if nd.inputs and nd.op.name != "reshape"]
    if data_format == "NHWC":
        assert names == ["fused_conv2d"]
    elif epilogue in NCHW_UNFUSED:
        assert "fused_conv2d" not in names
    else:  # the input's transpose, the fused convolution, the output's transpose
        assert names == ["transpose", "fused_conv2d", "transpose"]
    plain = sg.function(inputs, outs, passes="O0")
    tol = 1e-5 if dtype == "float32" else 1e-12
    for batch in (1, 13):  # 13 items: several blocks of the batch on the threads
        args = _conv_args(inputs, batch, dtype, seed=batch)
        got, want = fused(*args), plain(*args)
        for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
        py = sg.function(inputs, outs, passes=CONV_EPILOGUE, mode="py")(*args)  # the fused node's reference
        for g, w in zip(py if isinstance(py, list) else [py], want if isinstance(want, list) else [want]):
            np.testing.assert_allclose(g, w, rtol=tol * 10, atol=tol * 10)


def test_conv_epilogue_with_symbolic_channels():
    """The channel count known at call time only: the epilogue reads it from the kernel."""
    channels = sg.dim("channels")
    x = sg.placeholder((None, 7, 6, 3), name="x")
    w = sg.placeholder((3, 3, 3, channels), name="w")
    b = sg.placeholder((channels,), name="b")
    y = sg.nn.relu(sg.nn.conv2d(x, w, padding="same") + b)
    f = sg.function([x, w, b], y, passes=CONV_EPILOGUE)
    assert _op_names(f.outputs) == ["fused_conv2d"]
    rng = np.random.default_rng(3)
    for oc in (5, 40):
        args = [rng.standard_normal(s).astype("float32") for s in ((4, 7, 6, 3), (3, 3, 3, oc), (oc,))]
        np.testing.assert_allclose(f(*args), sg.function([x, w, b], y, passes="O0")(*args), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("data_format", ["NWC", "NCW"])
@pytest.mark.parametrize("epilogue", ["bias_relu", "full_two_outputs"])
def test_conv1d_epilogue_moves_before_the_squeeze(data_format, epilogue):
    """conv1d is conv2d over a unit height then a reshape dropping it: channels-last, the
    loop moves before the reshape (free both ways) and fuses, full inputs and several
    outputs included; channels-first (a transpose after the reshape) it stays apart."""
    n = sg.dim("n")
    last = data_format == "NWC"
    x = sg.placeholder((n, 20, 3) if last else (n, 3, 20), name="x")
    w = sg.placeholder((3, 3, 8), name="w")
    b = sg.placeholder((8,) if last else (8, 1), name="b")
    full = sg.placeholder((n, 9, 8) if last else (n, 8, 9), name="full")
    p = sg.nn.conv1d(x, w, strides=2, data_format=data_format)
    outs = [sg.nn.relu(p + b)] if epilogue == "bias_relu" else [sg.tanh(p * full) + b, p + b]
    fused = sg.function([x, w, b, full], outs, passes=CONV_EPILOGUE)
    names = _op_names(fused.outputs)
    assert ("fused_conv2d" in names) == last and ("conv2d" in names) != last
    plain = sg.function([x, w, b, full], outs, passes="O0")
    args = _conv_args([x, w, b, full], 6, "float32", seed=4)
    for got, want in zip(fused(*args), plain(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_conv_read_elsewhere_or_a_per_sample_epilogue_input_keeps_its_own_kernel():
    inputs, _ = _conv_graph("im2col_valid", "bias_relu", "float32")
    x, w, b, _ = inputs
    p = sg.nn.conv2d(x, w)
    f = sg.function([x, w, b], [sg.nn.relu(p + b), p], passes=CONV_EPILOGUE)
    assert "fused_conv2d" not in _op_names(f.outputs)
    scale = sg.placeholder((None, 1, 1, 8), name="scale")  # per item and channel: not a row's channel vector
    g = sg.function([x, w, scale], sg.nn.relu(p * scale), passes=CONV_EPILOGUE)
    assert "fused_conv2d" not in _op_names(g.outputs)


def _cnn_step(passes: str, data_format: str = "NHWC") -> sg.Function:
    """Two conv + bias + relu layers' SGD step, with Variables of its own."""
    rng = np.random.default_rng(0)
    first = data_format == "NCHW"
    x = sg.placeholder((None, 1, 12, 12) if first else (None, 12, 12, 1), name="x")
    w1 = sg.Variable(rng.standard_normal((3, 3, 1, 8)).astype("float32") * 0.3, name="w1")
    b1 = sg.Variable(np.full((8, 1, 1) if first else 8, 0.1, "float32"), name="b1")
    w2 = sg.Variable(rng.standard_normal((3, 3, 8, 4)).astype("float32") * 0.3, name="w2")
    b2 = sg.Variable(np.full((4, 1, 1) if first else 4, 0.1, "float32"), name="b2")
    h = sg.nn.relu(sg.nn.conv2d(x, w1, data_format=data_format) + b1)
    h = sg.nn.relu(sg.nn.conv2d(h, w2, padding="same", data_format=data_format) + b2)
    h = sg.nn.max_pool2d(h, 2, data_format=data_format)  # as in the tutorial CNN: relu's loop ends there
    loss = sg.mean(h * h)
    params = [w1, b1, w2, b2]
    grads = sg.grad(loss, params)
    return sg.function([x], loss, updates=[(p, p - 0.1 * g) for p, g in zip(params, grads)], passes=passes)


@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
def test_conv_training_step_fuses_forward_epilogues_not_gradients(data_format):
    """The tutorial CNN's forward conv + bias + relu layers become fused convolutions; the
    gradient convolutions are not channels-last forward products and stay apart."""
    f = _cnn_step("O2", data_format)
    names = _op_names(f.outputs + [v for _, v in f.updates])
    assert names.count("fused_conv2d") == 2 and "conv2d" not in names
    assert {"conv2d_grad_input", "conv2d_grad_filter"} <= set(names)
    (row,) = [r for r in f.report.passes if r.name == "fuse_conv_epilogue"]
    assert row.fired == 2
    g = _cnn_step("O2,-fuse_conv_epilogue", data_format)
    assert "fused_conv2d" not in _op_names(g.outputs + [v for _, v in g.updates])
    data = np.random.default_rng(2).standard_normal((5, 12, 12)).astype("float32")
    data = data[:, None] if data_format == "NCHW" else data[..., None]
    for _ in range(3):  # the same losses as the parameters move
        np.testing.assert_allclose(f(data), g(data), rtol=1e-5)


def test_a_deep_diamond_fuses_with_text_linear_in_its_depth():
    # each level uses the one below twice: nested at every use, the fused node's text
    # (its dump attribute) doubled per level and 60 levels ran out of memory
    x = sg.placeholder((None,), name="x")
    y = x
    for _ in range(60):
        y = sg.tanh(y) * sg.tanh(y) + y
    f = sg.function([x], y, mode="py")
    (node,) = [n for n in toposort(f.outputs) if n.op.name == "fused_elementwise"]
    text = str(node.op)
    assert len(text) < 200 * 60 and "#" in text
    value = np.ones(2, "float32")
    for _ in range(60):
        value = np.tanh(value) * np.tanh(value) + value
    np.testing.assert_allclose(f(np.ones(2, "float32")), value, rtol=1e-5)
