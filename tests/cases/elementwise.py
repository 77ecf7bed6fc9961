"""Test rows for elementwise ops: arithmetic, comparisons, logic, math, activations."""

from __future__ import annotations

import numpy as np

import symgraph as sg
from tests.opcheck import BINARY, UNARY, Case, away_from_zero, positive

CASES: list[Case] = [
    # arithmetic
    Case("add", sg.add, np.add, BINARY),
    Case("subtract", sg.subtract, np.subtract, BINARY),
    Case("multiply", sg.multiply, np.multiply, BINARY),
    Case("true_divide", sg.true_divide, np.true_divide, BINARY, samplers=away_from_zero),
    Case("negative", sg.negative, np.negative, UNARY),
    # math
    Case("exp", sg.exp, np.exp, UNARY),
    Case("log", sg.log, np.log, UNARY, samplers=positive),
]
