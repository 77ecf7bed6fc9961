"""``model.summary()`` in Keras 3's table format (the box-drawing table rich draws).

Keras draws the table with rich: column widths are ``positions`` (fractions of
``line_length``: 88 for sequential-like models, 108 with the "Connected to" column, capped
at the terminal's width minus 4), and rich then shrinks the columns to fit the borders
with its ``ratio_reduce``. This module reproduces that arithmetic and the wrapping of
cell text at spaces, without colours, so the printed text matches Keras'.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np

from symgraph.keras.layers.layer import Layer
from symgraph.keras.layers.merging import Merge
from symgraph.keras.models.functional import Functional
from symgraph.keras.tree import flatten, map_structure


def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """rich's ``ratio_reduce``: take ``total`` away from ``values`` in proportion to ``ratios``."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining = total
    result = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            result.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def _wrap(text: str, width: int) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` characters (long words are cut)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        candidate = word if not current else f"{current} {word}"
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def _readable_size(size: float) -> str:
    for unit in ["B", "KB", "MB", "GB", "TB", "PB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _count(weights: list) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def _memory(weights: list) -> float:
    unique = {id(w): w for w in weights}.values()
    # Keras sizes its int variables (the optimizer's iteration count) as 32-bit.
    return float(
        sum(
            math.prod(w.shape) * min(np.dtype(w.dtype).itemsize, 4 if np.dtype(w.dtype).kind in "iu" else 8)
            for w in unique
        )
    )


def _format_shape(shape: Any) -> str:
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return "(" + ", ".join(str(d) for d in shape) + ")"
    if isinstance(shape, (list, tuple)):
        inner = ", ".join(_format_shape(s) for s in shape)
        return f"[{inner}]" if isinstance(shape, list) else f"({inner})"
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in shape.items()) + "}"
    return str(shape)


def _layer_output_shape(layer: Any) -> str:
    if not layer._inbound_nodes:
        return _built_output_shape(layer)
    outputs = layer._inbound_nodes[-1].outputs
    leaves = flatten(outputs)
    if len(leaves) == 1:
        return _format_shape(leaves[0].shape)
    return _format_shape(map_structure(lambda t: t.shape, outputs))


def _built_output_shape(layer: Any) -> str:
    """A layer called outside any functional graph (inside a subclassed model): Keras
    shows compute_output_shape(the shape it was built with), and "?" for layers whose
    class keeps the default ``build`` (Dropout, Activation, Flatten, pooling), which
    Keras marks built at construction without recording a shape."""
    shape = getattr(layer, "_build_input_shape", None)
    if shape is None or (type(layer).build is Layer.build and not isinstance(layer, Merge)):
        return "?"
    try:
        return _format_shape(layer.compute_output_shape(shape))
    except Exception:  # a shape the layer cannot take without its real inputs
        return "?"


def _render_table(headers: list[str], align: list[str], widths: list[int], rows: list[list[str]]) -> list[str]:
    inner = [w - 2 for w in widths]

    def cell(text: str, k: int) -> str:
        return text.rjust(inner[k]) if align[k] == "right" else text.ljust(inner[k])

    def line(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * w for w in widths) + right

    out = [line("┏", "━", "┳", "┓")]
    out.append("┃" + "┃".join(f" {cell(h, k)} " for k, h in enumerate(headers)) + "┃")
    out.append(line("┡", "━", "╇", "┩"))
    for r, row in enumerate(rows):
        wrapped = [_wrap(text, inner[k]) for k, text in enumerate(row)]
        height = max(len(w) for w in wrapped)
        for i in range(height):
            parts = [f" {cell(w[i] if i < len(w) else '', k)} " for k, w in enumerate(wrapped)]
            out.append("│" + "│".join(parts) + "│")
        if r < len(rows) - 1:
            out.append(line("├", "─", "┼", "┤"))
    out.append(line("└", "─", "┴", "┘"))
    return out


def _is_sequential_like(model: Any) -> bool:
    if not isinstance(model, Functional):
        return True
    seen_layers: set[int] = set()
    for node in model._nodes:
        if len(node.input_tensors) > 1:
            return False
        if id(node.layer) in seen_layers:
            return False
        seen_layers.add(id(node.layer))
    # A node fed by something other than the previous node's output is a branch.
    previous = None
    for node in model._nodes:
        parents = node.parent_nodes
        if previous is not None and parents and parents[0] is not previous:
            return False
        previous = node
    return len(model.inputs) == 1 and len(model.outputs) == 1


def summary_lines(model: Any, line_length: int | None = None, positions: list | None = None) -> list[str]:
    sequential_like = _is_sequential_like(model)
    layers = model.layers
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        headers, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) if pos <= 1 else int(pos)
        widths.append(width - current)
        current = width
    if any(w < 4 for w in widths):
        raise ValueError("Insufficient console width to print summary.")
    borders = len(widths) + 1
    excess = sum(widths) + borders - line_length
    if excess > 0:
        widths = _ratio_reduce(excess, [1] * len(widths), widths, widths)

    node_set = {id(n) for n in getattr(model, "_nodes", [])} if isinstance(model, Functional) else set()

    def connections(layer: Any) -> str:
        parts = []
        for node in layer._inbound_nodes:
            if node_set and id(node) not in node_set:
                continue
            for kt in node.input_tensors:
                src, node_index, tensor_index = kt._keras_history
                parts.append(f"{src.name}[{node_index}][{tensor_index}]")
        return ", ".join(parts) if parts else "-"

    rows = []
    for layer in layers:
        name = f"{layer.name} ({type(layer).__name__})"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [name, _layer_output_shape(layer), params]
        if not sequential_like:
            row.append(connections(layer))
        rows.append(row)

    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    opt = getattr(model, "optimizer", None)
    built = opt is not None and getattr(opt, "built", True) and getattr(model, "compiled", False)
    opt_vars = list(getattr(opt, "variables", []) or []) if built else []
    total = _count(trainable) + _count(non_trainable) + _count(opt_vars)
    total_mem = _memory(trainable) + _memory(non_trainable) + _memory(opt_vars)
    lines = [f'Model: "{model.name}"']
    lines += _render_table(headers, align, widths, rows)
    lines.append(f" Total params: {total:,} ({_readable_size(total_mem)})")
    lines.append(f" Trainable params: {_count(trainable):,} ({_readable_size(_memory(trainable))})")
    lines.append(f" Non-trainable params: {_count(non_trainable):,} ({_readable_size(_memory(non_trainable))})")
    if opt_vars:
        lines.append(f" Optimizer params: {_count(opt_vars):,} ({_readable_size(_memory(opt_vars))})")
    return lines


def _console_width() -> int:
    """rich's Console width: the first of stdin, stdout, stderr that is a terminal, then
    $COLUMNS, else 80."""
    width = None
    for descriptor in (0, 1, 2):
        try:
            width = os.get_terminal_size(descriptor).columns
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
        break
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    return width or 80


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: list | None = None,
    print_fn: Callable[..., Any] | None = None,
) -> None:
    # Keras prints through a rich Console, which crops every line to the console width
    # (so a line_length wider than that loses its right edge, in a file too).
    width = _console_width()
    lines = [line[:width] for line in summary_lines(model, line_length, positions)]
    if print_fn is None:
        print("\n".join(lines))
    else:
        print_fn("\n".join(lines))
