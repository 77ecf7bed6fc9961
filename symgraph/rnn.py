"""Recurrent layers as functions on a scan: ``sg.nn.simple_rnn``, ``sg.nn.lstm``,
``sg.nn.gru`` (Keras 3's formulas and weight layouts).

``x`` is (batch, time, features). The input projection x @ kernel (+ bias) of every step
is one matmul before the loop, on x transposed to (time, batch, features); the loop
(``symgraph.scan``, compiled to a C loop) does only the recurrent matmul and the
gates. The LSTM with no more features than units instead multiplies each step's rows
of x by the kernel inside the loop (``_fuse_projection``). Each returns the outputs
(batch, time, units) with ``return_sequences``, else the last output (batch, units),
then the final state(s). With ``go_backwards`` the steps run from the last time step,
and the returned sequence is in the order they ran (Keras).
"""

from __future__ import annotations

from collections.abc import Callable

from symgraph.errors import ShapeError, user_location
from symgraph.graph.core import Tensor
from symgraph.ops.activations import sigmoid
from symgraph.ops.linalg import matmul
from symgraph.ops.math import tanh
from symgraph.ops.shape_ops import flip, reshape, transpose, zeros
from symgraph.scan.trace import trace_scan

__all__ = ["simple_rnn", "lstm", "gru"]


def simple_rnn(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor | None,
    h0: Tensor | None,
    activation: Callable[[Tensor], Tensor] = tanh,
    go_backwards: bool = False,
    return_sequences: bool = False,
) -> tuple[Tensor, Tensor]:
    """h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel);
    returns (outputs or last output, h_last)."""
    units = _units(kernel, recurrent_kernel, 1, "simple_rnn")
    projected = _project(x, kernel, None)  # the bias is added in the step's loop, for free
    h0 = _initial(h0, x, units, kernel)

    def step(xw, h, u, *b):
        return activation(_biased(xw, b) + matmul(h, u))

    params = [recurrent_kernel, *([bias] if bias is not None else [])]
    (hs,) = trace_scan(step, [projected], [h0], params, projected.shape[0], go_backwards, location=user_location())
    return _result(hs, return_sequences, go_backwards), _last(hs, go_backwards)


def lstm(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor | None,
    h0: Tensor | None,
    c0: Tensor | None,
    go_backwards: bool = False,
    return_sequences: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """z = x_t @ kernel + bias + h_{t-1} @ recurrent_kernel, split into gates i, f, g, o
    (each ``units`` wide); c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g),
    h_t = sigmoid(o) * tanh(c_t). Returns (outputs or last output, h_last, c_last)."""
    units = _units(kernel, recurrent_kernel, 4, "lstm")
    h0 = _initial(h0, x, units, kernel)
    c0 = _initial(c0, x, units, kernel)
    fused = _fuse_projection(x, kernel, units)
    # the bias is added in the step's loop, for free
    projected = _time_major(x) if fused else _project(x, kernel, None)

    def step(xw, h, c, *b):
        z = _biased(matmul(xw, kernel) if fused else xw, b) + matmul(h, recurrent_kernel)
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units : 2 * units])
        g = tanh(z[:, 2 * units : 3 * units])
        o = sigmoid(z[:, 3 * units :])
        c_new = f * c + i * g
        return o * tanh(c_new), c_new, i, f, g, o

    # the gates' activations are outputs only for the gradient: BPTT reads them (the
    # gradients of sigmoid and tanh are functions of their outputs) instead of redoing
    # h @ u and four of the five transcendental functions per unit and step (storing z
    # instead, the same bytes, cost W6's backward ~2 ms more CPU per training step)
    params = [*([bias] if bias is not None else [])]  # the kernels are lifted closures
    hs, cs, *_ = trace_scan(
        step, [projected], [h0, c0, *[None] * 4], params, projected.shape[0], go_backwards, location=user_location()
    )
    return _result(hs, return_sequences, go_backwards), _last(hs, go_backwards), _last(cs, go_backwards)


def gru(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor | None,
    h0: Tensor | None,
    reset_after: bool = True,
    go_backwards: bool = False,
    return_sequences: bool = False,
) -> tuple[Tensor, Tensor]:
    """Gates z, r, candidate h (each ``units`` wide). With ``reset_after`` (bias (2, 3u):
    input row, recurrent row): r_h = h_{t-1} @ recurrent_kernel + bias[1],
    z = sigmoid(xw_z + r_h_z), r = sigmoid(xw_r + r_h_r), hh = tanh(xw_h + r * r_h_h).
    Without (bias (3u,)): z, r as above without the recurrent bias and
    hh = tanh(xw_h + (r * h_{t-1}) @ recurrent_kernel[:, 2u:]). Then
    h_t = z * h_{t-1} + (1 - z) * hh. Returns (outputs or last output, h_last)."""
    units = _units(kernel, recurrent_kernel, 3, "gru")
    input_bias, recurrent_bias = bias, None
    if bias is not None and reset_after:
        if bias.ndim != 2 or bias.shape[0] != 2:
            raise ShapeError(f"gru: with reset_after the bias is (2, 3*units), got {bias.type}")
        input_bias, recurrent_bias = bias[0], bias[1]
    projected = _project(x, kernel, input_bias)
    h0 = _initial(h0, x, units, kernel)

    if reset_after:

        def step(xw, h, u, *rb):
            rh = matmul(h, u) + rb[0] if rb else matmul(h, u)
            z = sigmoid(xw[:, :units] + rh[:, :units])
            r = sigmoid(xw[:, units : 2 * units] + rh[:, units : 2 * units])
            hh = tanh(xw[:, 2 * units :] + r * rh[:, 2 * units :])
            return z * h + (1 - z) * hh, rh

        params = [recurrent_kernel] + ([recurrent_bias] if recurrent_bias is not None else [])
        extra = [None]
    else:

        def step(xw, h, u_zr, u_h):
            zr = xw[:, : 2 * units] + matmul(h, u_zr)
            z = sigmoid(zr[:, :units])
            r = sigmoid(zr[:, units:])
            q = matmul(r * h, u_h)
            hh = tanh(xw[:, 2 * units :] + q)
            return z * h + (1 - z) * hh, zr, q

        params = [recurrent_kernel[:, : 2 * units], recurrent_kernel[:, 2 * units :]]
        extra = [None, None]
    # the products with the recurrent kernel are outputs only for the gradient: BPTT
    # reads them instead of redoing them
    hs, *_ = trace_scan(
        step, [projected], [h0, *extra], params, projected.shape[0], go_backwards, location=user_location()
    )
    return _result(hs, return_sequences, go_backwards), _last(hs, go_backwards)


def _units(kernel: Tensor, recurrent_kernel: Tensor, gates: int, what: str) -> int:
    if kernel.ndim != 2 or recurrent_kernel.ndim != 2:
        raise ShapeError(
            f"{what}: kernel and recurrent_kernel must be matrices, got {kernel.type}, {recurrent_kernel.type}"
        )
    units = recurrent_kernel.shape[0]
    if not isinstance(units, int) or recurrent_kernel.shape[1] != gates * units or kernel.shape[1] != gates * units:
        raise ShapeError(
            f"{what}: recurrent_kernel must be (units, {gates}*units) and kernel (features, {gates}*units) "
            f"with static units, got {kernel.type} and {recurrent_kernel.type}"
        )
    return units


_FUSED_KERNEL_BYTES = 1 << 18  # a kernel every block of rows reads at every step stays in cache


def _fuse_projection(x: Tensor, kernel: Tensor, units: int) -> bool:
    """Whether each step computes x_t @ kernel itself instead of reading it from one
    product before the loop: where the features are no more than the units and the
    kernel is small, that product is no larger than the recurrent one (BLAS runs both
    in its small-matrix kernels, on a block of rows, at full speed), and neither
    x @ kernel nor its gradient's dz @ kernel^T is written out and read back (W6: 64
    features, 128 units, a 128 KB kernel: ~3 ms less CPU per training step)."""
    features = x.shape[2] if x.ndim == 3 else None
    if not isinstance(features, int) or features > units:
        return False
    return features * kernel.shape[1] * kernel.dtype.itemsize <= _FUSED_KERNEL_BYTES


def _time_major(x: Tensor) -> Tensor:
    if x.ndim != 3:
        raise ShapeError(f"recurrent layers take x of shape (batch, time, features), got {x.type}")
    return transpose(x, (1, 0, 2))


def _project(x: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
    """x @ kernel + bias for every step at once, time-major: (time, batch, gates*units)."""
    # as one 2-D product over (time * batch) rows: its gradient for the kernel is then one
    # GEMM too (a 3-D @ 2-D product's is a batch of per-step GEMMs and a sum over them)
    time_major = _time_major(x)
    rows = reshape(time_major, (-1, time_major.shape[2]))
    projected = reshape(matmul(rows, kernel), (*time_major.shape[:2], kernel.shape[1]))
    return projected + bias if bias is not None else projected


def _biased(xw: Tensor, bias: tuple[Tensor, ...]) -> Tensor:
    return xw + bias[0] if bias else xw


def _initial(state: Tensor | None, x: Tensor, units: int, kernel: Tensor) -> Tensor:
    return zeros((x.shape[0], units), kernel.dtype) if state is None else state


def _result(history: Tensor, return_sequences: bool, go_backwards: bool) -> Tensor:
    """(batch, time, units) in the order the steps ran, or the last step's output."""
    if not return_sequences:
        return _last(history, go_backwards)
    if go_backwards:  # stored by time index; the steps ran from the last one
        history = flip(history, axis=0)
    return transpose(history, (1, 0, 2))


def _last(history: Tensor, go_backwards: bool) -> Tensor:
    """The last step's value: row n - 1, or row 0 when the steps ran backwards."""
    return history[0] if go_backwards else history[-1]
