"""sg.dump: one line per node, stable text."""

from __future__ import annotations

import io

import numpy as np

import symgraph as sg

GOLDEN = """\
%0 = placeholder{name=x}                 float32[x.0,3]
%1 = variable{name=W}                    float32[3,2]
%2 = matmul(%0, %1)                      float32[x.0,2]
%3 = constant{value=1.}                  float32[]
%4 = add(%2, %3)                         float32[x.0,2]
%5 = exp(%4)                             float32[x.0,2]
%6 = sum{axes=(1,), keepdims=False}(%5)  float32[x.0]
%7 = mul(%5, %5)                         float32[x.0,2]
outputs: %6, %7
"""


def test_golden_dump_shares_subexpressions():
    x = sg.placeholder((None, 3), name="x")
    W = sg.Variable(np.zeros((3, 2), "float32"), name="W")
    e = sg.exp(x @ W + 1.0)
    text = sg.dump([sg.sum(e, axis=1), e * e], file=False, show_locations=False)
    assert text == GOLDEN


def test_dump_prints_and_shows_user_lines():
    x = sg.placeholder((2,), name="x")
    y = x * 3.0
    out = io.StringIO()
    text = sg.function([x], y).dump(file=out)
    assert out.getvalue() == text
    assert "mul(%0, %1)" in text and "test_dump.py:" in text


def test_function_dump_before_and_after_the_passes():
    x = sg.placeholder((None,), name="x")
    f = sg.function([x], sg.exp(x) * 2.0 + 1.0)
    before = f.dump(file=False, optimized=False)
    after = f.dump(file=False)
    assert "exp(%0)" in before and "fused_elementwise" not in before
    assert "fused_elementwise{expr=add(mul(exp(%0), %1), %2)}" in after
