"""Small pieces of C: types, literals, identifiers, escaped strings.

Every name in generated C is made here from a counter and a fixed prefix; a user's
string (a tensor name, a file path) reaches C only through ``c_string``, as a comment
or a string literal, never as code.
"""

from __future__ import annotations

import math

import numpy as np

from symgraph.ops.c_api import c_type as ops_c_type

c_type = ops_c_type  # one dtype -> C type table, in ops/c_api.py (ops come first)


def c_literal(value: object, dtype: np.dtype) -> str:
    """A C literal of ``dtype`` holding ``value`` exactly (inf and NaN included)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "1" if bool(value) else "0"
    if dtype.kind in "iu":
        v = int(value)  # type: ignore[call-overload]
        if dtype.itemsize == 8:
            return f"INT64_C({v})" if v != -(2**63) else "INT64_MIN"
        return str(v) if v >= 0 else f"({v})"
    v = float(value)  # type: ignore[arg-type]
    suffix = "f" if dtype == np.float32 else ""
    if math.isnan(v):
        return "((float)NAN)" if suffix else "((double)NAN)"
    if math.isinf(v):
        inf = "((float)INFINITY)" if suffix else "((double)INFINITY)"
        return f"(-{inf})" if v < 0 else inf
    scalar = dtype.type(v)
    if v != 0 and not 1e-4 <= abs(v) < 1e16:
        text = np.format_float_scientific(scalar, unique=True)
    else:
        text = np.format_float_positional(scalar, unique=True)
    if "." not in text and "e" not in text and "inf" not in text:
        text += ".0"
    return f"{text}{suffix}" if not text.startswith("-") else f"({text}{suffix})"


def c_string(text: str) -> str:
    """``text`` as a C string literal: printable ASCII kept, everything else escaped."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= code < 127 and ch != "?":  # '?' avoided: trigraphs
            out.append(ch)
        elif code < 256:
            out.append(f"\\{code:03o}")
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def c_comment(text: str) -> str:
    """``text`` safe inside a /* */ comment on one line."""
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return "/* " + cleaned.replace("*/", "* /").replace("/*", "/ *") + " */"


class Names:
    """Fresh C identifiers: ``prefix`` + counter, never derived from user text."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def fresh(self, prefix: str) -> str:
        assert prefix.isidentifier() and prefix.isascii(), prefix
        n = self._counts.get(prefix, 0)
        self._counts[prefix] = n + 1
        return f"{prefix}{n}"
