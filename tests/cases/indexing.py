"""Test rows for indexing ops: x[...] (basic and advanced), take, take_along_axis,
scatter_add, one_hot, sort, argsort, top_k."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import Case, integers, normal


def _getitem(name: str, index, shapes) -> Case:
    """A row for ``x[index]`` against numpy's ``x[index]``."""
    return Case(f"getitem_{name}", lambda x: x[index], lambda x: x[index], shapes)


def np_top_k(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    indices = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, indices, -1), indices


MATRIX = [((3, 4),), ((5, 6),)]
RANK3 = [((3, 4, 5),), ((2, 3, 3),)]

CASES: list[Case] = [
    # basic indexing
    _getitem("int", 1, [((3, 4),), ((2,),), ((2, 3, 4),)]),
    _getitem("negative_int", -1, [((3, 4),), ((2,),)]),
    _getitem("int_pair", (1, -2), [((3, 4),), ((2, 3, 5),)]),
    _getitem("slice", slice(1, 3), [((3, 4),), ((0, 4),), ((5,),), ((1, 2),)]),
    _getitem("slice_open_end", slice(1, None), [((3, 4),), ((0, 4),), ((5,),)]),
    _getitem("slice_negative_bounds", slice(-3, -1), [((3, 4),), ((5,),), ((2,),)]),
    _getitem("slice_step", slice(None, None, 2), [((3, 4),), ((5,),), ((0,),)]),
    _getitem("slice_step_bounds", (slice(None), slice(1, 6, 3)), [((3, 4),), ((2, 8),)]),
    _getitem("reverse", slice(None, None, -1), [((3, 4),), ((5,),), ((0, 2),)]),
    _getitem("negative_step_bounds", slice(3, 0, -2), [((5, 2),), ((3,),), ((1,),)]),
    _getitem("negative_step_from_end", (slice(None), slice(-2, None, -1)), [((3, 4),), ((2, 1),)]),
    _getitem("newaxis", None, [((3, 4),), ((),)]),
    _getitem("ellipsis_newaxis", (Ellipsis, None), [((3, 4),), ((),), ((2, 3, 5),)]),
    _getitem("ellipsis_int", (Ellipsis, 1), [((3, 4),), ((2, 3, 5),)]),
    _getitem("int_ellipsis_int", (0, Ellipsis, -1), [((3, 4),), ((2, 3, 5),)]),
    _getitem("mixed_basic", (slice(None), None, slice(1, None), 0), [((3, 4, 2),), ((2, 1, 3),)]),
    _getitem("empty_tuple", (), [((3, 4),), ((),)]),
    # advanced indexing
    _getitem("int_list", [0, 2], [((3, 4),), ((3,),)]),
    _getitem("repeated_indices", [0, 2, 0, 0], [((3, 4),), ((3,),)]),
    _getitem("negative_indices", [-1, 0, -3], [((3, 4),), ((3,),)]),
    _getitem("int_array_2d", np.array([[0, 1], [1, 0]]), [((3, 4),), ((2,),)]),
    _getitem("columns", (slice(None), [0, 2]), [((3, 4),), ((2, 3, 5),)]),
    _getitem("columns_repeated", (Ellipsis, [1, 1, 0]), [((3, 4),), ((2, 3, 2),)]),
    _getitem("adjacent_arrays", ([0, 2], [1, 0]), [((3, 4),), ((3, 2, 5),)]),
    _getitem("broadcast_arrays", (np.array([[0], [2]]), np.array([1, 0, 1])), [((3, 4),)]),
    # a slice between advanced indices moves the broadcast axes to the front
    _getitem("separated_arrays", ([0, 1], slice(None), [2, 0]), RANK3),
    # an int among advanced indices counts as advanced (numpy's rule)
    _getitem("int_and_array_separated", (1, slice(None), [0, 2]), RANK3),
    _getitem("array_after_slice_and_none", (slice(1, None), None, [0, 2, 2]), [((3, 4),), ((2, 3),)]),
    _getitem("arrays_around_newaxis", ([0, 1], None, [1, 1]), [((3, 4),), ((2, 2, 3),)]),
    Case(
        "getitem_int_tensor",
        lambda x, i: x[i],
        lambda x, i: x[i],
        [((3, 4), (5,)), ((3,), (2, 2)), ((3, 4), ())],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(-3, 3)),
        grad_args=(0,),
    ),
    Case(
        "getitem_int_tensor_columns",
        lambda x, i: x[:, i],
        lambda x, i: x[:, i],
        [((3, 4), (6,)), ((2, 4, 2), (2, 3))],
        dtypes=("float32", "int32"),
        samplers=(normal, integers(0, 4)),
        grad_args=(0,),
    ),
    # take
    Case(
        "take_flat",
        lambda x, i: sg.take(x, i),
        lambda x, i: np.take(x, i),
        [((3, 4), (5,)), ((6,), (2, 3)), ((3, 4), ())],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(-6, 6)),
        grad_args=(0,),
    ),
    Case(
        "take_axis",
        lambda x, i: sg.take(x, i, axis=1),
        lambda x, i: np.take(x, i, axis=1),
        [((3, 4), (5,)), ((2, 4, 3), (2, 3)), ((3, 4), (0,))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(-4, 4)),
        grad_args=(0,),
    ),
    Case(
        "take_axis_negative",
        lambda x, i: sg.take(x, i, axis=-1),
        lambda x, i: np.take(x, i, axis=-1),
        [((3, 4), (7,)), ((2, 3, 4), (2,))],
        dtypes=("float32", "int32"),
        samplers=(normal, integers(0, 4)),
        grad_args=(0,),
    ),
    Case(
        "take_wrap",
        lambda x, i: sg.take(x, i, axis=0, mode="wrap"),
        lambda x, i: np.take(x, i, axis=0, mode="wrap"),
        [((3, 4), (6,)), ((3,), (2, 2))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(-9, 9)),
        grad_args=(0,),
    ),
    Case(
        "take_clip",
        lambda x, i: sg.take(x, i, axis=0, mode="clip"),
        lambda x, i: np.take(x, i, axis=0, mode="clip"),
        [((3, 4), (6,)), ((3,), (2, 2))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(-9, 9)),
        grad_args=(0,),
    ),
    # take_along_axis
    Case(
        "take_along_axis",
        lambda x, i: sg.take_along_axis(x, i, axis=1),
        lambda x, i: np.take_along_axis(x, i, axis=1),
        [((3, 4), (3, 6)), ((2, 4, 3), (2, 2, 3)), ((3, 4), (3, 1))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(-4, 4)),
        grad_args=(0,),
    ),
    Case(
        "take_along_axis_broadcast",
        lambda x, i: sg.take_along_axis(x, i, axis=0),
        lambda x, i: np.take_along_axis(x, i, axis=0),
        [((3, 4), (5, 1)), ((3, 1), (2, 4))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(0, 3)),
        grad_args=(0,),
    ),
    Case(
        "take_along_axis_none",
        lambda x, i: sg.take_along_axis(x, i, axis=None),
        lambda x, i: np.take_along_axis(x, i, axis=None),
        [((3, 4), (5,))],
        dtypes=("float32", "int64"),
        samplers=(normal, integers(0, 12)),
        grad_args=(0,),
    ),
    # scatter_add: repeated indices accumulate
    Case(
        "scatter_add",
        lambda x, i, u: sg.scatter_add(x, i, u),
        lambda x, i, u: _np_scatter_add(x, i, u, 0),
        [((5, 3), (4,), (4, 3)), ((5,), (2, 3), (2, 3)), ((4, 2), (6,), (1, 2))],
        dtypes=("float32", "int64", "float32"),
        samplers=(normal, integers(-3, 3), normal),
        grad_args=(0, 2),
    ),
    Case(
        "scatter_add_axis1",
        lambda x, i, u: sg.scatter_add(x, i, u, axis=1),
        lambda x, i, u: _np_scatter_add(x, i, u, 1),
        [((3, 4), (6,), (3, 6)), ((2, 4, 3), (2,), (2, 2, 3))],
        dtypes=("float32", "int32", "float32"),
        samplers=(normal, integers(0, 2), normal),
        grad_args=(0, 2),
    ),
    # one_hot: out-of-range and negative indices give all-zero rows
    Case(
        "one_hot",
        lambda i: sg.one_hot(i, 5),
        lambda i: (i[..., None] == np.arange(5)).astype(np.float32),
        [((4,),), ((2, 3),), ((),), ((0,),)],
        dtypes="int64",
        samplers=integers(-2, 7),
    ),
    Case(
        "one_hot_axis0_int32",
        lambda i: sg.one_hot(i, 4, dtype="int32", axis=0),
        lambda i: (i[None] == np.arange(4).reshape((4,) + (1,) * i.ndim)).astype(np.int32),
        [((3,),), ((2, 3),)],
        dtypes="int32",
        samplers=integers(0, 4),
    ),
    # sort / argsort / top_k
    Case("sort", sg.sort, np.sort, [((3, 4),), ((5,),), ((0, 3),), ((2, 3, 4),)]),
    Case("sort_axis0", lambda x: sg.sort(x, axis=0), lambda x: np.sort(x, axis=0), MATRIX),
    Case("sort_flat", lambda x: sg.sort(x, axis=None), lambda x: np.sort(x, axis=None), [((3, 4),), ((),)]),
    Case(
        "sort_descending",
        lambda x: sg.sort(x, descending=True),
        lambda x: -np.sort(-x),
        [((3, 4),), ((5,),)],
    ),
    Case(
        "argsort_ties",
        sg.argsort,
        lambda x: np.argsort(x, kind="stable"),
        [((3, 6),), ((7,),), ((0, 2),), ((2, 3, 4),)],
        samplers=integers(0, 3),
        grad_args=(),
    ),
    Case(
        "argsort_axis0_ties",
        lambda x: sg.argsort(x, axis=0),
        lambda x: np.argsort(x, axis=0, kind="stable"),
        [((5, 3),)],
        dtypes="int32",
        samplers=integers(0, 2),
    ),
    Case(
        "argsort_descending_ties",
        lambda x: sg.argsort(x, descending=True),
        lambda x: np.argsort(-x, kind="stable"),
        [((3, 6),), ((7,),)],
        samplers=integers(0, 3),
        grad_args=(),
    ),
    Case(
        "top_k",
        lambda x: sg.top_k(x, 3),
        lambda x: np_top_k(x, 3),
        [((3, 5),), ((4,),), ((2, 3, 3),)],
    ),
    Case(
        "top_k_ties",
        lambda x: sg.top_k(x, 2),
        lambda x: np_top_k(x, 2),
        [((4, 6),), ((5,),)],
        samplers=integers(0, 3),
        grad_args=(),
    ),
]


def _np_scatter_add(x: np.ndarray, indices: np.ndarray, updates: np.ndarray, axis: int) -> np.ndarray:
    out = x.copy()
    np.add.at(out, (slice(None),) * axis + (indices,), updates)
    return out
