"""sg.dump / fn.dump: one line per node, stable text (golden tests before and after the
passes), shared subexpressions once, fused kernels with their inner expression."""

from __future__ import annotations

import inspect
import io
import re
import sys

import numpy as np

import symgraph as sg

GOLDEN_SHARED = """\
# optimized=False
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
    text = sg.dump([sg.sum(e, axis=1), e * e], show_locations=False)
    assert text == GOLDEN_SHARED
    assert text.count("exp(") == 1  # printed once, referenced by id after


GOLDEN_LAYER_BUILT = """\
# optimized=False
%0 = placeholder{name=x}                 float32[x.0,4]
%1 = variable{name=W}                    float32[4,3]
%2 = matmul(%0, %1)                      float32[x.0,3]
%3 = variable{name=b}                    float32[3]
%4 = add(%2, %3)                         float32[x.0,3]
%5 = tanh(%4)                            float32[x.0,3]
%6 = sum{axes=(1,), keepdims=False}(%5)  float32[x.0]
outputs: %6
"""

GOLDEN_LAYER_OPTIMIZED = """\
# optimized=True
%0 = placeholder{name=x}                                           float32[x.0,4]
%1 = variable{name=W}                                              float32[4,3]
%2 = variable{name=b}                                              float32[3]
%3 = fused_matmul{expr=tanh(add(matmul(%0, %1), %2))}(%0, %1, %2)  float32[x.0,3]
%4 = sum{axes=(1,), keepdims=False}(%3)                            float32[x.0]
outputs: %4
"""


def _layer():
    x = sg.placeholder((None, 4), name="x")
    W = sg.Variable(np.zeros((4, 3), "float32"), name="W")
    b = sg.Variable(np.zeros((3,), "float32"), name="b")
    return x, W, b, sg.sum(sg.tanh(x @ W + b), axis=1)


def test_golden_function_before_and_after_the_passes():
    x, _, _, y = _layer()
    f = sg.function([x], y, mode="py")
    assert f.dump(optimized=False, show_locations=False) == GOLDEN_LAYER_BUILT
    assert f.dump(show_locations=False) == GOLDEN_LAYER_OPTIMIZED
    # sg.dump of a function and of tensors with optimized=True say the same
    assert sg.dump(f, show_locations=False) == GOLDEN_LAYER_OPTIMIZED
    assert sg.dump(y, show_locations=False, optimized=True) == GOLDEN_LAYER_OPTIMIZED


GOLDEN_FUSED_SHARED = """\
# optimized=True
%0 = placeholder{name=x}                                               float32[x.0]
%1 = constant{value=1.}                                                float32[]
%2 = fused_elementwise{v0=exp(%0); expr=add(mul(v0, v0), %1)}(%0, %1)  float32[x.0]
outputs: %2
"""


def test_golden_fused_kernel_names_a_step_used_twice():
    x = sg.placeholder((None,), name="x")
    e = sg.exp(x)
    text = sg.dump(e * e + 1.0, show_locations=False, optimized=True)
    assert text == GOLDEN_FUSED_SHARED


GOLDEN_STABILIZED = """\
# optimized=True
%0 = placeholder{name=x}      float32[x.0,10]
%1 = log_softmax{axis=1}(%0)  float32[x.0,10]
outputs: %1
"""


def test_golden_after_stabilisation():
    x = sg.placeholder((None, 10), name="x")
    y = sg.log(sg.nn.softmax(x))
    assert "log(%1)" in sg.dump(y, show_locations=False)
    assert sg.dump(y, show_locations=False, optimized=True) == GOLDEN_STABILIZED


def test_golden_with_user_lines_and_updates():
    x = sg.placeholder((None,), name="x")
    first = inspect.currentframe().f_lineno
    v = sg.Variable(np.zeros((), "float32"), name="v")
    y = sg.exp(x) * 2.375  # a constant no other test makes: constants are shared by value
    total = sg.sum(y)
    f = sg.function([x], y, updates=[(v, v + total)], mode="py", passes="O2")
    text = f.dump()
    expected = """\
# optimized=True
%0 = placeholder{name=x}                               float32[x.0]  L0
%1 = constant{value=2.375}                             float32[]     L2
%2 = fused_elementwise{expr=mul(exp(%0), %1)}(%0, %1)  float32[x.0]  L2
%3 = variable{name=v}                                  float32[]     L1
%4 = sum{axes=(0,), keepdims=False}(%2)                float32[]     L3
%5 = add(%3, %4)                                       float32[]     L4
outputs: %2
updates: v <- %5
"""
    for k in range(5):
        expected = expected.replace(f"L{k}", f"test_dump.py:{first + k if k else first - 1}")
    assert text == expected


def test_fused_kernel_lists_the_lines_of_every_node_it_covers():
    x = sg.placeholder((None,), name="x")
    first = inspect.currentframe().f_lineno
    a = sg.exp(x)
    b = sg.tanh(a) + 1.0
    text = sg.dump(b, optimized=True)
    fused = next(line for line in text.splitlines() if "fused_elementwise" in line)
    assert fused.endswith(f"test_dump.py:{first + 1},{first + 2}")


def test_dump_returns_the_text_and_prints_it_only_into_a_given_file(capsys):
    x = sg.placeholder((2,), name="x")
    y = x * 3.0
    f = sg.function([x], y, mode="py")
    text = f.dump()
    assert sg.dump(f) == text and sg.dump(y, optimized=True) == text
    assert capsys.readouterr().out == ""  # returning is all dump() does by default
    print(f.dump())  # the README's line: the graph once
    assert capsys.readouterr().out == text + "\n"
    out = io.StringIO()
    assert f.dump(file=out) is None and sg.dump(y, file=out, optimized=True) is None
    assert out.getvalue() == text + text
    assert f.dump(file=sys.stdout) is None
    assert capsys.readouterr().out == text
    assert "mul(%0, %1)" in text and "test_dump.py:" in text
    assert not re.search(r"0x[0-9a-f]{6,}", text) and "/" not in text
