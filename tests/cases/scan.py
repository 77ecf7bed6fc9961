"""Test rows for the scan op: a cumulative sum and a nonlinear recurrence, each against
a numpy loop (tests/test_scan.py and tests/test_rnn.py check the rest: go_backwards,
lengths, errors, the RNN layers)."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import Case, uniform


def scan_cumsum(x):
    total, _ = sg.scan(lambda row, acc: acc + row, sequences=x, outputs_info=sg.zeros(x.shape[1:], x.dtype))
    return total


def scan_recurrence(x, m):
    hs, _ = sg.scan(
        lambda row, h, w: sg.tanh(h @ w) + row,
        sequences=x,
        outputs_info=sg.zeros(x.shape[1:], x.dtype),
        non_sequences=m,
    )
    return hs


def np_recurrence(x, m):
    h, rows = np.zeros_like(x[0]), []
    for row in x:
        h = np.tanh(h @ m) + row
        rows.append(h)
    return np.array(rows).reshape(x.shape)


CASES: list[Case] = [
    Case("scan_cumsum", scan_cumsum, lambda x: np.cumsum(x, axis=0), [((5, 3),), ((1, 4),), ((0, 3),), ((4,),)]),
    Case(
        "scan_recurrence",
        scan_recurrence,
        np_recurrence,
        [((5, 2, 3), (3, 3))],
        samplers=uniform(-0.5, 0.5),
        symbolic=False,  # the state's shape (x.1, x.2) must be the product's (x.1, m.1)
    ),
]
