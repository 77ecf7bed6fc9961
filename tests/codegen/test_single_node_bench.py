"""The single-node bench itself works (elementwise and kernel paths)."""

import numpy as np

import symgraph as sg
from tests.codegen.single_node import c_source, last_node, run_c, run_reference


def test_elementwise_add_through_c(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(tmp_path))
    a = np.arange(6, dtype="float32").reshape(2, 3)
    b = np.ones((1, 3), "float32")
    np.testing.assert_array_equal(run_c(sg.add, [a, b])[0], run_reference(sg.add, [a, b])[0])
    assert "(in0[i] + in1[i])" in c_source(last_node(sg.add, [a, b]))
