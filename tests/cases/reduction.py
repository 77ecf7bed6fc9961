"""Test rows for reductions, cumulative ops and matrix products."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import UNARY, Case, uniform

RANK3 = [((2, 3, 5),)]
MATRIX = [((3, 4),), ((2, 3, 5),)]
WITH_EMPTY = [((3, 4),), ((2, 3, 5),), ((0, 3),)]


def planted_zeros(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Normal values with about a third of them exactly 0 (slices with one zero and
    with several), for the zero-safe gradients of prod and cumprod."""
    a = rng.standard_normal(shape)
    a[rng.random(shape) < 0.35] = 0
    return a.astype(dtype)


def with_infinities(rng: np.random.Generator, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Normal values, the first row all -inf and one -inf elsewhere (logsumexp)."""
    a = rng.standard_normal(shape)
    a[0] = -np.inf
    a.flat[-1] = -np.inf
    return a.astype(dtype)


def np_logsumexp(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """scipy's logsumexp in numpy: -inf for an all -inf slice or an empty one."""
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def np_scan(fn, x: np.ndarray, axis: int, exclusive: bool = False, reverse: bool = False) -> np.ndarray:
    """cumsum/cumprod with TF's exclusive and reverse options."""
    moved = np.moveaxis(x, axis, -1)
    if reverse:
        moved = moved[..., ::-1]
    out = fn(moved, axis=-1)
    if exclusive:
        identity = np.ones_like(out[..., :1]) if fn is np.cumprod else np.zeros_like(out[..., :1])
        out = np.concatenate([identity, out[..., :-1]], axis=-1)
    if reverse:
        out = out[..., ::-1]
    return np.moveaxis(out, -1, axis)


def _reduction_rows(name: str, fn, ref, **kw) -> list[Case]:
    """One op over every axis form: None, int, negative, tuple, keepdims, 0-d, size-0."""
    return [
        Case(f"{name}_all", fn, ref, UNARY, **kw),
        Case(f"{name}_axis1", lambda x: fn(x, axis=1), lambda x: ref(x, axis=1), WITH_EMPTY, **kw),
        Case(f"{name}_axis0", lambda x: fn(x, axis=0), lambda x: ref(x, axis=0), [((3, 4),), ((0, 3),)], **kw),
        Case(f"{name}_axis_neg", lambda x: fn(x, axis=-1), lambda x: ref(x, axis=-1), MATRIX, **kw),
        Case(f"{name}_axis_tuple", lambda x: fn(x, axis=(0, 2)), lambda x: ref(x, axis=(0, 2)), RANK3, **kw),
        Case(f"{name}_axis_tuple_neg", lambda x: fn(x, axis=(-1, 1)), lambda x: ref(x, axis=(-1, 1)), RANK3, **kw),
        Case(
            f"{name}_keepdims",
            lambda x: fn(x, axis=1, keepdims=True),
            lambda x: ref(x, axis=1, keepdims=True),
            WITH_EMPTY,
            **kw,
        ),
        Case(
            f"{name}_keepdims_all",
            lambda x: fn(x, keepdims=True),
            lambda x: ref(x, keepdims=True),
            [((3, 4),), ((),), ((2, 3, 5),)],
            **kw,
        ),
        Case(f"{name}_axis_empty_tuple", lambda x: fn(x, axis=()), lambda x: ref(x, axis=()), [((3, 4),)], **kw),
    ]


NONEMPTY_UNARY = [((3, 4),), ((),), ((2, 3, 5),)]


def _nonempty(rows: list[Case]) -> list[Case]:
    """Rows without shapes whose reduced axis is empty (max/min have no identity)."""
    for row in rows:
        if row.name.endswith("_all") or row.name.endswith("_keepdims_all"):
            row.shapes = NONEMPTY_UNARY
        elif row.name.endswith("_axis0"):
            row.shapes = [((3, 4),), ((3, 0),)]  # size-0 kept axis: defined
    return rows


CASES: list[Case] = [
    # sum and prod (identities 0 and 1: defined on empty axes)
    *_reduction_rows("sum", sg.sum, np.sum, ref64=True),
    Case("sum_int32", lambda x: sg.sum(x, axis=1), lambda x: np.sum(x, axis=1), WITH_EMPTY, dtypes="int32"),
    Case("sum_bool", sg.sum, np.sum, UNARY, dtypes="bool"),
    Case("sum_uint8", lambda x: sg.sum(x, axis=0), lambda x: np.sum(x, axis=0), [((3, 4),)], dtypes="uint8"),
    *_reduction_rows("prod", sg.prod, np.prod, ref64=True),
    Case(
        "prod_zeros",
        lambda x: sg.prod(x, axis=1),
        lambda x: np.prod(x, axis=1),
        [((6, 5),), ((2, 6, 4),)],
        samplers=planted_zeros,
        ref64=True,
    ),
    Case("prod_zeros_all", sg.prod, np.prod, [((3, 2),), ((2, 2, 2),)], samplers=planted_zeros, ref64=True),
    Case(
        "prod_zeros_tuple",
        lambda x: sg.prod(x, axis=(0, 2), keepdims=True),
        lambda x: np.prod(x, axis=(0, 2), keepdims=True),
        [((2, 3, 3),)],
        samplers=planted_zeros,
        ref64=True,
    ),
    Case("prod_int32", lambda x: sg.prod(x, axis=1), lambda x: np.prod(x, axis=1), WITH_EMPTY, dtypes="int32"),
    Case("prod_bool", sg.prod, np.prod, [((3, 4),)], dtypes="bool"),
    # max and min (no identity: an empty reduced axis is an error, an empty kept axis is not)
    *_nonempty(_reduction_rows("max", sg.max, np.max)),
    *_nonempty(_reduction_rows("min", sg.min, np.min)),
    Case("max_int32", lambda x: sg.max(x, axis=1), lambda x: np.max(x, axis=1), MATRIX, dtypes="int32"),
    Case("min_bool", lambda x: sg.min(x, axis=0), lambda x: np.min(x, axis=0), MATRIX, dtypes="bool"),
    Case(
        "max_ties",  # the gradient is shared evenly among tied maxima
        lambda x: sg.max(x, axis=1),
        lambda x: np.max(x, axis=1),
        [((3, 4),)],
        samplers=lambda rng, shape, dtype: np.round(rng.standard_normal(shape)).astype(dtype),
        grad_args=(),
    ),
    # any and all
    *_reduction_rows("any", sg.any, np.any, dtypes="bool", grad_args=()),
    *_reduction_rows("all", sg.all, np.all, dtypes="bool", grad_args=()),
    Case(
        "any_float",
        lambda x: sg.any(x, axis=1),
        lambda x: np.any(x, axis=1),
        [((6, 5),)],
        samplers=planted_zeros,
        grad_args=(),
    ),
    Case("all_int", lambda x: sg.all(x, axis=0), lambda x: np.all(x, axis=0), MATRIX, dtypes="int32"),
    # argmax and argmin (int64 indices; axis None flattens)
    *[
        Case(f"{name}{suffix}", fn, ref, shapes, grad_args=(), **kw)
        for name, op, np_op in (("argmax", sg.argmax, np.argmax), ("argmin", sg.argmin, np.argmin))
        for suffix, fn, ref, shapes, kw in (
            ("_all", op, np_op, NONEMPTY_UNARY, {}),
            ("_axis0", lambda x, op=op: op(x, 0), lambda x, f=np_op: f(x, 0), [((3, 4),), ((3, 0),)], {}),
            ("_axis_neg", lambda x, op=op: op(x, -1), lambda x, f=np_op: f(x, -1), MATRIX, {}),
            (
                "_keepdims",
                lambda x, op=op: op(x, 1, keepdims=True),
                lambda x, f=np_op: f(x, 1, keepdims=True),
                MATRIX,
                {},
            ),
            (
                "_keepdims_all",
                lambda x, op=op: op(x, keepdims=True),
                lambda x, f=np_op: f(x, keepdims=True),
                NONEMPTY_UNARY,
                {},
            ),
            ("_int32", lambda x, op=op: op(x, 1), lambda x, f=np_op: f(x, 1), MATRIX, {"dtypes": "int32"}),
            ("_1d", op, np_op, [((7,),)], {}),
        )
    ],
    # composites: mean, var, std, logsumexp
    *_reduction_rows("mean", sg.mean, np.mean, ref64=True),
    Case("mean_int32", lambda x: sg.mean(x, axis=1), lambda x: np.mean(x, axis=1), MATRIX, dtypes="int32", ref64=True),
    *_reduction_rows("var", sg.var, np.var, ref64=True),
    Case(
        "var_ddof1",
        lambda x: sg.var(x, axis=1, ddof=1),
        lambda x: np.var(x, axis=1, ddof=1),
        MATRIX,
        ref64=True,
    ),
    Case(
        "var_ddof1_all_keepdims",
        lambda x: sg.var(x, ddof=1, keepdims=True),
        lambda x: np.var(x, ddof=1, keepdims=True),
        MATRIX,
        ref64=True,
    ),
    Case("std", lambda x: sg.std(x, axis=1), lambda x: np.std(x, axis=1), WITH_EMPTY, ref64=True),
    Case("std_all", sg.std, np.std, [((3, 4),), ((2, 3, 5),)], ref64=True),
    Case(
        "std_ddof1_tuple",
        lambda x: sg.std(x, axis=(0, 2), ddof=1),
        lambda x: np.std(x, axis=(0, 2), ddof=1),
        RANK3,
        ref64=True,
    ),
    Case(
        "std_keepdims",
        lambda x: sg.std(x, axis=-1, keepdims=True),
        lambda x: np.std(x, axis=-1, keepdims=True),
        MATRIX,
        ref64=True,
    ),
    *_nonempty(_reduction_rows("logsumexp", sg.logsumexp, np_logsumexp, ref64=True)),
    Case(
        "logsumexp_neg_inf",
        lambda x: sg.logsumexp(x, axis=1),
        lambda x: np_logsumexp(x, axis=1),
        [((3, 4),), ((2, 3, 5),)],
        samplers=with_infinities,
        grad_args=(),
        ref64=True,
    ),
    Case(
        "logsumexp_large",
        lambda x: sg.logsumexp(x, axis=-1),
        lambda x: np_logsumexp(x, axis=-1),
        [((3, 4),)],
        samplers=uniform(500.0, 520.0),
        ref64=True,
        rtol=1e-6,
    ),
    Case(
        "logsumexp_empty",  # static size 0: -inf, as scipy's logsumexp
        lambda x: sg.logsumexp(x, axis=0),
        lambda x: np_logsumexp(x, axis=0),
        [((0, 3),)],
        ref64=True,
        symbolic=False,
    ),
    # cumulative sums and products
    Case("cumsum_flat", sg.cumsum, np.cumsum, UNARY, ref64=True),
    Case("cumsum_axis0", lambda x: sg.cumsum(x, 0), lambda x: np.cumsum(x, 0), [*WITH_EMPTY, ((),)], ref64=True),
    Case("cumsum_axis_neg", lambda x: sg.cumsum(x, -1), lambda x: np.cumsum(x, -1), WITH_EMPTY, ref64=True),
    Case("cumsum_int32", lambda x: sg.cumsum(x, 1), lambda x: np.cumsum(x, 1), MATRIX, dtypes="int32"),
    Case("cumsum_bool", sg.cumsum, np.cumsum, [((3, 4),)], dtypes="bool"),
    Case("cumprod_flat", sg.cumprod, np.cumprod, UNARY, ref64=True),
    Case("cumprod_axis0", lambda x: sg.cumprod(x, 0), lambda x: np.cumprod(x, 0), [*WITH_EMPTY, ((),)], ref64=True),
    Case("cumprod_axis_neg", lambda x: sg.cumprod(x, -1), lambda x: np.cumprod(x, -1), WITH_EMPTY, ref64=True),
    Case(
        "cumprod_zeros",
        lambda x: sg.cumprod(x, 1),
        lambda x: np.cumprod(x, 1),
        [((6, 5),), ((2, 6, 4),)],
        samplers=planted_zeros,
        ref64=True,
    ),
    Case("cumprod_zeros_flat", sg.cumprod, np.cumprod, [((12,),), ((3, 4),)], samplers=planted_zeros, ref64=True),
    Case("cumprod_int32", lambda x: sg.cumprod(x, 0), lambda x: np.cumprod(x, 0), MATRIX, dtypes="int32"),
    *[
        Case(
            f"{name}_{'exclusive' if exclusive else 'inclusive'}{'_reverse' if reverse else ''}",
            lambda x, op=op, e=exclusive, r=reverse: op(x, 1, exclusive=e, reverse=r),
            lambda x, f=np_op, e=exclusive, r=reverse: np_scan(f, x, 1, e, r),
            [((3, 5),), ((2, 4, 3),), ((3, 0),)] if name == "cumsum" else [((6, 5),), ((2, 4, 3),)],
            samplers=planted_zeros,
            ref64=True,
        )
        for name, op, np_op in (("cumsum", sg.cumsum, np.cumsum), ("cumprod", sg.cumprod, np.cumprod))
        for exclusive, reverse in ((False, True), (True, False), (True, True))
    ],
    # matrix products
    Case(
        "matmul",
        sg.matmul,
        np.matmul,
        [
            ((3, 4), (4, 5)),
            ((2, 3, 4), (4, 5)),
            ((4,), (4, 5)),
            ((3, 4), (4,)),
            ((4,), (4,)),
            ((4,), (2, 4, 3)),
            ((2, 1, 3, 4), (5, 4, 2)),
            ((0, 4), (4, 3)),
            ((3, 0), (0, 2)),
        ],
        ref64=True,
    ),
    Case("matmul_int32", sg.matmul, np.matmul, [((3, 4), (4, 5)), ((2, 3, 4), (4,))], dtypes="int32"),
    Case("matmul_operator", lambda a, b: a @ b, np.matmul, [((3, 4), (4, 5))], ref64=True),
    # transposes of the last two axes ride along as BLAS flags (MatMul.transpose_a/_b)
    Case("matmul_a_bT", lambda a, b: a @ sg.transpose(b), lambda a, b: a @ b.T, [((3, 4), (5, 4))], ref64=True),
    Case("matmul_aT_b", lambda a, b: a.T @ b, lambda a, b: a.T @ b, [((4, 3), (4, 5))], ref64=True),
    Case("matmul_aT_bT", lambda a, b: a.T @ b.T, lambda a, b: a.T @ b.T, [((4, 3), (5, 4))], ref64=True),
    Case(
        "matmul_batched_T",
        lambda a, b: sg.swapaxes(a, -1, -2) @ sg.swapaxes(b, -1, -2),
        lambda a, b: np.swapaxes(a, -1, -2) @ np.swapaxes(b, -1, -2),
        [((2, 4, 3), (2, 5, 4)), ((2, 1, 4, 3), (3, 5, 4))],
        ref64=True,
    ),
    Case("matmul_int32_T", lambda a, b: a.T @ b.T, lambda a, b: a.T @ b.T, [((4, 3), (5, 4))], dtypes="int32"),
    Case(
        "dot",
        sg.dot,
        np.dot,
        [
            ((3, 4), (4, 5)),
            ((4,), (4,)),
            ((4,), (4, 5)),
            ((3, 4), (4,)),
            ((), (3, 4)),
            ((3, 4), ()),
            ((), ()),
            ((2, 3, 4), (4, 5)),
            ((2, 3, 4), (5, 4, 6)),
            ((4,), (2, 4, 3)),
            ((2, 3, 4), (4,)),
            ((3, 0), (0, 2)),
        ],
        ref64=True,
    ),
    Case("dot_int32", sg.dot, np.dot, [((3, 4), (4, 5)), ((2, 3, 4), (5, 4, 2))], dtypes="int32"),
    Case("dot_method", lambda a, b: a.dot(b), np.dot, [((3, 4), (4, 5))], ref64=True),
    Case(
        "tensordot",
        sg.tensordot,
        np.tensordot,
        [((2, 3, 4), (3, 4, 5)), ((3, 4), (3, 4)), ((2, 3, 4, 5), (4, 5))],
        ref64=True,
    ),
    Case(
        "tensordot_1",
        lambda a, b: sg.tensordot(a, b, 1),
        lambda a, b: np.tensordot(a, b, 1),
        [((2, 3, 4), (4, 5)), ((4,), (4, 2)), ((3, 0), (0, 2))],
        ref64=True,
    ),
    Case(
        "tensordot_0",  # the outer product
        lambda a, b: sg.tensordot(a, b, 0),
        lambda a, b: np.tensordot(a, b, 0),
        [((2, 3), (4,)), ((), (3,)), ((3,), ())],
        ref64=True,
    ),
    Case(
        "tensordot_lists",
        lambda a, b: sg.tensordot(a, b, ([0, 2], [2, 1])),
        lambda a, b: np.tensordot(a, b, ([0, 2], [2, 1])),
        [((2, 3, 4), (5, 4, 2)), ((2, 0, 4), (5, 4, 2))],
        ref64=True,
    ),
    Case(
        "tensordot_ints",
        lambda a, b: sg.tensordot(a, b, (1, -1)),
        lambda a, b: np.tensordot(a, b, (1, -1)),
        [((2, 3, 4), (5, 3))],
        ref64=True,
    ),
]
