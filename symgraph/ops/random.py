"""Random ops: samplers driven by a counter-based generator, Philox-4x32-10.

Randomness is explicit state. A random op is a pure function of two inputs, a ``key``
(int tensor of shape (2,): two 32-bit words, each taken modulo 2^32) and a ``counter``
(0-d int tensor, taken modulo 2^64), and of its attributes: the result's ``shape``
(ints or symbolic sizes), ``dtype`` and ``stream``. Equal ops on equal inputs are equal
values, so the passes may merge, fold or move them like any other op.

- ``stream`` is 0 for an explicit key (the numbers then depend on the key alone, as in
  JAX); ``sg.random`` gives each sampling call made with ``key=None`` a stream of its
  own (1, 2, ...), so that two such calls are two different nodes (the graph interns
  equal nodes) and give different numbers. A nonzero stream ``s`` replaces the key by
  ``philox((s_lo, s_hi, 0, "STRM"), key)[:2]``.
- Bits: block ``b`` of a result is ``philox((b_lo, b_hi, counter_lo, counter_hi), key)``;
  see csrc/symgraph_random.h for how floats are made from them.

Every sampler is implemented twice, bit for bit: in C (csrc/symgraph_random.h, the C
backend) and in numpy here (the reference, "py" mode, constant folding). The two agree
exactly because both use only integer arithmetic, +, -, *, /, sqrt and frexp in IEEE
double, in the same order (the C build turns off FMA contraction), with a log and a
sin/cos of our own instead of libm's or numpy's.

The global generator (``key=None``) is two Variables: ``GLOBAL_KEY`` (set by
``sg.random.seed``) and ``GLOBAL_COUNTER``, a ``RandomCounter``: ``sg.function`` adds
``counter <- counter + 1`` to the updates of every function that reads it (unless the
user updates it), so each call draws new numbers.

Gradients: none flow to the key or the counter (they are integers); a sampler's output
does not depend on any float input, so the graph around it (``minval + (maxval -
minval) * u``) carries the gradients to the distribution's parameters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from symgraph import dtypes
from symgraph.errors import DTypeError, ShapeError
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor, TensorType
from symgraph.graph.sources import Variable
from symgraph.ops.c_api import CArray, CLinkerOp
from symgraph.ops.registry import register

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
STREAM_TAG = 0x5354524D  # "STRM"
SPLIT_TAG = 0x53504C54  # "SPLT"
TRUNCATION = 2.0  # the truncated normal keeps |z| <= 2 (TensorFlow's and Keras' rule)
MAX_TRUNCATED = 2**32  # its elements are numbered by one counter word

# the polynomial coefficients of csrc/symgraph_random.h, as the same hex literals
_LOG_C = [
    float.fromhex(h)
    for h in (
        "0x1.0000000000000p+0 0x1.5555555555555p-2 0x1.999999999999ap-3 0x1.2492492492492p-3 "
        "0x1.c71c71c71c71cp-4 0x1.745d1745d1746p-4 0x1.3b13b13b13b14p-4 0x1.1111111111111p-4 "
        "0x1.e1e1e1e1e1e1ep-5 0x1.af286bca1af28p-5 0x1.8618618618618p-5 0x1.642c8590b2164p-5"
    ).split()
]
_SIN_C = [
    float.fromhex(h)
    for h in (
        "-0x1.5555555555555p-3 0x1.1111111111111p-7 -0x1.a01a01a01a01ap-13 0x1.71de3a556c734p-19 "
        "-0x1.ae64567f544e4p-26 0x1.6124613a86d09p-33 -0x1.ae7f3e733b81fp-41 0x1.952c77030ad4ap-49"
    ).split()
]
_COS_C = [
    float.fromhex(h)
    for h in (
        "-0x1.0000000000000p-1 0x1.5555555555555p-5 -0x1.6c16c16c16c17p-10 0x1.a01a01a01a01ap-16 "
        "-0x1.27e4fb7789f5cp-22 0x1.1eed8eff8d898p-29 -0x1.93974a8c07c9dp-37 0x1.ae7f3e733b81fp-45 "
        "-0x1.6827863b97d97p-53"
    ).split()
]
_SQRT_HALF = float.fromhex("0x1.6a09e667f3bcdp-1")
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_PI_2 = float.fromhex("0x1.921fb54442d18p+0")


# ---------------------------------------------------------------- numpy twins of the C


def philox4x32_10(counter: tuple, key: tuple) -> tuple[np.ndarray, ...]:
    """Philox-4x32-10 of the 4 counter words under the 2 key words (ints or uint64
    arrays holding 32-bit values, broadcast together): the 4 output words as uint64
    arrays of 32-bit values."""
    c0, c1, c2, c3 = (np.asarray(c, np.uint64) for c in counter)
    k0, k1 = (np.asarray(k, np.uint64) for k in key)
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    mask, shift = np.uint64(MASK32), np.uint64(32)
    for r in range(10):
        if r:
            k0 = (k0 + np.uint64(PHILOX_W0)) & mask
            k1 = (k1 + np.uint64(PHILOX_W1)) & mask
        p0 = c0 * m0
        p1 = c2 * m1
        c0, c1, c2, c3 = (p1 >> shift) ^ c1 ^ k0, p1 & mask, (p0 >> shift) ^ c3 ^ k1, p0 & mask
    return c0, c1, c2, c3


def key_words(key: Any) -> tuple[int, int]:
    """The two 32-bit words of a key array (each value modulo 2^32)."""
    flat = np.asarray(key).reshape(-1)
    if flat.size != 2:
        raise ShapeError(f"a random key has 2 words, got an array of shape {np.shape(key)}")
    return int(flat[0]) & MASK32, int(flat[1]) & MASK32


def stream_key(key: tuple[int, int], stream: int) -> tuple[int, int]:
    """The key of ``stream`` under ``key`` (stream 0: the key itself)."""
    if stream == 0:
        return key
    words = philox4x32_10((stream & MASK32, stream >> 32, 0, STREAM_TAG), key)
    return int(words[0]), int(words[1])


def blocks(nblocks: int, key: tuple[int, int], call: int) -> np.ndarray:
    """Blocks 0..nblocks-1 under ``key`` for call counter ``call``: uint64 (nblocks, 4)."""
    b = np.arange(nblocks, dtype=np.uint64)
    words = philox4x32_10((b & np.uint64(MASK32), b >> np.uint64(32), call & MASK32, call >> 32), key)
    return np.stack(words, axis=-1)


def _u53(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Uniform doubles in [0, 1) from two words: (hi >> 5) 2^26 + (lo >> 6), times 2^-53."""
    return ((hi >> np.uint64(5)).astype(np.float64) * 67108864.0 + (lo >> np.uint64(6)).astype(np.float64)) * 2.0**-53


def _log(u: np.ndarray) -> np.ndarray:
    """log(u) as csrc/symgraph_random.h's sg_random_log computes it."""
    m, e = np.frexp(u)
    small = m < _SQRT_HALF
    m = np.where(small, m * 2.0, m)
    e = np.where(small, e - 1, e).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    p = np.full_like(s, _LOG_C[11])
    for c in reversed(_LOG_C[:11]):
        p = p * s2 + c
    logm = (2.0 * s) * p
    return e * _LN2_HI + (e * _LN2_LO + logm)


def _sincos_2pi(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin 2 pi t, cos 2 pi t) as csrc/symgraph_random.h's sg_random_sincos_2pi."""
    t4 = t * 4.0
    q = np.floor(t4)
    f = t4 - q
    reflect = f > 0.5
    g = np.where(reflect, 1.0 - f, f)
    x = g * _PI_2
    x2 = x * x
    ps = np.full_like(x, _SIN_C[7])
    for c in reversed(_SIN_C[:7]):
        ps = ps * x2 + c
    pc = np.full_like(x, _COS_C[8])
    for c in reversed(_COS_C[:8]):
        pc = pc * x2 + c
    sin_x = x + (x * x2) * ps
    cos_x = 1.0 + x2 * pc
    s = np.where(reflect, cos_x, sin_x)
    c = np.where(reflect, sin_x, cos_x)
    quadrant = q.astype(np.int64)
    sin = np.choose(quadrant, [s, c, -s, -c])
    cos = np.choose(quadrant, [c, -s, -c, s])
    return sin, cos


def _box_muller(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z0, z1) of each block (rows of 4 words): r cos 2 pi u2, r sin 2 pi u2."""
    u1 = 1.0 - _u53(w[:, 0], w[:, 1])
    u2 = _u53(w[:, 2], w[:, 3])
    r = np.sqrt(-2.0 * _log(u1))
    sin, cos = _sincos_2pi(u2)
    return r * cos, r * sin


def sample_uniform(n: int, dtype: np.dtype, key: tuple[int, int], call: int) -> np.ndarray:
    """n uniform values in [0, 1): float32 from each word's top 24 bits (4 per block),
    float64 from 53 bits of two words (2 per block)."""
    if dtype == np.float32:
        w = blocks(-(-n // 4), key, call).reshape(-1)[:n]
        return (w >> np.uint64(8)).astype(np.float32) * np.float32(2.0**-24)
    w = blocks(-(-n // 2), key, call)
    return np.stack([_u53(w[:, 0], w[:, 1]), _u53(w[:, 2], w[:, 3])], axis=-1).reshape(-1)[:n]


def sample_normal(n: int, dtype: np.dtype, key: tuple[int, int], call: int) -> np.ndarray:
    """n standard normal values by Box-Muller, two per block, computed in double."""
    z0, z1 = _box_muller(blocks(-(-n // 2), key, call))
    return np.stack([z0, z1], axis=-1).reshape(-1)[:n].astype(dtype)


def sample_truncated_normal(n: int, dtype: np.dtype, key: tuple[int, int], call: int) -> np.ndarray:
    """n standard normal values truncated to [-2, 2] by rejection: element i takes z0,
    else z1, of the first attempt a = 0, 1, ... of block (i, a) with one inside."""
    if n > MAX_TRUNCATED:
        raise ShapeError(f"truncated_normal draws at most 2^32 values at once, got {n}")
    out = np.empty(n, np.float64)
    pending = np.arange(n, dtype=np.uint64)
    attempt = 0
    while pending.size:
        words = philox4x32_10((pending, attempt, call & MASK32, call >> 32), key)
        z0, z1 = _box_muller(np.stack(np.broadcast_arrays(*words), axis=-1))
        take0 = np.abs(z0) <= TRUNCATION
        take1 = ~take0 & (np.abs(z1) <= TRUNCATION)
        out[pending[take0].astype(np.int64)] = z0[take0]
        out[pending[take1].astype(np.int64)] = z1[take1]
        pending = pending[~(take0 | take1)]
        attempt += 1
    return out.astype(dtype)


def split_keys(key: tuple[int, int], n: int) -> np.ndarray:
    """n new keys from ``key``: row j = philox((j_lo, j_hi, 0, "SPLT"), key)[:2], int64."""
    j = np.arange(n, dtype=np.uint64)
    words = philox4x32_10((j & np.uint64(MASK32), j >> np.uint64(32), 0, SPLIT_TAG), key)
    return np.stack([words[0], words[1]], axis=-1).astype(np.int64).reshape(n, 2)


# ---------------------------------------------------------------- the ops


def _check_state(key: Tensor, counter: Tensor | None) -> None:
    if not dtypes.is_integer(key.dtype) or key.ndim != 1 or (isinstance(key.shape[0], int) and key.shape[0] != 2):
        raise DTypeError(f"a random key is an integer tensor of shape (2,) (see sg.random.key), got {key.type}")
    if counter is not None and (not dtypes.is_integer(counter.dtype) or counter.ndim != 0):
        raise DTypeError(f"a random counter is a 0-d integer tensor, got {counter.type}")


def _c_key(key: CArray, stream: int) -> str:
    """C statements declaring sgr_k0, sgr_k1: the key words of ``stream``, after checking
    the key's length where it is symbolic."""
    check = ""
    if key.shape[0] != "2":
        check = (
            f"if (({key.shape[0]}) != 2) SG_FAIL(SG_ERR_SHAPE, "
            f'"a random key has 2 words, got %lld", (long long)({key.shape[0]}));\n'
        )
    return (
        check
        + f"uint32_t sgr_key[2] = {{(uint32_t)(uint64_t)({key.ptr})[0], (uint32_t)(uint64_t)({key.ptr})[1]}};\n"
        + f"sg_random_stream_key(sgr_key, UINT64_C({stream}));\n"
    )


class _Sampler(CLinkerOp):
    """A sampler: ``(key, counter) -> values`` of ``shape`` and float ``dtype``;
    subclasses name the distribution (the numpy twin and the C function)."""

    needs_sizes = True
    sample: Any = None  # the numpy twin: (n, dtype, key words, call) -> flat values
    c_function = ""  # the C function's stem in csrc/symgraph_random.h

    def __init__(self, shape: tuple, dtype: np.dtype, stream: int = 0):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.stream = int(stream)

    def infer(self, key: Tensor, counter: Tensor) -> TensorType:
        _check_state(key, counter)
        if not dtypes.is_float(self.dtype):
            raise DTypeError(f"{self.name} draws floats, not {self.dtype.name}")
        for d in self.shape:
            if isinstance(d, int) and d < 0:
                raise ShapeError(f"negative dimension in the shape {shp.shape_str(self.shape)}")
        return TensorType(self.dtype, self.shape)

    def reference(self, key, counter, *, sizes):
        shape = shp.evaluate_shape(self.shape, sizes)
        if any(d < 0 for d in shape):
            raise ShapeError(f"negative dimension in the shape {shape} at call time")
        words = stream_key(key_words(key), self.stream)
        values = type(self).sample(math.prod(shape), self.dtype, words, int(counter) & MASK64)
        return values.reshape(shape)

    def grad(self, inputs, outputs, output_grads):
        return [None, None]  # integer state: nothing to differentiate

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        """The key words (derived for the stream), then the sampler of
        csrc/symgraph_random.h over the whole output (OpenMP over blocks when large)."""
        key, counter = inputs
        (out,) = outputs
        suffix = "float" if self.dtype == np.float32 else "double"
        checks = ""
        for d in out.shape:
            if not d.isdigit():
                checks += f'if (({d}) < 0) SG_FAIL(SG_ERR_SHAPE, "negative dimension %lld", (long long)({d}));\n'
        if self.c_function == "truncated_normal":
            checks += (
                f"if ({out.size} > INT64_C({MAX_TRUNCATED})) SG_FAIL(SG_ERR_SHAPE, "
                f'"truncated_normal draws at most 2^32 values at once, got %lld", (long long){out.size});\n'
            )
        return (
            "{\n"
            + checks
            + _c_key(key, self.stream)
            + f"sg_random_{self.c_function}_{suffix}({out.ptr}, {out.size}, sgr_key[0], sgr_key[1], "
            + f"(uint64_t)({counter.ptr})[0]);\n}}"
        )


@register
class RandomUniform(_Sampler):
    """Uniform values in [0, 1): float32 k 2^-24 from the top 24 bits of one word,
    float64 k 2^-53 from 53 bits of two words."""

    name = "random_uniform"
    sample = staticmethod(sample_uniform)
    c_function = "uniform"


@register
class RandomNormal(_Sampler):
    """Standard normal values by Box-Muller: per block u1 = 1 - u53 in (0, 1], u2 = u53
    in [0, 1), r = sqrt(-2 log u1), values r cos 2 pi u2 and r sin 2 pi u2 (in double,
    rounded once to the dtype)."""

    name = "random_normal"
    sample = staticmethod(sample_normal)
    c_function = "normal"


@register
class RandomTruncatedNormal(_Sampler):
    """Standard normal values truncated to [-2, 2] by rejection (values beyond two
    standard deviations are drawn again, as TensorFlow and Keras): the result has
    the normal density restricted to [-2, 2] (mean 0, standard deviation 0.8796)."""

    name = "random_truncated_normal"
    sample = staticmethod(sample_truncated_normal)
    c_function = "truncated_normal"


@register
class RandomSplit(CLinkerOp):
    """``n`` new keys from one (an int64 (n, 2) tensor, words in [0, 2^32)):
    row j = philox((j_lo, j_hi, 0, "SPLT"), key)[:2]."""

    name = "random_split"

    def __init__(self, n: int):
        self.n = int(n)

    def infer(self, key: Tensor) -> TensorType:
        _check_state(key, None)
        if self.n < 0:
            raise ShapeError(f"cannot split a key into {self.n} keys")
        return TensorType(dtypes.DEFAULT_INT, (self.n, 2))

    def reference(self, key):
        return split_keys(key_words(key), self.n)

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def c_kernel(self, inputs: list[CArray], outputs: list[CArray]) -> str:
        (key,), (out,) = inputs, outputs
        return "{\n" + _c_key(key, 0) + f"sg_random_split({out.ptr}, {self.n}, sgr_key[0], sgr_key[1]);\n}}"


# ---------------------------------------------------------------- the global generator


class RandomCounter(Variable):
    """A call counter Variable that ``sg.function`` advances by one on every call of a
    function that reads it (an implicit update, skipped when the user updates it)."""

    __slots__ = ()

    def implicit_update(self) -> Tensor:
        """The expression of its value after a call: one more."""
        return self + 1


def seed_key(seed: int) -> np.ndarray:
    """The key words of an integer seed (modulo 2^64): (seed >> 32, seed & 0xffffffff),
    as JAX's PRNGKey."""
    seed = int(seed) & MASK64
    return np.array([seed >> 32, seed & MASK32], dtypes.DEFAULT_INT)


DEFAULT_SEED = 0  # the global generator's seed until sg.random.seed is called (Theano's rule: fixed)
GLOBAL_KEY = Variable(seed_key(DEFAULT_SEED), name="random_key")
GLOBAL_COUNTER = RandomCounter(np.array(0, dtypes.DEFAULT_INT), name="random_counter")
GLOBAL_KEY.node.location = GLOBAL_COUNTER.node.location = None  # created by no user line

__all__: list[str] = []
