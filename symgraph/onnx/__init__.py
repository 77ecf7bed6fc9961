"""``sg.onnx``: ONNX export and import.

- ``export(fn_or_outputs, path, inputs=None, opset=17)``: a compiled ``sg.function`` (or
  output tensors with their input placeholders) written as an ONNX model: each op of
  the graph as built becomes ONNX nodes, Variables and constants become initializers,
  a symbolic size stays a named dimension (``batch``), a scan (the recurrent layers)
  becomes ONNX's ``Scan``.
- ``export_model(model, path)``: a Keras-facade model's inference graph
  (``model.export(path, format="onnx")`` calls it).
- ``load(path)``: an ONNX model as a symgraph graph (placeholders, outputs) and a
  compiled function. The file is treated as hostile: its size, its tensors' declared
  sizes and every external-data path are checked before anything is read, and an
  unsupported op is refused naming the op and the node.

The onnx and onnxruntime packages are an extra (``pip install -e ".[onnx]"``): this
module imports without them, and each function raises UnsupportedError naming the
extra when they are missing.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

from symgraph.onnx.opset import DEFAULT_OPSET, INSTALL_HINT


def _implementation(name: str) -> Any:
    """The module doing the work, imported on first use: it imports the onnx package,
    an optional extra, which ``import symgraph.onnx`` must not need."""
    return importlib.import_module(f"symgraph.onnx.{name}")


def export(
    fn_or_outputs: Any,
    path: str | os.PathLike | None,
    inputs: Sequence[Any] | None = None,
    opset: int = DEFAULT_OPSET,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> Any:
    """Write an inference graph as an ONNX model to ``path`` (None: write nothing) and
    return the ``onnx.ModelProto``.

    ``fn_or_outputs``: a ``sg.function`` (its inputs and outputs, as built; updates are
    not exported: an ONNX model keeps no state), or an output tensor or a list of them,
    with ``inputs`` the placeholders fed (default: every placeholder they read, in graph
    order). ``opset``: 17 to 21. Variables are written with their current values. The
    model passes ``onnx.checker.check_model`` before it is written."""
    return _implementation("exporter").export(fn_or_outputs, path, inputs, opset, input_names, output_names)


def export_model(model: Any, path: str | os.PathLike | None, **kwargs: Any) -> Any:
    """A Keras-facade model's inference graph (``training=False``: dropout is the
    identity, batch normalization uses its moving statistics) as an ONNX model, the
    batch axis a dimension named "batch". Keywords: ``opset``, and ``input_shape`` /
    ``input_dtype`` for a subclassed model that declares no inputs."""
    return _implementation("exporter").export_model(model, path, **kwargs)


def load(path: str | os.PathLike | bytes, mode: str | None = None, **kwargs: Any) -> Any:
    """An ONNX model (a file path, or the serialized bytes) as an ``OnnxGraph``:
    ``.inputs`` (placeholders), ``.outputs`` (tensors), ``.function`` (compiled with
    ``mode`` on first use) and ``graph(*arrays)`` to run it. Keywords: ``limits``
    (``LoadLimits``: file size, tensor sizes)."""
    return _implementation("loader").load(path, mode=mode, **kwargs)


__all__ = ["DEFAULT_OPSET", "INSTALL_HINT", "export", "export_model", "load"]
