"""The op table's test rows: each public function, its numpy reference and shapes.

Shape groups cover 0-d, size-0 and broadcasting; ``check_reference`` also runs every
row on strided (non-contiguous) copies and with all dimensions symbolic.
"""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import Case, away_from_zero, positive

UNARY = [((3, 4),), ((),), ((0, 3),), ((2, 3, 5),)]
BINARY = [((3, 4), (3, 4)), ((3, 4), (3, 1)), ((3, 1), (1, 4)), ((), (3,)), ((0, 4), (1, 4)), ((2, 1, 5), (3, 1))]
TERNARY = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ()), ((2, 3), (3,), (2, 1))]

CASES: list[Case] = [
    # arithmetic
    Case("add", sg.add, np.add, BINARY),
    Case("subtract", sg.subtract, np.subtract, BINARY),
    Case("multiply", sg.multiply, np.multiply, BINARY),
    Case("true_divide", sg.true_divide, np.true_divide, BINARY, samplers=away_from_zero),
    Case("negative", sg.negative, np.negative, UNARY),
    # reductions
    Case("sum", lambda x: sg.sum(x, axis=1), lambda x: np.sum(x, axis=1), [((3, 4),), ((2, 3, 5),), ((0, 3),)], ref64=True),
    Case("sum_all", sg.sum, np.sum, UNARY, ref64=True),
    # math
    Case("exp", sg.exp, np.exp, UNARY),
    Case("log", sg.log, np.log, UNARY, samplers=positive),
    # linalg
    Case("matmul", sg.matmul, np.matmul, [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2))], ref64=True),
]
