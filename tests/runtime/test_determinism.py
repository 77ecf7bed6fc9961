"""Deterministic units: the C text and its cache key are a function of the graph alone,
so the same graph built twice, or after other graphs, or in another process, is
compiled once."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import symgraph as sg
from symgraph import keras
from symgraph.runtime import build, program

GRAPH = """
import numpy as np, symgraph as sg
def make_step():
    x = sg.placeholder((None, 4), "float32", name="x")
    n = sg.placeholder((None,), "int32", name="labels")
    W = sg.Variable(np.ones((4, 3), "float32"), name="W")
    loss = sg.mean(sg.nn.sparse_softmax_cross_entropy(sg.tanh(x @ W), n))
    return sg.function([x, n], loss, updates=[(W, W - 0.1 * sg.grad(loss, W))])
"""
namespace: dict = {}
exec(GRAPH, namespace)
make_step = namespace["make_step"]


@pytest.fixture
def counted_builds(cache_root):
    """Compiler runs of units from here on (the call module is built first, off the count)."""
    program._call_module()
    start = build.build_count
    return lambda: build.build_count - start


def test_same_graph_twice_in_one_process_is_one_text_and_one_build(counted_builds):
    first = make_step()
    for _ in range(3):  # other graphs in between make fresh symbols and Variables
        other = sg.placeholder((None, 2), name="other")
        sg.function([other], other * 0 + 1)
    second = make_step()
    assert first.c_source == second.c_source
    builds_before_calls = counted_builds()
    x, n = np.ones((5, 4), np.float32), np.zeros(5, np.int32)
    np.testing.assert_array_equal(first(x, n), second(x, n))
    assert counted_builds() == builds_before_calls
    assert first._compiled.library is second._compiled.library


def test_a_graph_has_the_same_text_in_a_fresh_process():
    script = GRAPH + "import sys\nsys.stdout.write(make_step().c_source)\n"
    fresh = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    for _ in range(2):  # built after graphs with other symbols in this process
        sg.placeholder((None, None), name="unrelated")
    assert make_step().c_source == fresh


def test_two_identical_keras_models_share_one_compiled_step(counted_builds):
    def model():
        m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
        m.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    x = np.random.default_rng(0).random((16, 6)).astype(np.float32)
    y = np.arange(16) % 3
    model().fit(x, y, epochs=1, verbose=0)
    after_first = counted_builds()
    assert after_first >= 1
    model().fit(x, y, epochs=1, verbose=0)  # other layer names, other Variables: the same code
    assert counted_builds() == after_first


def test_comments_are_not_part_of_the_key():
    code = 'int a; /* the user line */ const char *s = "/* kept */ \\" // kept"; // gone\nchar c = \'"\';'
    stripped = build.code_of(code)
    assert "user line" not in stripped and "gone" not in stripped
    assert '"/* kept */ \\" // kept"' in stripped and "char c = '\"';" in stripped
    assert build.code_of("x /* a */ y") == build.code_of("x /* b */ y") != build.code_of("x /* a */ z")
