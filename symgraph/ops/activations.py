"""Neural-network activations (``sg.nn.relu``, ``sg.nn.sigmoid``, ...), elementwise.

Each activation is one elementwise op (not a composition of smaller ones), so that a C
backend emits it as one scalar expression and fusion sees one node; parameters such as
``alpha`` are op attributes, given through a small public function. Definitions and
defaults follow Keras 3. Every op's reference and gradient are numerically stable:
``sigmoid``, ``softplus`` and ``swish`` never overflow, whatever the input's magnitude.

Float activations on integer or bool inputs compute in floatx (float32); ``relu``
keeps integer dtypes.
"""

from __future__ import annotations

import math as _math

import numpy as np

from symgraph.graph.core import Tensor
from symgraph.ops.arithmetic import abs as _abs
from symgraph.ops.arithmetic import add, clip, greater, less, logical_and, mul, sub, true_divide, where
from symgraph.ops.c_api import c_math
from symgraph.ops.elementwise import FLOAT, NUMERIC, Elementwise, TensorLike, c_const, c_maximum, c_minimum
from symgraph.ops.math import erf, exp, square, tanh
from symgraph.ops.registry import register


def _float_input(x: Tensor) -> bool:
    return x.dtype.kind == "f"


def c_sigmoid(x: str, dtype: np.dtype) -> str:
    """The stable sigmoid as a C expression: symgraph_math.h's sg_sigmoidf (float32:
    branch-free, so fused loops vectorise; within 2 ulp) or sg_sigmoid (float64), both
    computing from exp(-|x|) so they never overflow; NaN gives NaN."""
    return f"{c_math('sigmoid', dtype)}({x})"


def c_log1p_exp_neg_abs(x: str, dtype: np.dtype) -> str:
    """log1p(exp(-|x|)), the overflow-free part of softplus, as a C expression."""
    return f"{c_math('log1p', dtype)}({c_math('exp', dtype)}(-{c_math('fabs', dtype)}({x})))"


def _c_elu_negative(x: str, alpha: float, dtype: np.dtype) -> str:
    """alpha * expm1(minimum(x, 0)) (elu's branch for x <= 0 and NaN; -0.0 gives 0.0)."""
    low = c_minimum(x, c_const(0, dtype), dtype)
    return f"({c_const(alpha, dtype)} * {c_math('expm1', dtype)}({low}))"


@register
class Relu(Elementwise):
    """relu(x) = max(x, 0) (integers stay integers, NaN propagates);
    d/dx = 1 for x > 0, else 0"""

    name = "relu"
    input_kind = NUMERIC

    def compute(self, x):
        return np.maximum(x, 0)

    def c_expr(self, args, dtype):
        """numpy's maximum(x, 0): NaN propagates, relu(-0.0) is 0.0."""
        return c_maximum(args[0], c_const(0, dtype), dtype)

    def grad(self, inputs, outputs, output_grads):
        (x,), (y,), (g,) = inputs, outputs, output_grads
        if not _float_input(x):
            return [None]
        # y > 0 exactly where x > 0 (NaN: neither); reading the output lets x die at
        # the relu, so a training step keeps one array per layer instead of two
        return [where(greater(y, 0), g, 0)]


@register
class LeakyRelu(Elementwise):
    """leaky_relu(x) = x for x >= 0, else negative_slope * x;
    d/dx = 1 for x > 0, else negative_slope"""

    name = "leaky_relu"
    input_kind = FLOAT

    def __init__(self, negative_slope: float = 0.2):
        self.negative_slope = float(negative_slope)

    def compute(self, x):
        return np.where(x >= 0, x, x * x.dtype.type(self.negative_slope))

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({x} >= 0 ? {x} : {x} * {c_const(self.negative_slope, dtype)})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [where(greater(x, 0), g, mul(g, self.negative_slope))]


def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Tensor:
    """x for x >= 0, else negative_slope * x (Keras 3's default slope, 0.2)."""
    return LeakyRelu(negative_slope)(x)


@register
class Elu(Elementwise):
    """elu(x) = x for x > 0, else alpha * (exp(x) - 1) (computed with expm1);
    d/dx = 1 for x > 0, else alpha * exp(x) = elu(x) + alpha"""

    name = "elu"
    input_kind = FLOAT

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def compute(self, x):
        return np.where(x > 0, x, x.dtype.type(self.alpha) * np.expm1(np.minimum(x, 0)))

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({x} > 0 ? {x} : {_c_elu_negative(x, self.alpha, dtype)})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (out,), (g,) = inputs, outputs, output_grads
        return [where(greater(x, 0), g, mul(g, add(out, self.alpha)))]


def elu(x: TensorLike, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else alpha * (exp(x) - 1)."""
    return Elu(alpha)(x)


SELU_ALPHA = 1.67326324235437728481704299167
SELU_SCALE = 1.05070098735548049341933498529


@register
class Selu(Elementwise):
    """selu(x) = scale * elu(x, alpha) with Keras' constants
    alpha = 1.67326324235437728481704299167, scale = 1.05070098735548049341933498529;
    d/dx = scale for x > 0, else scale * alpha * exp(x) = selu(x) + scale * alpha"""

    name = "selu"
    input_kind = FLOAT

    def compute(self, x):
        alpha, scale = x.dtype.type(SELU_ALPHA), x.dtype.type(SELU_SCALE)
        return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({c_const(SELU_SCALE, dtype)} * ({x} > 0 ? {x} : {_c_elu_negative(x, SELU_ALPHA, dtype)}))"

    def grad(self, inputs, outputs, output_grads):
        (x,), (out,), (g,) = inputs, outputs, output_grads
        return [where(greater(x, 0), mul(g, SELU_SCALE), mul(g, add(out, SELU_SCALE * SELU_ALPHA)))]


_SQRT_HALF = _math.sqrt(0.5)
_INV_SQRT_2PI = 1 / _math.sqrt(2 * _math.pi)
_SQRT_2_OVER_PI = _math.sqrt(2 / _math.pi)
_GELU_C = 0.044715
_erf = np.frompyfunc(_math.erf, 1, 1)


@register
class Gelu(Elementwise):
    """gelu(x) = x * Phi(x), Phi the standard normal CDF.

    Exact (``approximate=False``): gelu(x) = x/2 (1 + erf(x / sqrt(2)));
    d/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).

    Approximate (``approximate=True``, the tanh formula):
    gelu(x) = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
    d/dx = (1 + tanh(u))/2 + x/2 (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),
    evaluated at x clipped to [-10, 10] (where tanh(u) is already +-1 exactly), so it
    stays finite where x^3 would overflow.
    """

    name = "gelu"
    input_kind = FLOAT

    def __init__(self, approximate: bool = False):
        self.approximate = bool(approximate)

    def compute(self, x):
        t = x.dtype.type
        if self.approximate:
            u = t(_SQRT_2_OVER_PI) * (x + t(_GELU_C) * x * x * x)
            return t(0.5) * x * (1 + np.tanh(u))
        cdf = np.asarray(_erf(x * t(_SQRT_HALF)), dtype=np.float64).astype(x.dtype)
        return t(0.5) * x * (1 + cdf)

    def c_expr(self, args, dtype):
        (x,) = args
        half, one = c_const(0.5, dtype), c_const(1, dtype)
        if self.approximate:
            cube = f"{c_const(_GELU_C, dtype)} * {x} * {x} * {x}"
            u = f"({c_const(_SQRT_2_OVER_PI, dtype)} * ({x} + {cube}))"
            return f"({half} * {x} * ({one} + {c_math('tanh', dtype)}({u})))"
        cdf = f"{c_math('erf', dtype)}({x} * {c_const(_SQRT_HALF, dtype)})"
        return f"({half} * {x} * ({one} + {cdf}))"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if self.approximate:
            # beyond |x| = 10, tanh(u) is +-1 exactly (even in float64), so the derivative
            # is (1 + tanh(u))/2 exactly; clipping keeps x^3 finite (no 0 * inf = NaN)
            x = clip(x, -10.0, 10.0)
            x2 = mul(x, x)
            th = tanh(mul(add(x, mul(mul(x2, x), _GELU_C)), _SQRT_2_OVER_PI))
            slope = mul(add(mul(x2, 3 * _GELU_C), 1), _SQRT_2_OVER_PI)
            d = add(mul(add(th, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(th, th))), slope))
        else:
            cdf = mul(add(erf(mul(x, _SQRT_HALF)), 1), 0.5)
            pdf = mul(exp(mul(mul(x, x), -0.5)), _INV_SQRT_2PI)
            d = add(cdf, mul(x, pdf))
        return [mul(g, d)]


def gelu(x: TensorLike, approximate: bool = False) -> Tensor:
    """x * Phi(x) (Phi the normal CDF), exactly through erf or with the tanh formula."""
    return Gelu(approximate)(x)


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1/(1 + exp(-x)) through e = exp(-|x|) <= 1: 1/(1+e) for x >= 0, e/(1+e) below."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


@register
class Sigmoid(Elementwise):
    """sigmoid(x) = 1 / (1 + exp(-x)), computed from exp(-|x|) so it never overflows;
    d/dx = sigmoid(x) (1 - sigmoid(x))"""

    name = "sigmoid"
    input_kind = FLOAT

    def compute(self, x):
        return _stable_sigmoid(x)

    def c_expr(self, args, dtype):
        return c_sigmoid(args[0], dtype)

    def grad(self, inputs, outputs, output_grads):
        (out,), (g,) = outputs, output_grads
        return [mul(g, mul(out, sub(1, out)))]


@register
class HardSigmoid(Elementwise):
    """hard_sigmoid(x) = relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1) (Keras 3);
    d/dx = 1/6 for -3 < x < 3, else 0"""

    name = "hard_sigmoid"
    input_kind = FLOAT

    def compute(self, x):
        return np.minimum(np.maximum(x + 3, 0), 6) / 6

    def c_expr(self, args, dtype):
        shifted = f"({args[0]} + {c_const(3, dtype)})"
        clipped = c_minimum(c_maximum(shifted, c_const(0, dtype), dtype), c_const(6, dtype), dtype)
        return f"({clipped} / {c_const(6, dtype)})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        inside = logical_and(greater(x, -3), less(x, 3))
        return [where(inside, mul(g, 1 / 6), 0)]


@register
class Softplus(Elementwise):
    """softplus(x) = log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) so it
    never overflows; d/dx = sigmoid(x)"""

    name = "softplus"
    input_kind = FLOAT

    def compute(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({c_maximum(x, c_const(0, dtype), dtype)} + {c_log1p_exp_neg_abs(x, dtype)})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [mul(g, sigmoid(x))]


@register
class Softsign(Elementwise):
    """softsign(x) = x / (1 + |x|); d/dx = 1 / (1 + |x|)^2"""

    name = "softsign"
    input_kind = FLOAT

    def compute(self, x):
        return x / (1 + np.abs(x))

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({x} / ({c_const(1, dtype)} + {c_math('fabs', dtype)}({x})))"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        return [true_divide(g, square(add(_abs(x), 1)))]


@register
class Swish(Elementwise):
    """swish(x) = silu(x) = x * sigmoid(x) (stable sigmoid);
    d/dx = s (1 + x (1 - s)), s = sigmoid(x) (exact in float at both tails)"""

    name = "swish"
    input_kind = FLOAT

    def compute(self, x):
        return x * _stable_sigmoid(x)

    def c_expr(self, args, dtype):
        (x,) = args
        return f"({x} * {c_sigmoid(x, dtype)})"

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        s = sigmoid(x)
        return [mul(g, mul(s, add(mul(x, sub(1, s)), 1)))]


relu = Relu()
selu = Selu()
sigmoid = Sigmoid()
hard_sigmoid = HardSigmoid()
softplus = Softplus()
softsign = Softsign()
swish = silu = Swish()

__all__ = [
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "sigmoid",
    "hard_sigmoid",
    "softplus",
    "softsign",
    "swish",
    "silu",
]
