"""Random graphs for the differential fuzzer (tests/test_random_graphs.py).

``RandomGraph(seed)`` builds, from its seed alone, a graph over placeholders with the
public API, the values to feed them, and (for about half the graphs) the gradients of a
scalar reduction of its outputs with respect to its float placeholders. What it uses:

- elementwise: arithmetic, transcendentals, activations, comparisons, logical ops,
  ``where``, ``isnan``/``isfinite``, casts between float32, float64, int32, int64, bool;
- broadcasting against Python scalars, constants of broadcastable shapes, other nodes;
- reductions: sum, mean, max, min, prod, argmax, argmin, any, all, var, std, logsumexp,
  cumsum, cumprod, softmax, log_softmax;
- shape ops: reshape, transpose, swapaxes, moveaxis, expand_dims, squeeze, broadcast_to,
  concatenate, stack, flip, tile, repeat, pad, split;
- indexing: slices (steps, negative steps), integer indices, ``take`` with constant or
  placeholder indices, ``take_along_axis``, ``one_hot``, ``sort``, ``argsort``,
  ``top_k``, ``scatter_add``; matmul, dot and tensordot.

Sizes run from 0 to 257 per axis: a graph's three named sizes come from one size class,
and the large class reaches the threaded loops (32768 elements and more) and reductions
over leading axes of 2**19 elements and more. Each axis of an input is static or
symbolic. Float inputs get NaN, +inf and -inf at random positions in a third of the
graphs, and values on a grid of halves (ties, signed zeros) in another third; some
inputs come in another layout (Fortran order, strided, the other byte order, read-only).

Each node carries what the comparison needs to be strict without reporting rounding
noise (``Value``): a bound on its finite elements, and how far two correct
implementations may be apart on them, as an absolute part and a part relative to the
value. Both are 0 for *exact* nodes: IEEE's correctly rounded operations (+ - * /, sqrt,
casts) on bit-identical inputs, selections and data movement give bit-identical results
in every mode and at every level. Discontinuous ops (comparisons, floor, sign, argmax,
sort, mod, casts to integers, the domain edges of log and arcsin) take exact inputs only:
on anything else one rounding difference flips them and the fuzzer would report noise.
Kinks (abs, maximum, relu, ...) on inexact values make a gradient incomparable for the
same reason (``Value.smooth``).

A graph may also carry bad feeds (a symbolic size that disagrees between two inputs, an
index out of range): every mode must raise the same error class for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import symgraph as sg
from symgraph.errors import SymgraphError
from symgraph.graph.shape import evaluate_shape
from symgraph.graph.traversal import toposort

MAX_ELEMENTS = 1 << 20  # no node is larger: the reference computes every node with numpy
APPROX_ULPS = 8  # how many ulps two implementations of a transcendental may be apart
INT_LIMIT = 2.0**63
# inexact values stay far from the overflow threshold (near it one mode rounds to inf)
INEXACT_LIMIT = {"float32": 1e30, "float64": 1e290}
LOOSEST = 1e-2  # a node whose tolerance would be looser than this (relative) is not made

SIZE_CLASSES = {
    "tiny": [0, 1, 1, 2, 3, 4, 5],
    "small": [1, 2, 3, 5, 7, 8, 9, 13, 16, 17],
    "medium": [1, 3, 7, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129],
    "large": [127, 129, 255, 256, 257, 257],
}
# the large class: two long axes and a short one; 256 * 256 * 8 = 2**19 elements is where
# reductions over leading axes go to threads (symgraph/ops/reduction.py, _BLOCKS_MIN)
LARGE_SHORT_AXIS = [5, 8, 9, 9]
SIZE_CLASS_ODDS = [0.3, 0.37, 0.2, 0.13]


class Reject(Exception):
    """This random choice does not fit the graph so far; the generator tries another."""


@dataclass
class Value:
    """A node of a random graph (or a constant operand) and what the generator knows.

    ``bound``: every finite element has ``|x| <= bound`` (math.inf: no bound known).
    ``abs_err``, ``rel_err``: two correct implementations are at most ``abs_err +
    rel_err * |x|`` apart on a finite element (both 0: bit-identical everywhere).
    ``smooth``: no kink under this node sees an inexact value (its gradient compares).
    """

    t: sg.Tensor | float | int
    shape: tuple[int, ...]
    bound: float
    abs_err: float = 0.0
    rel_err: float = 0.0
    smooth: bool = True

    @property
    def kind(self) -> str:
        """ "f", "i" or "b"."""
        if isinstance(self.t, sg.Tensor):
            return np.dtype(self.t.dtype).kind
        return "i" if isinstance(self.t, int) else "f"

    @property
    def declared(self) -> tuple:
        return tuple(self.t.shape) if isinstance(self.t, sg.Tensor) else ()

    @property
    def exact(self) -> bool:
        return self.abs_err == 0.0 and self.rel_err == 0.0

    def absolute(self) -> float:
        """The distance bound as one absolute number (inf for inexact unbounded values)."""
        return self.abs_err + _times(self.rel_err, self.bound)


@dataclass
class Output:
    """An output and how it compares: "value" by its node's bounds, "grad" (a gradient)
    relative to the largest magnitude in the reference, at the ``precision`` of the
    narrowest float its graph computes in."""

    t: sg.Tensor
    check: str
    value: Value | None = None
    precision: str = "float64"


@dataclass
class BadFeed:
    """Inputs replaced so that the call must fail; ``why`` says how."""

    why: str
    replace: dict[int, np.ndarray] = field(default_factory=dict)


def _times(a: float, b: float) -> float:
    """a * b, with 0 * inf = 0 (an exact node with unbounded values adds no error)."""
    return 0.0 if a == 0.0 or b == 0.0 else a * b


def eps_of(dtype) -> float:
    dt = np.dtype(dtype)
    return float(np.finfo(dt).eps) if dt.kind == "f" else 0.0


def _power(b: float, n: int) -> float:
    """b**n, inf where that overflows a double."""
    return math.inf if b > 1 and n * math.log(b) > 700 else b**n


def _order_spread(n: int) -> float:
    """How far two summation orders of n terms may be apart, in ulps of sum |x|."""
    return max(8.0, 2.0 * math.sqrt(n)) if n > 1 else 0.0


class RandomGraph:
    """One random graph: ``placeholders``, ``values`` (the feed), ``outputs``,
    ``bad_feeds``; ``ops_used`` names what the generator applied."""

    def __init__(self, seed: int, n_nodes: int | None = None):
        self.seed = seed
        rng = self.rng = np.random.default_rng(seed)
        self.size_class = str(rng.choice(list(SIZE_CLASSES), p=SIZE_CLASS_ODDS))
        sizes = [int(s) for s in rng.choice(SIZE_CLASSES[self.size_class], size=3)]
        if self.size_class == "large":  # one short axis, so that rank 3 stays under MAX_ELEMENTS
            sizes[2] = int(rng.choice(LARGE_SHORT_AXIS))
        self.sizes = sizes
        self.dims = [sg.dim(f"n{seed}_{i}") for i in range(3)]
        self.env = {next(iter(d.symbols())): s for d, s in zip(self.dims, sizes)}
        self.bound_dims: set[int] = set()  # the symbolic sizes an input's shape declares
        self.float_dtype = "float64" if rng.random() < 0.3 else "float32"
        self.specials = bool(rng.random() < 0.35)
        self.grid = bool(rng.random() < 0.35)
        self.placeholders: list[sg.Tensor] = []
        self.values: list[np.ndarray] = []
        self.bad_feeds: list[BadFeed] = []
        self.nodes: list[Value] = []
        self.ops_used: list[str] = []
        for i in range(int(rng.integers(1, 4))):
            self._add_input(f"x{seed}_{i}", whole=i == 0 and self.size_class == "large")
        start = len(self.nodes)
        if self.size_class == "large":
            self._reduce_whole_input()
        if n_nodes is None:
            n_nodes = int(rng.integers(3, 12)) if self.size_class == "large" else int(rng.integers(4, 24))
        tries = 0
        while len(self.nodes) - start < n_nodes and tries < 30 * n_nodes:
            tries += 1
            name, op = OPS[int(rng.choice(len(OPS), p=OP_ODDS))]
            try:
                node = op(self)
            except (Reject, SymgraphError):
                continue
            self.nodes.append(node)
            self.ops_used.append(name)
        self.outputs = self._choose_outputs(start)
        self._add_gradients()
        self._other_layouts()
        self._bad_size_feed()

    def _reduce_whole_input(self) -> None:
        """A reduction of the large input (often of a function of it, which O2 fuses into
        the reduction's loop), mostly over leading axes: the threaded reduction paths."""
        for _ in range(10):
            try:
                x = _unary(self, self.nodes[0]) if self.rng.random() < 0.5 else self.nodes[0]
                node = _reduce(self, x)
            except (Reject, SymgraphError):
                continue
            if x is not self.nodes[0]:
                self.nodes.append(x)
                self.ops_used.append("unary")
            self.nodes.append(node)
            self.ops_used.append("reduce")
            return

    # ---- inputs

    def concrete(self, t: sg.Tensor) -> tuple[int, ...]:
        return evaluate_shape(t.shape, self.env)

    def _input_shape(self, whole: bool = False) -> tuple[tuple, tuple[int, ...]]:
        """A declared shape (static sizes, symbolic ones, static 1s) and its sizes; with
        ``whole``, all three of the graph's sizes, the short one last."""
        rng = self.rng
        if whole:
            declared = tuple(self.dims[k] if rng.random() < 0.5 else self.sizes[k] for k in range(3))
            return declared, tuple(self.sizes)
        for _ in range(20):
            rank = int(rng.choice([0, 1, 2, 3], p=[0.08, 0.27, 0.4, 0.25]))
            declared, shape = [], []
            for _ in range(rank):
                if rng.random() < 0.12:
                    declared.append(1)
                    shape.append(1)
                    continue
                k = int(rng.integers(3))
                declared.append(self.dims[k] if rng.random() < 0.5 else self.sizes[k])
                shape.append(self.sizes[k])
            if math.prod(shape) <= MAX_ELEMENTS:
                return tuple(declared), tuple(shape)
        return (), ()

    def _note_dims(self, declared: tuple) -> None:
        for d in declared:
            for k, dim in enumerate(self.dims):
                if d == dim:
                    self.bound_dims.add(k)

    def _add_input(self, name: str, whole: bool = False) -> Value:
        rng = self.rng
        declared, shape = self._input_shape(whole)
        r = rng.random()
        dtype = self.float_dtype if r < 0.75 else ("float32" if r < 0.85 else str(rng.choice(["int32", "int64"])))
        t = sg.placeholder(declared, dtype=dtype, name=name)
        self._note_dims(declared)
        if dtype.startswith("int"):
            high = 5 if rng.random() < 0.8 else 1000
            value = rng.integers(-high, high + 1, size=shape).astype(dtype)
            bound = float(high)
        else:
            value = rng.uniform(-2, 2, size=shape)
            if self.grid:
                value = np.round(value * 2) / 2  # ties, exact zeros of both signs
            value = value.astype(dtype)
            if self.specials and value.size:
                k = max(1, value.size // 200) if rng.random() < 0.3 else int(rng.integers(1, 4))
                where = rng.integers(value.size, size=k)
                value.reshape(-1)[where] = rng.choice([np.nan, np.inf, -np.inf], size=k)
            bound = 2.0
        self.placeholders.append(t)
        self.values.append(value)
        node = Value(t, shape, bound)
        self.nodes.append(node)
        return node

    def index_input(self, n: int) -> Value:
        """An int placeholder of indices into an axis of size ``n`` (numpy's range, -n to
        n-1), and a bad feed holding one index out of that range."""
        rng = self.rng
        k = int(rng.integers(3))
        declared = self.dims[k] if rng.random() < 0.5 else self.sizes[k]
        length = self.sizes[k]
        dtype = str(rng.choice(["int32", "int64"]))
        t = sg.placeholder((declared,), dtype=dtype, name=f"i{self.seed}_{len(self.placeholders)}")
        self._note_dims((declared,))
        value = rng.integers(-n, n, size=length).astype(dtype)
        if length:
            bad = value.copy()
            bad[int(rng.integers(length))] = n if rng.random() < 0.5 else -n - 1
            self.bad_feeds.append(BadFeed(f"an index out of range for an axis of {n}", {len(self.placeholders): bad}))
        self.placeholders.append(t)
        self.values.append(value)
        return Value(t, (length,), float(n))

    def exponent_input(self, dtype: str) -> Value:
        """A 0-d int placeholder holding 0 to 3, and a bad feed holding -1 (an integer to a
        negative power raises, whatever the base's size: issue 15's item 8 had mode "c"
        at O2 skip the check where the result was empty)."""
        k = len(self.placeholders)
        t = sg.placeholder((), dtype=dtype, name=f"e{self.seed}_{k}")
        self.placeholders.append(t)
        self.values.append(np.array(int(self.rng.integers(0, 4)), dtype=dtype))
        self.bad_feeds.append(BadFeed("a negative integer exponent", {k: np.array(-1, dtype=dtype)}))
        return Value(t, (), 3.0)

    # ---- choosing operands

    def pick(self, pred: Callable[[Value], bool] = lambda v: True) -> Value:
        cands = [n for n in self.nodes if pred(n)]
        if not cands:
            raise Reject
        w = np.arange(1, len(cands) + 1, dtype=float) ** 2  # recent nodes: deep graphs as well as wide
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    def broadcast(self, *values: Value) -> tuple[int, ...]:
        """The broadcast shape of ``values``; Reject where it has none."""
        return _broadcast([(v.shape, v.declared) for v in values])

    def fits(self, a: Value, b: Value) -> bool:
        try:
            self.broadcast(a, b)
        except Reject:
            return False
        return True

    def constant_like(self, a: Value, kind: str) -> Value:
        """A constant array of a shape that broadcasts against ``a``'s."""
        rng = self.rng
        axes = [s if isinstance(d, int) and rng.random() < 0.5 else 1 for s, d in zip(a.shape, a.declared)]
        shape = tuple(axes[int(rng.integers(len(axes) + 1)) :])
        if math.prod(shape) > 4096:
            raise Reject
        if kind == "i":
            v = rng.integers(-4, 5, size=shape).astype(str(a.t.dtype) if isinstance(a.t, sg.Tensor) else "int32")
        else:
            v = rng.uniform(-2, 2, size=shape)
            if rng.random() < 0.5:
                v = np.round(v * 2) / 2
            v = v.astype(self.float_dtype)
        return Value(sg.constant(v), shape, float(np.abs(v).max(initial=0.0)))

    def operand_for(self, a: Value) -> Value:
        """A second operand of ``a``'s kind that broadcasts against it: a Python scalar, a
        0-d constant, a constant array, or another node."""
        rng = self.rng
        r = rng.random()
        if r < 0.15:
            if a.kind == "i":
                c = int(rng.choice([0, 1, -1, 2, 3]))
            else:
                c = float(rng.choice([0.0, 1.0, -1.0, 2.0, 0.5, -0.5, 3.0]))
            return Value(c, (), abs(c))  # a weak Python scalar
        if r < 0.3 and a.shape:
            return self.constant_like(a, a.kind)
        return self.pick(lambda n: n.kind == a.kind and self.fits(a, n))

    def make(
        self, t: sg.Tensor, bound: float, abs_err: float = 0.0, rel_err: float = 0.0, smooth: bool = True
    ) -> Value:
        """A new node, or Reject where it is too large or too inexact to compare."""
        shape = self.concrete(t)
        if math.prod(shape) > MAX_ELEMENTS:
            raise Reject
        dtype = np.dtype(t.dtype)
        if dtype.kind == "f":
            if abs_err or rel_err:
                if not (math.isfinite(abs_err) and rel_err <= LOOSEST) or bound > INEXACT_LIMIT[dtype.name]:
                    raise Reject
                if abs_err > LOOSEST * max(1.0, bound):
                    raise Reject
        else:
            abs_err = rel_err = 0.0
            bound = min(bound, INT_LIMIT) if dtype.kind in "iu" else 1.0
        return Value(t, shape, bound, abs_err, rel_err, smooth)

    # ---- outputs, gradients and feeds

    def _choose_outputs(self, start: int) -> list[Output]:
        made = self.nodes[start:] or self.nodes[-1:]
        chosen = [n for n in made[:-1] if self.rng.random() < 0.15] + [made[-1]]
        return [Output(n.t, "value", n) for n in chosen]

    def _add_gradients(self) -> None:
        floats = [p for p in self.placeholders if np.dtype(p.dtype).kind == "f"]
        terms = [o.value for o in self.outputs if o.value.kind == "f" and o.value.smooth]
        if not floats or not terms or self.rng.random() < 0.5:
            return
        cost = None
        for v in terms:
            term = sg.sum(v.t) * float(self.rng.choice([1.0, -0.5, 2.0]))
            cost = term if cost is None else cost + term
        grads = sg.grad(cost, floats, disconnected="zero")
        for g in grads:
            narrow = any(t.dtype == np.float32 for node in toposort([g]) for t in node.outputs)
            self.outputs.append(Output(g, "grad", precision="float32" if narrow else "float64"))
        self.ops_used.append("grad")

    def _other_layouts(self) -> None:
        """Some inputs as other layouts of the same values: every mode reads them by value."""
        for i, v in enumerate(self.values):
            r = self.rng.random()
            if r > 0.25 or v.ndim == 0:
                continue
            if r < 0.07:
                v = np.asfortranarray(v)
            elif r < 0.14:
                wide = np.empty(v.shape[:-1] + (2 * v.shape[-1],), v.dtype)
                wide[..., ::2] = v
                v = wide[..., ::2]
            elif r < 0.2:
                v = v.astype(v.dtype.newbyteorder("S"))
            else:
                v = v.copy()
                v.flags.writeable = False
            self.values[i] = v

    def _bad_size_feed(self) -> None:
        """One input's symbolic size one longer than the same size in another input."""
        rng = self.rng
        for k, p in enumerate(self.placeholders):
            syms = [i for i, d in enumerate(p.shape) if not isinstance(d, int)]
            if not syms or rng.random() < 0.7:
                continue
            axis = int(rng.choice(syms))
            dim = p.shape[axis]
            shared = sum(d == dim for q in self.placeholders for d in q.shape) > 1
            if not shared:
                continue
            shape = list(self.values[k].shape)
            shape[axis] += 1
            bad = np.zeros(shape, self.values[k].dtype)
            self.bad_feeds.append(BadFeed(f"axis {axis} of {p.name} one longer than its size elsewhere", {k: bad}))
            return

    def feed(self, bad: BadFeed | None = None) -> list[np.ndarray]:
        """The values to call with (with a bad feed's replacements)."""
        if bad is None:
            return list(self.values)
        return [bad.replace.get(i, v) for i, v in enumerate(self.values)]

    def dump(self) -> str:
        return sg.dump([o.t for o in self.outputs])


def _broadcast(shapes: list[tuple[tuple[int, ...], tuple]]) -> tuple[int, ...]:
    """The broadcast shape of (sizes, declared shape) pairs; Reject where numpy would
    refuse, or where a symbolic size of 1 would have to broadcast (symgraph never
    broadcasts a symbolic size: its call-time check raises ShapeError)."""
    try:
        out = np.broadcast_shapes(*(sizes for sizes, _ in shapes))
    except ValueError:
        raise Reject from None
    for sizes, declared in shapes:
        off = len(out) - len(sizes)
        for i, (s, d) in enumerate(zip(sizes, declared)):
            if s != out[off + i] and not (isinstance(d, int) and d == 1):
                raise Reject
    return out


def _smooth_after_kink(*values: Value) -> bool:
    """A kink (abs, maximum, ...) applied to these: its gradient compares when they are exact."""
    return all(v.smooth for v in values) and all(v.exact for v in values)


# ---------------------------------------------------------------- elementwise


@dataclass(frozen=True)
class Unary:
    """An elementwise function and its error rule.

    ``arith``: "exact" (a selection: bit-identical), "rounded" (correctly rounded IEEE
    operations: bit-identical on exact inputs, an ulp apart otherwise) or "approx" (libm,
    numpy's or symgraph's own approximations: APPROX_ULPS). ``domain``: "any"
    (continuous, Lipschitz constant ``lip(bound)`` over the input's range), "relative"
    (inputs without absolute error only: their signs and zeros are certain; ``cond``
    turns relative error in into relative error out), "exp" (an absolute error in is a
    relative one out) or "exact" (a discontinuity or a domain edge: exact inputs only).
    ``out(bound)`` bounds the finite results (None: a logarithm); ``max_in`` caps the
    input's bound.
    """

    name: str
    build: Callable
    arith: str
    domain: str
    out: Callable[[float], float] | None
    lip: Callable[[float], float] = lambda b: 1.0
    cond: float = 1.0
    max_in: float = math.inf
    kink: bool = False
    to_bool: bool = False


UNARY = [
    Unary("negative", sg.negative, "exact", "any", lambda b: b),
    Unary("abs", sg.abs, "exact", "any", lambda b: b, kink=True),
    Unary("relu", sg.nn.relu, "exact", "any", lambda b: b, kink=True),
    Unary("clip", lambda x: sg.clip(x, -1.5, 1.0), "exact", "any", lambda b: min(b, 1.5), kink=True),
    Unary("stop_gradient", sg.stop_gradient, "exact", "any", lambda b: b),
    Unary("identity", sg.identity, "exact", "any", lambda b: b),
    Unary("isnan", sg.isnan, "exact", "any", lambda b: 1.0, to_bool=True),
    Unary("isfinite", sg.isfinite, "exact", "any", lambda b: 1.0, to_bool=True),
    Unary("square", sg.square, "rounded", "any", lambda b: b * b, lambda b: 2 * b, cond=2.0),
    Unary("exp", sg.exp, "approx", "exp", math.exp, max_in=60.0),
    Unary("expm1", sg.expm1, "approx", "any", math.exp, math.exp, max_in=60.0),
    Unary("tanh", sg.tanh, "approx", "any", lambda b: 1.0),
    Unary("sigmoid", sg.nn.sigmoid, "approx", "any", lambda b: 1.0, lambda b: 0.25),
    Unary("softplus", sg.nn.softplus, "approx", "any", lambda b: b + 1.0),
    Unary("elu", sg.nn.elu, "approx", "any", lambda b: max(b, 1.0)),
    Unary("selu", sg.nn.selu, "approx", "any", lambda b: 1.06 * max(b, 1.68), lambda b: 1.76, kink=True),
    Unary("gelu", sg.nn.gelu, "approx", "any", lambda b: b, lambda b: 1.13),
    Unary("gelu_tanh", lambda x: sg.nn.gelu(x, approximate=True), "approx", "any", lambda b: b, lambda b: 1.13),
    Unary("swish", sg.nn.swish, "approx", "any", lambda b: b, lambda b: 1.1),
    Unary("softsign", sg.nn.softsign, "approx", "any", lambda b: 1.0),
    Unary("leaky_relu", lambda x: sg.nn.leaky_relu(x, 0.1), "approx", "any", lambda b: b, kink=True),
    Unary("hard_sigmoid", sg.nn.hard_sigmoid, "approx", "any", lambda b: 1.0, lambda b: 0.25, kink=True),
    Unary("sin", sg.sin, "approx", "any", lambda b: 1.0, max_in=50.0),
    Unary("cos", sg.cos, "approx", "any", lambda b: 1.0, max_in=50.0),
    Unary("tan", sg.tan, "approx", "any", math.tan, lambda b: 1 + math.tan(b) ** 2, max_in=1.3),
    Unary("arctan", sg.arctan, "approx", "any", lambda b: math.pi / 2),
    Unary("erf", sg.erf, "approx", "any", lambda b: 1.0, lambda b: 1.13),
    Unary("sinh", sg.sinh, "approx", "any", math.sinh, math.cosh, max_in=30.0),
    Unary("cosh", sg.cosh, "approx", "any", math.cosh, math.cosh, max_in=30.0),
    # guarded forms of functions with a domain (any input); O1 rewrites some of them
    # (log(1 + x) -> log1p), so the levels differ in the formula, not in the value
    Unary("log1p_abs", lambda x: sg.log1p(sg.abs(x)), "approx", "any", math.log1p, kink=True),
    Unary("log_1_plus_abs", lambda x: sg.log(1.0 + sg.abs(x)), "approx", "any", math.log1p, kink=True),
    Unary(
        "sqrt_abs_plus_1", lambda x: sg.sqrt(sg.abs(x) + 1.0), "approx", "any", lambda b: math.sqrt(b + 1), kink=True
    ),
    Unary("rsqrt_abs_plus_1", lambda x: sg.rsqrt(sg.abs(x) + 1.0), "approx", "any", lambda b: 1.0, kink=True),
    Unary("recip_abs_plus_1", lambda x: sg.reciprocal(sg.abs(x) + 1.0), "approx", "any", lambda b: 1.0, kink=True),
    Unary(
        "pow_abs_plus_1",
        lambda x: sg.power(sg.abs(x) + 1.0, -1.5),
        "approx",
        "any",
        lambda b: 1.0,
        lambda b: 1.5,
        kink=True,
    ),
    # relative error in, relative error out: the signs and the zeros are certain
    Unary("sqrt", sg.sqrt, "rounded", "relative", math.sqrt, cond=0.5),
    Unary("reciprocal", sg.reciprocal, "rounded", "relative", lambda b: math.inf),
    Unary("rsqrt", sg.rsqrt, "approx", "relative", lambda b: math.inf, cond=0.5),
    Unary("cube", lambda x: sg.power(x, 3.0), "approx", "relative", lambda b: b**3, cond=3.0, max_in=1e9),
    Unary("pow_neg2", lambda x: sg.power(x, -2.0), "approx", "relative", lambda b: math.inf, cond=2.0),
    Unary("pow_half", lambda x: sg.power(x, 0.5), "approx", "relative", math.sqrt, cond=0.5),
    # discontinuous, or with a domain edge: exact inputs only
    Unary("log", sg.log, "approx", "exact", None),
    Unary("log1p", sg.log1p, "approx", "exact", None),
    Unary("arcsin", sg.arcsin, "approx", "exact", lambda b: math.pi / 2),
    Unary("arccos", sg.arccos, "approx", "exact", lambda b: math.pi),
    Unary("floor", sg.floor, "exact", "exact", lambda b: b + 1),
    Unary("ceil", sg.ceil, "exact", "exact", lambda b: b + 1),
    Unary("round", sg.round, "exact", "exact", lambda b: b + 1),
    Unary("sign", sg.sign, "exact", "exact", lambda b: 1.0),
    Unary("pow_frac", lambda x: sg.power(x, 1.5), "approx", "exact", lambda b: b**1.5, max_in=1e9),
]
INT_UNARY = [
    Unary("negative", sg.negative, "exact", "any", lambda b: b),
    Unary("abs", sg.abs, "exact", "any", lambda b: b),
    Unary("sign", sg.sign, "exact", "any", lambda b: 1.0),
    Unary("square", sg.square, "exact", "any", lambda b: b * b),
    Unary("clip", lambda x: sg.clip(x, -3, 2), "exact", "any", lambda b: 3.0),
]


def _log_bound(dtype) -> float:
    """|log x| for every finite x > 0 of the dtype (subnormals included)."""
    return 104.0 if np.dtype(dtype) == np.float32 else 746.0


def _unary(g: RandomGraph, a: Value | None = None) -> Value:
    if g.rng.random() < 0.1 and (a is None or a.kind == "i"):
        f = INT_UNARY[int(g.rng.integers(len(INT_UNARY)))]
        a = a or g.pick(lambda n: n.kind == "i")
        return g.make(f.build(a.t), f.out(a.bound))
    f = UNARY[int(g.rng.integers(len(UNARY)))]
    a = a or g.pick(lambda n: n.kind == "f")
    if a.kind != "f" or a.bound > f.max_in:
        raise Reject
    if f.domain == "exact" and not a.exact or f.domain == "relative" and a.abs_err:
        raise Reject
    t = f.build(a.t)
    bound = _log_bound(t.dtype) if f.out is None else f.out(a.bound)
    smooth = a.smooth and not (f.kink and not a.exact)
    if f.arith == "exact":
        return g.make(t, bound, a.abs_err, a.rel_err, smooth)
    if a.exact and f.arith == "rounded":
        return g.make(t, bound, 0.0, 0.0, smooth)
    ulps = (APPROX_ULPS if f.arith == "approx" else 1) * eps_of(t.dtype)
    if f.domain == "relative":
        return g.make(t, bound, 0.0, f.cond * a.rel_err + ulps, smooth)
    if f.domain == "exact":
        return g.make(t, bound, 0.0, ulps, smooth)
    if f.domain == "exp":
        return g.make(t, bound, 0.0, a.absolute() + ulps, smooth)
    # the roundings inside a formula (1 + |x| before its log) are absolute: an ulp of 1
    return g.make(t, bound, _times(f.lip(a.bound), a.absolute()) + ulps, ulps, smooth)


BINARY = [
    "add", "sub", "mul", "div_guarded", "div_relative", "maximum", "minimum", "divide", "mod", "floor_divide", "power"
]  # fmt: skip


def _binary(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind in "fi")
    b = g.operand_for(a)
    g.broadcast(a, b)
    if rng.random() < 0.3 and isinstance(b.t, sg.Tensor):
        a, b = b, a
    x, y = a.t, b.t
    name = str(rng.choice(BINARY))
    exact = a.exact and b.exact
    smooth = a.smooth and b.smooth
    if name in ("add", "sub"):
        t = sg.add(x, y) if name == "add" else sg.sub(x, y)
        if exact:
            return g.make(t, a.bound + b.bound, smooth=smooth)
        return g.make(t, a.bound + b.bound, a.absolute() + b.absolute(), eps_of(t.dtype), smooth)
    if name == "mul":
        t = sg.mul(x, y)
        bound = _times(a.bound, b.bound)
        if exact:
            return g.make(t, bound, smooth=smooth)
        abs_err = _times(a.abs_err, b.bound) + _times(b.abs_err, a.bound) + _times(a.abs_err, b.abs_err)
        return g.make(t, bound, abs_err, a.rel_err + b.rel_err + eps_of(t.dtype), smooth)
    if name == "div_guarded":  # divided by |y| + 1: no pole
        if b.kind != "f":
            raise Reject
        t = sg.true_divide(x, sg.abs(y) + 1.0)
        smooth = smooth and (b.exact or not isinstance(y, sg.Tensor))
        if exact:
            return g.make(t, a.bound, smooth=smooth)
        return g.make(t, a.bound, a.abs_err + _times(a.bound, b.absolute()), a.rel_err + 2 * eps_of(t.dtype), smooth)
    if name in ("maximum", "minimum"):
        t = sg.maximum(x, y) if name == "maximum" else sg.minimum(x, y)
        return g.make(
            t, max(a.bound, b.bound), max(a.abs_err, b.abs_err), max(a.rel_err, b.rel_err), _smooth_after_kink(a, b)
        )
    if name == "div_relative":  # both without absolute error: the quotient's relative error is theirs
        if a.abs_err or b.abs_err or a.kind != "f":
            raise Reject
        t = sg.true_divide(x, y)
        rel = 0.0 if exact else a.rel_err + b.rel_err + eps_of(t.dtype)
        return g.make(t, math.inf, 0.0, rel, smooth)
    if not exact:
        raise Reject  # poles and jumps: exact operands only
    if name == "divide":
        return g.make(sg.true_divide(x, y), math.inf, smooth=smooth)
    if name == "power":
        if a.kind == "i":  # a small exponent, constant or an input (whose bad feed makes it negative)
            exponent = g.exponent_input(str(a.t.dtype)).t if rng.random() < 0.5 else int(rng.integers(0, 4))
            return g.make(sg.power(x, exponent), a.bound**3 + 1)
        t = sg.power(x, y)
        return g.make(t, math.inf, 0.0, APPROX_ULPS * eps_of(t.dtype), smooth)
    t = sg.mod(x, y) if name == "mod" else sg.floor_divide(x, y)
    return g.make(t, b.bound if name == "mod" else math.inf, smooth=smooth)


def _compare(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind in "fi" and n.exact)
    b = g.operand_for(a)
    if not b.exact:
        raise Reject
    g.broadcast(a, b)
    op = [sg.equal, sg.not_equal, sg.greater, sg.greater_equal, sg.less, sg.less_equal][int(rng.integers(6))]
    return g.make(op(a.t, b.t), 1.0)


def _logical(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind == "b")
    k = int(rng.integers(4))
    if k == 0:
        return g.make(sg.logical_not(a.t), 1.0)
    b = g.pick(lambda n: n.kind == "b" and g.fits(a, n))
    op = [sg.logical_and, sg.logical_or, sg.logical_xor][k - 1]
    return g.make(op(a.t, b.t), 1.0)


def _where(g: RandomGraph) -> Value:
    cond = g.pick(lambda n: n.kind == "b")
    a = g.pick(lambda n: n.kind in "fi" and g.fits(cond, n))
    b = g.operand_for(a)
    g.broadcast(cond, a, b)
    if g.rng.random() < 0.5:
        a, b = b, a
    t = sg.where(cond.t, a.t, b.t)
    return g.make(t, max(a.bound, b.bound), max(a.abs_err, b.abs_err), max(a.rel_err, b.rel_err), a.smooth and b.smooth)


def _cast(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick()
    kind = a.kind
    if kind == "f":
        choices = ["float32", "float64"] + (["int32", "int64", "bool"] if a.exact else [])
    else:
        choices = ["float32", "float64", "int32", "int64"]
    to = str(rng.choice(choices))
    if to == str(a.t.dtype):
        raise Reject
    t = sg.cast(a.t, to)
    if to.startswith("float"):
        if kind != "f":
            return g.make(t, a.bound)
        narrowing = to == "float32" and str(a.t.dtype) == "float64"
        if a.exact:
            return g.make(t, a.bound)
        return g.make(t, a.bound, a.abs_err, a.rel_err + (eps_of(to) if narrowing else 0.0), a.smooth)
    return g.make(t, INT_LIMIT if kind == "f" else a.bound)


# ---------------------------------------------------------------- reductions


def _axes(g: RandomGraph, a: Value, single: bool = False):
    """An axis spec for a reduction over ``a``: None, an axis, or (unless single) two."""
    rng = g.rng
    nd = len(a.shape)
    r = rng.random()
    if r < 0.15 or nd == 0:
        return None, math.prod(a.shape)
    if nd >= 2 and math.prod(a.shape) >= 1 << 18 and r < 0.6:  # leading axes of a large node: threads
        if r < 0.4 or single:
            return 0, a.shape[0]
        return (0, 1), a.shape[0] * a.shape[1]
    if r < 0.3 and nd >= 2 and not single:
        axes = tuple(sorted(int(i) for i in rng.choice(nd, size=2, replace=False)))
        return axes, a.shape[axes[0]] * a.shape[axes[1]]
    axis = int(rng.integers(-nd, nd))
    return axis, a.shape[axis]


REDUCTIONS = ["sum", "sum", "mean", "max", "min", "prod", "argmax", "argmin", "any", "all", "var", "std", "logsumexp"]


def _reduce(g: RandomGraph, a: Value | None = None) -> Value:
    rng = g.rng
    name = str(rng.choice(REDUCTIONS))
    kinds = "fib" if name in ("any", "all") else "fi"
    a = a or g.pick(lambda n: n.kind in kinds)
    if a.kind not in kinds:
        raise Reject
    axis, n = _axes(g, a, single=name in ("argmax", "argmin"))
    keepdims = bool(rng.random() < 0.35)
    eps = eps_of(a.t.dtype)
    if name in ("max", "min", "argmax", "argmin"):
        if n == 0:
            raise Reject  # an empty max raises: a graph that always fails says nothing
        if name.startswith("arg"):
            if not a.exact:
                raise Reject
            fn = sg.argmax if name == "argmax" else sg.argmin
            return g.make(fn(a.t, axis=axis, keepdims=keepdims), float(max(n, 1)))
        fn = sg.max if name == "max" else sg.min
        return g.make(fn(a.t, axis=axis, keepdims=keepdims), a.bound, a.abs_err, a.rel_err, _smooth_after_kink(a))
    if name in ("any", "all"):
        if not a.exact:
            raise Reject
        return g.make((sg.any if name == "any" else sg.all)(a.t, axis=axis, keepdims=keepdims), 1.0)
    if name == "sum":
        t = sg.sum(a.t, axis=axis, keepdims=keepdims)
        if a.kind != "f" or (a.exact and n <= 1):
            return g.make(t, a.bound * n)
        spread = n * a.absolute() + eps * n * a.bound * _order_spread(n)
        return g.make(t, a.bound * n, spread, eps, a.smooth)
    if name == "mean":
        t = sg.mean(a.t, axis=axis, keepdims=keepdims)
        eps = eps_of(t.dtype)
        return g.make(t, a.bound, a.absolute() + eps * a.bound * _order_spread(n), 2 * eps, a.smooth)
    if name == "prod":
        if a.abs_err or _power(a.bound, n) > 1e30:
            raise Reject
        t = sg.prod(a.t, axis=axis, keepdims=keepdims)
        if a.kind != "f" or (a.exact and n <= 2):
            return g.make(t, _power(a.bound, n))
        return g.make(t, _power(a.bound, n), 0.0, n * (a.rel_err + eps), a.smooth)
    if a.kind != "f":
        raise Reject
    if name == "logsumexp":
        t = sg.logsumexp(a.t, axis=axis, keepdims=keepdims)
        bound = a.bound + math.log(max(n, 1))
        return g.make(t, bound, a.absolute() + 2 * eps * _order_spread(n), APPROX_ULPS * eps, a.smooth)
    t = (sg.var if name == "var" else sg.std)(a.t, axis=axis, keepdims=keepdims)
    spread = 4 * a.bound * a.absolute() + 4 * eps * a.bound**2 * _order_spread(n)
    if name == "var":
        return g.make(t, a.bound**2, spread, 2 * eps, a.smooth)
    # sqrt near 0 turns a tiny absolute difference into a larger one, and its gradient into a pole
    return g.make(t, a.bound, math.sqrt(spread), 2 * eps, False)


def _cumulative(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind in "fi" and len(n.shape) >= 1)
    nd = len(a.shape)
    axis = None if rng.random() < 0.15 else int(rng.integers(-nd, nd))
    n = math.prod(a.shape) if axis is None else a.shape[axis]
    exclusive, reverse = bool(rng.random() < 0.3), bool(rng.random() < 0.3)
    eps = eps_of(a.t.dtype)
    if rng.random() < 0.7:
        t = sg.cumsum(a.t, axis=axis, exclusive=exclusive, reverse=reverse)
        if a.kind != "f":
            return g.make(t, a.bound * n)
        return g.make(t, a.bound * n, n * a.absolute() + eps * n * a.bound * _order_spread(n), eps, a.smooth)
    if a.abs_err or _power(a.bound, n) > 1e30:
        raise Reject
    t = sg.cumprod(a.t, axis=axis, exclusive=exclusive, reverse=reverse)
    if a.kind != "f":
        return g.make(t, _power(a.bound, n))
    return g.make(t, _power(max(1.0, a.bound), n), 0.0, n * (a.rel_err + eps), a.smooth)


def _softmax(g: RandomGraph) -> Value:
    a = g.pick(lambda n: n.kind == "f" and len(n.shape) > 0)
    nd = len(a.shape)
    axis = int(g.rng.integers(-nd, nd))
    n = a.shape[axis]
    eps = eps_of(a.t.dtype)
    k = int(g.rng.integers(3))
    if k == 0:
        t = sg.nn.softmax(a.t, axis=axis)
        return g.make(t, 1.0, 0.0, 2 * a.absolute() + APPROX_ULPS * eps + eps * _order_spread(n), a.smooth)
    if k == 2 and a.bound > (40.0 if a.t.dtype == np.float32 else 350.0):
        raise Reject  # log(softmax) underflows to -inf at O0 where O1's log_softmax is finite: by design
    t = sg.nn.log_softmax(a.t, axis=axis) if k == 1 else sg.log(sg.nn.softmax(a.t, axis=axis))
    bound = 2 * a.bound + math.log(max(n, 1)) + 1
    return g.make(t, bound, 2 * a.absolute() + 2 * eps * _order_spread(n), APPROX_ULPS * eps, a.smooth)


# ---------------------------------------------------------------- shape ops


def _same(g: RandomGraph, a: Value, t: sg.Tensor) -> Value:
    """A node holding ``a``'s values moved around: same bounds."""
    return g.make(t, a.bound, a.abs_err, a.rel_err, a.smooth)


def _reshape(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) > 0)
    nd = len(a.shape)
    dims = list(a.declared)
    k = int(rng.integers(4))
    if k == 0:
        spec = (-1,)
    elif k == 1 and nd >= 2:  # merge two adjacent axes
        i = int(rng.integers(nd - 1))
        spec = tuple(dims[:i]) + (-1,) + tuple(dims[i + 2 :])
    elif k == 2:  # split a static axis, or add unit axes
        i = int(rng.integers(nd))
        if isinstance(dims[i], int) and dims[i] % 2 == 0 and dims[i] > 0:
            spec = tuple(dims[:i]) + (2, -1) + tuple(dims[i + 1 :])
        else:
            spec = tuple(dims[:i]) + (1, dims[i], 1) + tuple(dims[i + 1 :])
    else:  # a reshape chain back to the same shape
        return _same(g, a, sg.reshape(sg.reshape(a.t, (-1,)), tuple(dims)))
    if -1 in spec and spec != (-1,) and math.prod(a.shape) == 0:
        raise Reject  # -1 beside a size of 0 is ambiguous
    return _same(g, a, sg.reshape(a.t, spec))


def _permute(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) >= 2)
    nd = len(a.shape)
    k = int(rng.integers(4))
    if k == 0:
        t = sg.transpose(a.t, tuple(int(p) for p in rng.permutation(nd)))
        if rng.random() < 0.2:
            t = sg.transpose(t)
    elif k == 1:
        t = sg.transpose(a.t)
    elif k == 2:
        i, j = (int(v) for v in rng.choice(nd, size=2, replace=False))
        t = sg.swapaxes(a.t, i, j)
    else:
        i, j = (int(v) for v in rng.choice(nd, size=2, replace=False))
        t = sg.moveaxis(a.t, i, j)
    return _same(g, a, t)


def _expand_squeeze(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) <= 3)
    ones = [i for i, d in enumerate(a.declared) if isinstance(d, int) and d == 1]
    if ones and rng.random() < 0.5:
        return _same(g, a, sg.squeeze(a.t, axis=int(rng.choice(ones))))
    return _same(g, a, sg.expand_dims(a.t, int(rng.integers(-len(a.shape) - 1, len(a.shape) + 1))))


def _broadcast_to(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) <= 3)
    target = []
    for d in a.declared:
        if isinstance(d, int) and d == 1 and rng.random() < 0.5:
            k = int(rng.integers(3))
            target.append(g.dims[k] if k in g.bound_dims and rng.random() < 0.5 else g.sizes[k])
        else:
            target.append(d)
    if rng.random() < 0.6:
        k = int(rng.integers(3))
        target.insert(0, g.dims[k] if k in g.bound_dims and rng.random() < 0.5 else g.sizes[k])
    return _same(g, a, sg.broadcast_to(a.t, tuple(target)))


def _join(g: RandomGraph) -> Value:
    """concatenate or stack ``a`` with a node of the same shape (along the axis, any size)."""
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) >= 1)
    nd = len(a.shape)
    stack = rng.random() < 0.35
    axis = int(rng.integers(-nd - 1, nd + 1)) if stack else int(rng.integers(-nd, nd))
    ax = axis % nd if not stack else None

    def compatible(n: Value) -> bool:
        if n.kind != a.kind or len(n.shape) != nd:
            return False
        return all(i == ax or d == e for i, (d, e) in enumerate(zip(a.declared, n.declared)))

    others = [g.pick(compatible) for _ in range(int(rng.integers(1, 3)))]
    parts = [a, *others]
    rng.shuffle(parts)
    t = sg.stack([p.t for p in parts], axis=axis) if stack else sg.concatenate([p.t for p in parts], axis=axis)
    return g.make(
        t,
        max(p.bound for p in parts),
        max(p.abs_err for p in parts),
        max(p.rel_err for p in parts),
        all(p.smooth for p in parts),
    )


def _rearrange(g: RandomGraph) -> Value:
    """flip, tile, repeat, pad or split."""
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) >= 1)
    nd = len(a.shape)
    k = int(rng.integers(5))
    if k == 0:
        r = rng.random()
        axis = None if r < 0.3 else (int(rng.integers(-nd, nd)) if r < 0.8 or nd < 2 else (0, nd - 1))
        return _same(g, a, sg.flip(a.t, axis=axis))
    if k == 1:
        reps = tuple(int(r) for r in rng.integers(1, 4, size=int(rng.integers(1, nd + 2))))
        return _same(g, a, sg.tile(a.t, reps))
    if k == 2:
        axis = None if rng.random() < 0.2 else int(rng.integers(-nd, nd))
        return _same(g, a, sg.repeat(a.t, int(rng.integers(0, 4)), axis=axis))
    if k == 3:
        widths = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(nd))
        mode = str(rng.choice(["constant", "constant", "edge", "reflect", "symmetric"]))
        if mode == "constant":
            c = float(rng.choice([0.0, 1.0, -2.5, np.nan])) if a.kind == "f" else int(rng.integers(-3, 4))
            t = sg.pad(a.t, widths, constant_values=c)
            return g.make(t, max(a.bound, 2.5), a.abs_err, a.rel_err, a.smooth)
        padded = [(max(w), n) for w, n in zip(widths, a.shape) if max(w) > 0]
        if any(n == 0 for _, n in padded):
            raise Reject  # an empty axis has no edge to extend
        if any(w > n - (1 if mode == "reflect" else 0) for w, n in padded) and mode != "edge":
            raise Reject  # wider than the axis: symgraph refuses to mirror more than once
        return _same(g, a, sg.pad(a.t, widths, mode=mode))
    axis = int(rng.integers(-nd, nd))
    cuts = sorted(int(c) for c in rng.integers(0, a.shape[axis] + 2, size=int(rng.integers(1, 3))))
    pieces = sg.split(a.t, cuts, axis=axis)
    return _same(g, a, pieces[int(rng.integers(len(pieces)))])


# ---------------------------------------------------------------- indexing


def _slice_entry(rng: np.random.Generator, n: int):
    r = rng.random()
    if r < 0.25:
        return slice(None)
    if r < 0.4 and n > 0:
        return int(rng.integers(-n, n))
    start = None if rng.random() < 0.3 else int(rng.integers(-n - 2, n + 3))
    stop = None if rng.random() < 0.3 else int(rng.integers(-n - 2, n + 3))
    step = None if rng.random() < 0.4 else int(rng.choice([1, 2, 3, -1, -2]))
    return slice(start, stop, step)


def _getitem(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) >= 1)
    index = [_slice_entry(rng, s) for s in a.shape[: int(rng.integers(1, len(a.shape) + 1))]]
    if rng.random() < 0.15:
        index.insert(int(rng.integers(len(index) + 1)), None)
    if rng.random() < 0.1 and len(index) < len(a.shape):
        index = [Ellipsis, *index]
    return _same(g, a, a.t[tuple(index)])


def _take(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: len(n.shape) >= 1)
    nd = len(a.shape)
    axis = int(rng.integers(-nd, nd))
    n = a.shape[axis]
    if n == 0:
        raise Reject
    r = rng.random()
    if r < 0.4:
        idx = g.index_input(n)
        t = sg.take(a.t, idx.t, axis=axis)
    elif r < 0.7:
        idx = rng.integers(-n, n, size=tuple(int(s) for s in rng.integers(0, 4, size=int(rng.integers(0, 3)))))
        t = sg.take(a.t, sg.constant(idx.astype("int64")), axis=axis)
    else:  # take_along_axis with the order of an exact node of a's shape
        key = g.pick(lambda m: m.exact and m.kind in "fi" and m.declared == a.declared)
        order = sg.argsort(key.t, axis=axis, descending=bool(rng.random() < 0.3))
        t = sg.take_along_axis(a.t, order, axis=axis)
    return _same(g, a, t)


def _sort(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.exact and n.kind in "fi" and len(n.shape) >= 1)
    nd = len(a.shape)
    k = int(rng.integers(3))
    if k == 0:
        axis = None if rng.random() < 0.2 else int(rng.integers(-nd, nd))
        return _same(g, a, sg.sort(a.t, axis=axis, descending=bool(rng.random() < 0.3)))
    if k == 1:
        axis = None if rng.random() < 0.2 else int(rng.integers(-nd, nd))
        n = math.prod(a.shape) if axis is None else a.shape[axis]
        return g.make(sg.argsort(a.t, axis=axis, descending=bool(rng.random() < 0.3)), float(n))
    n = a.shape[-1]
    values, indices = sg.top_k(a.t, int(rng.integers(0, n + 1)))
    return _same(g, a, values) if rng.random() < 0.6 else g.make(indices, float(n))


def _one_hot(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind == "i" and len(n.shape) <= 2)
    k = int(rng.integers(3))
    depth = g.dims[k] if k in g.bound_dims and rng.random() < 0.4 else int(rng.integers(1, 7))
    dtype = str(rng.choice(["float32", "float64", "int32"]))
    axis = int(rng.integers(-len(a.shape) - 1, len(a.shape) + 1))
    return g.make(sg.one_hot(a.t, depth, dtype=dtype, axis=axis), 1.0)


def _scatter_add(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind in "fi" and len(n.shape) >= 1 and n.shape[0] > 0)
    n = a.shape[0]
    m = int(rng.integers(0, 6))
    distinct = rng.random() < 0.5 and m <= n
    idx = rng.choice(n, size=m, replace=not distinct) if m else np.zeros(0, "int64")
    idx = np.where(rng.random(m) < 0.3, idx - n, idx)  # negative indices count from the end
    upd_shape = (m, *a.shape[1:])
    u = rng.uniform(-2, 2, size=upd_shape)
    u = (np.round(u * 2) / 2 if a.kind == "f" else np.round(u)).astype(str(a.t.dtype))
    t = sg.scatter_add(a.t, sg.constant(idx.astype("int64")), sg.constant(u))
    bound = a.bound + 2.0 * max(m, 1)
    if a.kind != "f" or (a.exact and distinct):
        return g.make(t, bound, smooth=a.smooth)
    eps = eps_of(a.t.dtype)
    return g.make(t, bound, a.absolute() + eps * bound * _order_spread(m + 1), eps, a.smooth)


# ---------------------------------------------------------------- products


def _matmul(g: RandomGraph) -> Value:
    rng = g.rng
    a = g.pick(lambda n: n.kind in "fi" and 1 <= len(n.shape) <= 3)
    kdim, ksize = a.declared[-1], a.shape[-1]
    r = rng.random()
    if r < 0.35:
        cols = int(rng.choice([1, 3, *g.sizes]))
        shape = (ksize, cols) if rng.random() < 0.8 else (ksize,)
        if not isinstance(kdim, int) or math.prod(shape) > 1 << 17:
            raise Reject  # a constant's size is static
        w = rng.uniform(-1, 1, size=shape)
        w = (np.round(w * 4) if a.kind == "i" else w).astype(str(a.t.dtype))
        b = Value(sg.constant(w), shape, float(np.abs(w).max(initial=0.0)))
    elif r < 0.55 and len(a.shape) >= 2:  # a @ a^T
        nd = len(a.shape)
        t = sg.swapaxes(a.t, nd - 1, nd - 2)
        b = Value(t, a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.bound, a.abs_err, a.rel_err, a.smooth)
    else:
        b = g.pick(
            lambda n: (
                n.kind == a.kind
                and 1 <= len(n.shape) <= 3
                and (n.declared[-1] if len(n.shape) == 1 else n.declared[-2]) == kdim
            )
        )
    # batch axes broadcast like elementwise ones: a symbolic batch size of 1 against another
    # size raises ShapeError in both modes (a graph that always raises would cost a batch)
    _broadcast([(v.shape[:-2], v.declared[:-2]) for v in (a, b) if len(v.shape) > 2])
    x, y = a.t, b.t
    if x.dtype != y.dtype:
        y = sg.cast(y, x.dtype)
    k = int(rng.integers(4))
    if k == 0 and len(a.shape) >= 1 and len(b.shape) >= 1:
        t = sg.dot(x, y)
    elif k == 1 and len(b.shape) <= 2:
        t = sg.tensordot(x, y, axes=([len(a.shape) - 1], [0]))
    else:
        t = sg.matmul(x, y)
    bound = ksize * a.bound * b.bound
    if a.kind != "f":
        return g.make(t, bound)
    eps = eps_of(t.dtype)
    spread = ksize * (_times(a.absolute(), b.bound) + _times(b.absolute(), a.bound))
    spread += eps * ksize * a.bound * b.bound * _order_spread(ksize)
    return g.make(t, bound, spread, eps, a.smooth and b.smooth)


OPS: list[tuple[str, Callable[[RandomGraph], Value]]] = [
    ("unary", _unary),
    ("binary", _binary),
    ("compare", _compare),
    ("logical", _logical),
    ("where", _where),
    ("cast", _cast),
    ("reduce", _reduce),
    ("cumulative", _cumulative),
    ("softmax", _softmax),
    ("reshape", _reshape),
    ("permute", _permute),
    ("expand_squeeze", _expand_squeeze),
    ("broadcast_to", _broadcast_to),
    ("join", _join),
    ("rearrange", _rearrange),
    ("getitem", _getitem),
    ("take", _take),
    ("sort", _sort),
    ("one_hot", _one_hot),
    ("scatter_add", _scatter_add),
    ("matmul", _matmul),
]
_WEIGHTS = {"unary": 6, "binary": 6, "compare": 2, "where": 2, "reduce": 3, "matmul": 2}
OP_ODDS = np.array([_WEIGHTS.get(name, 1) for name, _ in OPS], dtype=float)
OP_ODDS /= OP_ODDS.sum()
