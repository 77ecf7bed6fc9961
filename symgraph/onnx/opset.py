"""What the ONNX exporter and loader share: the onnx packages (an optional extra), the
dtype tables, the opset range, and names.

The onnx package is imported here and only here, when the exporter or the loader is
first used (``symgraph.onnx`` itself imports without it): a missing package is an
``UnsupportedError`` naming the extra to install.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import numpy as np

from symgraph.errors import UnsupportedError

# The opsets the exporter writes: 17 is the first with LayerNormalization and the last
# before ReduceMax/Min/Mean/Prod take their axes as an input (18); onnxruntime 1.18
# runs up to 21.
DEFAULT_OPSET = 17
MIN_EXPORT_OPSET = 17
MAX_EXPORT_OPSET = 21

INSTALL_HINT = 'pip install -e ".[onnx]"'


def require(name: str = "onnx") -> ModuleType:
    """The module ``name`` of the onnx extra (``onnx``, ``onnxruntime``), or an
    UnsupportedError naming the extra when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise UnsupportedError(
            f"symgraph.onnx needs the {name.split('.')[0]} package, which is not installed: {INSTALL_HINT} "
            f"(or pip install onnx onnxruntime) ({exc})"
        ) from None


# ONNX TensorProto.DataType numbers of the dtypes symgraph has (onnx.proto3, stable)
ONNX_OF_NUMPY: dict[np.dtype, int] = {
    np.dtype("float32"): 1,
    np.dtype("uint8"): 2,
    np.dtype("int8"): 3,
    np.dtype("int16"): 5,
    np.dtype("int32"): 6,
    np.dtype("int64"): 7,
    np.dtype("bool"): 9,
    np.dtype("float64"): 11,
}
NUMPY_OF_ONNX: dict[int, np.dtype] = {v: k for k, v in ONNX_OF_NUMPY.items()}

# the names of the element types symgraph lacks, for error messages
ONNX_TYPE_NAMES: dict[int, str] = {
    0: "undefined",
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    8: "string",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
    14: "complex64",
    15: "complex128",
    16: "bfloat16",
    17: "float8e4m3fn",
    18: "float8e4m3fnuz",
    19: "float8e5m2",
    20: "float8e5m2fnuz",
    21: "uint4",
    22: "int4",
    23: "float4e2m1",
}


def onnx_type_name(elem_type: int) -> str:
    return ONNX_TYPE_NAMES.get(elem_type, f"element type {elem_type}")


_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/-]")


def clean_name(name: str, fallback: str) -> str:
    """A value name for an ONNX graph: the user's name with odd characters replaced."""
    cleaned = _UNSAFE.sub("_", name or "")
    return cleaned or fallback
