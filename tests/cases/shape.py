"""Test rows for shape ops: reshape, transpose, broadcast_to, expand_dims, squeeze,
concatenate, stack, split, tile, pad, flip, repeat, moveaxis, swapaxes, arange."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import UNARY, Case, integers

MATRIX = [((3, 4),), ((0, 4),), ((2, 3, 4),)]

CASES: list[Case] = [
    # reshape / transpose / broadcast_to / expand_dims / squeeze
    Case("reshape_flat", lambda x: sg.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,)), UNARY),
    Case(
        "reshape_minus_one",
        lambda x: sg.reshape(x, (-1, 2)),
        lambda x: np.reshape(x, (-1, 2)),
        [((3, 4),), ((2, 3, 2),), ((0, 4),)],
    ),
    Case(
        "reshape_symbolic_dim",
        lambda x: sg.reshape(x, (x.shape[0], -1)),
        lambda x: np.reshape(x, (x.shape[0], -1)),
        [((3, 4),), ((2, 3, 5),)],
    ),
    Case("reshape_method", lambda x: x.reshape(2, -1, 1), lambda x: x.reshape(2, -1, 1), [((3, 4),), ((2, 3),)]),
    Case("transpose", sg.transpose, np.transpose, [((3, 4),), ((2, 3, 5),), ((),)]),
    Case(
        "transpose_axes",
        lambda x: sg.transpose(x, (1, 2, 0)),
        lambda x: np.transpose(x, (1, 2, 0)),
        [((2, 3, 5),), ((2, 0, 3),)],
    ),
    Case(
        "broadcast_to",
        lambda x: sg.broadcast_to(x, (2, x.shape[0], 4)),
        lambda x: np.broadcast_to(x, (2, x.shape[0], 4)),
        [((3, 1),), ((3, 4),), ((1, 1),)],
    ),
    Case("broadcast_scalar", lambda x: sg.broadcast_to(x, (2, 3)), lambda x: np.broadcast_to(x, (2, 3)), [((),)]),
    Case(
        "expand_dims",
        lambda x: sg.expand_dims(x, (0, -1)),
        lambda x: np.expand_dims(x, (0, -1)),
        [((3, 4),), ((),), ((0, 2),)],
    ),
    Case("squeeze", sg.squeeze, np.squeeze, [((3, 1),), ((1, 3, 1, 4),), ((1,),)]),
    Case("squeeze_axis", lambda x: sg.squeeze(x, 1), lambda x: np.squeeze(x, 1), [((3, 1, 4),), ((2, 1),)]),
    # concatenate / stack / split
    Case(
        "concatenate",
        lambda a, b: sg.concatenate([a, b], axis=0),
        lambda a, b: np.concatenate([a, b], axis=0),
        [((3, 4), (2, 4)), ((0, 4), (2, 4)), ((1, 2, 3), (4, 2, 3))],
    ),
    Case(
        "concatenate_three_last_axis",
        lambda a, b, c: sg.concatenate([a, b, c], axis=-1),
        lambda a, b, c: np.concatenate([a, b, c], axis=-1),
        [((3, 4), (3, 1), (3, 2)), ((2, 3, 1), (2, 3, 2), (2, 3, 3))],
    ),
    Case(
        "concatenate_mixed_dtypes",
        lambda a, b: sg.concatenate([a, b], axis=1),
        lambda a, b: np.concatenate([a, b], axis=1),
        [((3, 4), (3, 2))],
        dtypes=("float32", "int32"),
        grad_args=(0,),
    ),
    Case(
        "concatenate_axis_none",
        lambda a, b: sg.concatenate([a, b], axis=None),
        lambda a, b: np.concatenate([a, b], axis=None),
        [((3, 4), (5,))],
    ),
    Case(
        "stack",
        lambda a, b, c: sg.stack([a, b, c]),
        lambda a, b, c: np.stack([a, b, c]),
        [((3, 4),) * 3, ((),) * 3, ((0, 2),) * 3],
    ),
    Case(
        "stack_last_axis",
        lambda a, b: sg.stack([a, b], axis=-1),
        lambda a, b: np.stack([a, b], axis=-1),
        [((3, 4),) * 2, ((2, 3, 5),) * 2],
    ),
    Case("split_sections", lambda x: sg.split(x, 2), lambda x: np.split(x, 2), [((4, 3),), ((6,),), ((2, 5),)]),
    Case(
        "split_sections_axis1",
        lambda x: sg.split(x, 3, axis=1),
        lambda x: np.split(x, 3, axis=1),
        [((2, 6),), ((0, 3, 2),)],
    ),
    Case(
        "split_indices",
        lambda x: sg.split(x, [1, 3, 10], axis=-1),
        lambda x: np.split(x, [1, 3, 10], axis=-1),
        [((2, 5),), ((4,),), ((2, 2),)],
    ),
    Case(
        "split_negative_indices",
        lambda x: sg.split(x, [-2]),
        lambda x: np.split(x, [-2]),
        [((5, 2),), ((1, 3),)],
    ),
    # tile / repeat
    Case("tile", lambda x: sg.tile(x, (2, 3)), lambda x: np.tile(x, (2, 3)), [((3, 4),), ((),), ((4,),), ((2, 1, 3),)]),
    Case("tile_int", lambda x: sg.tile(x, 3), lambda x: np.tile(x, 3), [((3, 4),), ((2,),)]),
    Case("tile_zero", lambda x: sg.tile(x, (0, 2)), lambda x: np.tile(x, (0, 2)), [((3, 4),)]),
    Case("repeat_flat", lambda x: sg.repeat(x, 2), lambda x: np.repeat(x, 2), [((3, 4),), ((),), ((0, 2),)]),
    Case(
        "repeat_axis",
        lambda x: sg.repeat(x, 3, axis=1),
        lambda x: np.repeat(x, 3, axis=1),
        [((3, 4),), ((2, 3, 5),), ((2, 1),)],
    ),
    # one count per element needs the static axis size to build the index table
    Case(
        "repeat_counts",
        lambda x: sg.repeat(x, [2, 0, 1], axis=0),
        lambda x: np.repeat(x, [2, 0, 1], axis=0),
        [((3, 4),), ((3,),)],
        symbolic=False,
    ),
    # pad
    Case(
        "pad_constant",
        lambda x: sg.pad(x, ((1, 2), (0, 3))),
        lambda x: np.pad(x, ((1, 2), (0, 3))),
        [((3, 4),), ((0, 2),), ((1, 1),)],
    ),
    Case(
        "pad_constant_value",
        lambda x: sg.pad(x, 2, constant_values=1.5),
        lambda x: np.pad(x, 2, constant_values=1.5),
        [((3, 4),), ((2,),), ((2, 1, 3),)],
    ),
    Case(
        "pad_constant_tensor_value",
        lambda x, c: sg.pad(x, (1, 2), constant_values=c),
        lambda x, c: np.pad(x, (1, 2), constant_values=c),
        [((3, 4), ()), ((2,), ())],
    ),
    Case(
        "pad_edge",
        lambda x: sg.pad(x, ((2, 1), (1, 3)), mode="edge"),
        lambda x: np.pad(x, ((2, 1), (1, 3)), mode="edge"),
        [((3, 4),), ((1, 2),)],
    ),
    Case(
        "pad_reflect",
        lambda x: sg.pad(x, ((2, 1), (0, 3)), mode="reflect"),
        lambda x: np.pad(x, ((2, 1), (0, 3)), mode="reflect"),
        [((3, 4),), ((5, 6),)],
    ),
    Case(
        "pad_symmetric",
        lambda x: sg.pad(x, (1, 3), mode="symmetric"),
        lambda x: np.pad(x, (1, 3), mode="symmetric"),
        [((3, 4),), ((4,),)],
    ),
    Case("pad_int_tensor", lambda x: sg.pad(x, 1), lambda x: np.pad(x, 1), [((3, 4),)], dtypes="int32"),
    # flip / moveaxis / swapaxes
    Case("flip", sg.flip, np.flip, [((3, 4),), ((),), ((0, 3),), ((2, 3, 5),)]),
    Case("flip_axis", lambda x: sg.flip(x, 1), lambda x: np.flip(x, 1), [((3, 4),), ((2, 3, 5),), ((2, 0),)]),
    Case("flip_axes", lambda x: sg.flip(x, (0, -1)), lambda x: np.flip(x, (0, -1)), [((3, 4),), ((2, 3, 5),)]),
    Case(
        "moveaxis",
        lambda x: sg.moveaxis(x, 0, -1),
        lambda x: np.moveaxis(x, 0, -1),
        [((2, 3, 5),), ((3, 4),)],
    ),
    Case(
        "moveaxis_many",
        lambda x: sg.moveaxis(x, (0, 1), (2, 0)),
        lambda x: np.moveaxis(x, (0, 1), (2, 0)),
        [((2, 3, 5),), ((2, 3, 4, 1),)],
    ),
    Case(
        "swapaxes",
        lambda x: sg.swapaxes(x, 0, 2),
        lambda x: np.swapaxes(x, 0, 2),
        [((2, 3, 5),), ((2, 0, 3),)],
    ),
    # arange: with a symbolic length, used against a float input
    Case(
        "arange_symbolic_length",
        lambda x: x * sg.arange(x.shape[-1]),
        lambda x: x * np.arange(x.shape[-1]),
        [((3, 4),), ((5,),), ((2, 0),)],
    ),
    Case(
        "arange_start_step",
        lambda x: x + sg.arange(10, 10 - 2 * x.shape[0], -2),
        lambda x: x + np.arange(10, 10 - 2 * x.shape[0], -2),
        [((4,),), ((0,),)],
        dtypes="int64",
    ),
    Case(
        "arange_float",
        lambda x: x + sg.arange(0.5, 2.0, 0.5),
        lambda x: x + np.arange(0.5, 2.0, 0.5, dtype=np.float32),
        [((3,),), ((2, 3),)],
    ),
    Case(
        "arange_offset_take",
        lambda x: sg.take(x, sg.arange(1, x.shape[0])),
        lambda x: np.take(x, np.arange(1, x.shape[0])),
        [((5,),), ((1,),)],
        samplers=integers(0, 3),
    ),
]
