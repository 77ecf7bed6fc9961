"""The onnx package's backend node tests through symgraph's backend adapter
(symgraph/onnx/backend.py): every node test of the onnx wheel, in mode "py" (the numpy
interpreter: each case is a new graph, and a C build per case would take minutes), and
a representative subset (tests/onnx/node_cases.py C_CASES) compiled in mode "c".

What symgraph does not convert (an op, an attribute value, a dtype symgraph lacks) is
skipped with the loader's UnsupportedError message; every test that runs must pass.
``python -m tests.onnx.node_cases`` prints the pass count per op.
"""

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from tests.onnx.node_cases import backend_test  # noqa: E402  (after the importorskips)

pytestmark = pytest.mark.onnx

_py = backend_test("py").test_cases
_c = backend_test("c").test_cases

OnnxNodeTestPy = _py["OnnxBackendNodeModelTest"]
OnnxNodeTestC = _c["OnnxBackendNodeModelTest"]
