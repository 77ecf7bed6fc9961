"""Test rows for reductions, cumulative ops and matrix products."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import UNARY, Case

CASES: list[Case] = [
    Case(
        "sum",
        lambda x: sg.sum(x, axis=1),
        lambda x: np.sum(x, axis=1),
        [((3, 4),), ((2, 3, 5),), ((0, 3),)],
        ref64=True,
    ),
    Case("sum_all", sg.sum, np.sum, UNARY, ref64=True),
    Case(
        "matmul",
        sg.matmul,
        np.matmul,
        [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))],
        ref64=True,
    ),
]
