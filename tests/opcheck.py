"""Checking ops against numpy and gradients against finite differences.

A ``Case`` describes one public function: how to call it on symbolic tensors (``fn``),
the numpy expression it must match (``ref``), and the argument shapes to try. The
checks build placeholders for the arguments (once with static shapes, once with every
dimension symbolic), compile with ``sg.function`` in each mode, call on random data
(contiguous and strided), and compare with the reference.

Gradients are checked in float64 by central differences along random directions:
for a random output weighting v and input direction u, d/de sum(v * f(x + e u)) at
e = 0 must equal <grad(sum(v * f(x))), u>.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symgraph as sg

MODES = ("py",)

# shape groups: 0-d, size-0, broadcast groups (3,4)/(3,1)/(1,4), rank 3
UNARY = [((3, 4),), ((),), ((0, 3),), ((2, 3, 5),)]
BINARY = [((3, 4), (3, 4)), ((3, 4), (3, 1)), ((3, 1), (1, 4)), ((), (3,)), ((0, 4), (1, 4)), ((2, 1, 5), (3, 1))]
TERNARY = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ()), ((2, 3), (3,), (2, 1))]

Sampler = Callable[[np.random.Generator, tuple, np.dtype], np.ndarray]


def normal(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        low = 0 if dtype.kind == "u" else -5
        return rng.integers(low, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def uniform(low: float, high: float) -> Sampler:
    def sample(rng, shape, dtype):
        return rng.uniform(low, high, size=shape).astype(dtype)

    return sample


def positive(rng, shape, dtype):
    return rng.uniform(0.5, 2.0, size=shape).astype(dtype)


def away_from_zero(rng, shape, dtype):
    """Values in +-[0.5, 2], for ops with a kink or pole at 0."""
    magnitude = rng.uniform(0.5, 2.0, size=shape)
    return (magnitude * rng.choice([-1.0, 1.0], size=shape)).astype(dtype)


def integers(low: int, high: int) -> Sampler:
    def sample(rng, shape, dtype):
        return rng.integers(low, high, size=shape).astype(dtype)

    return sample


@dataclasses.dataclass
class Case:
    """One function checked against numpy on several argument shapes.

    ``dtypes`` gives each argument's dtype (one string for all). ``samplers`` gives each
    argument's sampler (one for all). ``grad_args`` lists the arguments to differentiate
    (None: every float argument; () for none). ``ref64`` computes the reference in
    float64 (for reductions). ``symbolic`` also runs with every dimension symbolic.
    """

    name: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: Sequence[tuple[tuple[int, ...], ...]]
    dtypes: str | tuple[str, ...] = "float32"
    samplers: Sampler | tuple[Sampler, ...] = normal
    grad_args: tuple[int, ...] | None = None
    grad_shapes: Sequence[tuple[tuple[int, ...], ...]] | None = None
    ref64: bool = False
    symbolic: bool = True
    rtol: float = 1.3e-6
    atol: float = 1e-5
    grad_rtol: float = 1e-5

    def __str__(self) -> str:
        return self.name

    def arg_dtypes(self, n: int, override: str | None = None) -> list[np.dtype]:
        names = [self.dtypes] * n if isinstance(self.dtypes, str) else list(self.dtypes)
        result = [np.dtype(d) for d in names]
        if override is not None:
            result = [np.dtype(override) if d.kind == "f" else d for d in result]
        return result

    def arg_samplers(self, n: int) -> list[Sampler]:
        return [self.samplers] * n if callable(self.samplers) else list(self.samplers)

    def sample(self, rng: np.random.Generator, shapes: tuple, dtype_override: str | None = None) -> list[np.ndarray]:
        dts = self.arg_dtypes(len(shapes), dtype_override)
        return [
            np.asarray(s(rng, shape, dt)).astype(dt)
            for s, shape, dt in zip(self.arg_samplers(len(shapes)), shapes, dts)
        ]


def placeholders_for(arrays: Sequence[np.ndarray], symbolic: bool) -> list[sg.Tensor]:
    """Placeholders for ``arrays``; symbolic ones keep size-1 axes static (the axes
    that broadcast), as a user declares them."""
    return [
        sg.placeholder(tuple(1 if d == 1 else None for d in a.shape) if symbolic else a.shape, a.dtype, name=f"arg{i}")
        for i, a in enumerate(arrays)
    ]


def strided(a: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other element of a larger array)."""
    if a.ndim == 0 or a.size == 0:
        return a
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    view = big[..., ::2]
    assert not view.flags.c_contiguous or a.shape[-1] == 1
    return view


def evaluate(fn: Callable, arrays: Sequence[np.ndarray], mode: str, symbolic: bool) -> list[np.ndarray]:
    phs = placeholders_for(arrays, symbolic)
    out = fn(*phs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    f = sg.function(phs, outs, mode=mode)
    return f(*arrays)


def check_reference(case: Case, shapes: tuple, mode: str, symbolic: bool, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    arrays = case.sample(rng, shapes)
    ref_args = [a.astype(np.float64) if case.ref64 and a.dtype.kind == "f" else a for a in arrays]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own warnings on empty or NaN data
        expected = case.ref(*ref_args)
    expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    for variant in (arrays, [strided(a) for a in arrays]):
        got = evaluate(case.fn, variant, mode, symbolic)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            e = np.asarray(e)
            assert g.shape == e.shape, f"{case.name}: shape {g.shape} != numpy's {e.shape}"
            if e.dtype.kind in "biu" or g.dtype.kind in "biu":
                np.testing.assert_array_equal(g, e, err_msg=case.name)
            else:
                np.testing.assert_allclose(
                    g, e.astype(g.dtype) if not case.ref64 else e, rtol=case.rtol, atol=case.atol, err_msg=case.name
                )


def projected_cost(case: Case, shapes: tuple, rng: np.random.Generator):
    """(placeholders, float64 arrays, indices of the arguments to differentiate, cost):
    the cost is sum(v * f(x)) for a random weighting v of every float output; None when
    nothing is differentiable."""
    arrays = case.sample(rng, shapes, dtype_override="float64")
    which = case.grad_args
    if which is None:
        which = tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")
    if not which:
        return None
    phs = placeholders_for(arrays, symbolic=False)
    out = case.fn(*phs)
    outs = [o for o in (list(out) if isinstance(out, (list, tuple)) else [out]) if o.dtype.kind == "f"]
    cost = sum(sg.sum(o * rng.standard_normal(_static(o.shape))) for o in outs)
    return phs, arrays, which, cost


def check_grad(case: Case, shapes: tuple, order: int = 1, seed: int = 0, mode: str = "py") -> None:
    """Symbolic gradients (of order 1 or 2) against central differences in float64."""
    rng = np.random.default_rng(seed)
    projected = projected_cost(case, shapes, rng)
    if projected is None:
        return
    phs, arrays, which, cost = projected
    wrt = [phs[i] for i in which]
    grads = sg.grad(cost, wrt)
    if order == 2:
        # the function checked becomes c2(x) = sum(w2 * grad(cost)), whose gradient is
        # a second derivative of the case's function
        weights2 = [rng.standard_normal(_static(g.shape)) for g in grads]
        cost = sum(sg.sum(g * w) for g, w in zip(grads, weights2))
        grads = sg.grad(cost, wrt, disconnected="zero")
    f_cost = sg.function(phs, cost, mode=mode)
    f_grad = sg.function(phs, grads, mode=mode)
    symbolic = f_grad(*arrays)
    eps = 1e-6 if order == 1 else 1e-5
    for _ in range(2):
        directions = [rng.standard_normal(arrays[i].shape) for i in which]
        plus, minus = list(arrays), list(arrays)
        for i, d in zip(which, directions):
            plus[i] = arrays[i] + eps * d
            minus[i] = arrays[i] - eps * d
        numeric = (float(f_cost(*plus)) - float(f_cost(*minus))) / (2 * eps)
        analytic = float(sum(np.sum(g * d) for g, d in zip(symbolic, directions)))
        scale = max(abs(numeric), abs(analytic), 1.0)
        tolerance = case.grad_rtol
        assert abs(numeric - analytic) <= tolerance * scale, (
            f"{case.name} (order {order}): directional derivative {analytic!r} (symbolic) "
            f"vs {numeric!r} (finite differences)"
        )


def _static(shape: tuple) -> tuple[int, ...]:
    assert all(isinstance(d, int) for d in shape)
    return tuple(shape)


def ops_in(case: Case) -> set[str]:
    """The op names the graphs of ``case`` use, on each of its argument shapes."""
    from symgraph.graph.traversal import toposort

    names: set[str] = set()
    for shapes in case.shapes:
        arrays = case.sample(np.random.default_rng(0), shapes)
        out = case.fn(*placeholders_for(arrays, symbolic=False))
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        names |= {n.op.name for n in toposort(outs)}
    return names


# --- the compiled backend: one unit per case, all its shape groups at once ----------
#
# Building a C unit costs ~0.2 s, so the "c" checks compile one function per case whose
# inputs are every shape group's placeholders and whose outputs are every group's
# results (or gradients), then compare group by group.


def check_case_in_c(case: Case, symbolic: bool, seed: int = 0) -> None:
    """Every shape group of ``case`` in mode "c" against numpy, contiguous and strided."""
    groups = [case.sample(np.random.default_rng(seed + g), shapes) for g, shapes in enumerate(case.shapes)]
    phs, outs, counts = [], [], []
    for arrays in groups:
        group_phs = placeholders_for(arrays, symbolic)
        out = case.fn(*group_phs)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        phs += group_phs
        outs += out
        counts.append(len(out))
    f = sg.function(phs, outs, mode="c")
    for variant in (lambda a: a, strided):
        flat = [variant(a) for arrays in groups for a in arrays]
        got = f(*flat)
        start = 0
        for shapes, arrays, n in zip(case.shapes, groups, counts):
            ref_args = [a.astype(np.float64) if case.ref64 and a.dtype.kind == "f" else a for a in arrays]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = case.ref(*ref_args)
            expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
            for g, e in zip(got[start : start + n], expected):
                _assert_close(case, shapes, g, np.asarray(e))
            start += n


def check_case_grads_in_c(case: Case, seed: int = 0) -> None:
    """The gradients of every shape group of ``case`` in "c" equal those in "py"."""
    phs, grads = [], []
    arrays_all = []
    for g, shapes in enumerate(case.grad_shapes or case.shapes):
        if any(0 in s for s in shapes):
            continue
        projected = projected_cost(case, shapes, np.random.default_rng(seed + g))
        if projected is None:
            continue
        group_phs, arrays, which, cost = projected
        grads += sg.grad(cost, [group_phs[i] for i in which])
        phs += group_phs
        arrays_all += arrays
    if not grads:
        return
    in_c = sg.function(phs, grads, mode="c")(*arrays_all)
    in_py = sg.function(phs, grads, mode="py")(*arrays_all)
    for c, p in zip(in_c, in_py):
        np.testing.assert_allclose(c, p, rtol=1e-10, atol=1e-12, err_msg=f"{case.name}: gradient in c vs py")


def _assert_close(case: Case, shapes: tuple, got: np.ndarray, expected: np.ndarray) -> None:
    label = f"{case.name} {shapes}"
    assert got.shape == expected.shape, f"{label}: shape {got.shape} != numpy's {expected.shape}"
    if expected.dtype.kind in "biu" or got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected, err_msg=label)
    else:
        want = expected if case.ref64 else expected.astype(got.dtype)
        np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol, err_msg=label)
