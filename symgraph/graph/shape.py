"""Symbolic dimensions: sizes known only when a compiled function is called.

A shape is a tuple whose entries are ``int`` or ``DimExpr``. A placeholder declared with
``None`` in its shape gets one fresh ``Sym`` per such axis (``x.0`` for axis 0 of ``x``);
every later shape is an expression of those symbols, so a compiled function needs only
the input shapes to know every size in the graph, and one build serves every batch size.

A ``DimExpr`` is a polynomial with integer coefficients over atoms: symbols, and
opaque functions (floor division, max, min) that do not simplify. Expressions are kept
in a canonical form, so equal expressions compare equal (``(n*2)//2 == n``), and an
expression that turns out constant is returned as a plain ``int``.

Broadcasting rule (PyTensor's): a symbolic dimension is never broadcast at call time.
Where it meets a static size k != 1 it must equal k; where it meets another symbolic
dimension both must be equal; a mismatch is a ShapeError at call time.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Union

Monomial = tuple["Atom", ...]


class Atom:
    """A factor of a monomial: a symbol or an opaque function of dimensions."""

    __slots__ = ()
    key: tuple

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Atom) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: Atom) -> bool:
        return self.key < other.key


class Sym(Atom):
    """One unknown size, bound from an input's shape when the function is called."""

    __slots__ = ("name", "serial", "key")
    _serials = itertools.count()

    def __init__(self, name: str):
        self.name = name
        self.serial = next(Sym._serials)
        self.key = (0, self.serial)

    def evaluate(self, env: Mapping[Sym, int]) -> int:
        return env[self]

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__


class Func(Atom):
    """An opaque function of dimensions: floordiv, max or min."""

    __slots__ = ("kind", "args", "key")
    _APPLY = {
        "floordiv": lambda a, b: a // b,
        "max": max,
        "min": min,
    }

    def __init__(self, kind: str, args: tuple[Dim, ...]):
        self.kind = kind
        self.args = args
        self.key = (1, kind, tuple(dim_key(a) for a in args))

    def evaluate(self, env: Mapping[Sym, int]) -> int:
        return self._APPLY[self.kind](*(evaluate(a, env) for a in self.args))

    def __str__(self) -> str:
        if self.kind == "floordiv":
            return f"({_bracketed(self.args[0])} // {_bracketed(self.args[1])})"
        return f"{self.kind}({', '.join(map(str, self.args))})"

    __repr__ = __str__


class DimExpr:
    """A symbolic dimension: sum of coefficient * product of atoms, canonical."""

    __slots__ = ("terms", "_hash")

    def __init__(self, terms: tuple[tuple[Monomial, int], ...]):
        self.terms = terms
        self._hash = hash(terms)

    @property
    def key(self) -> tuple:
        return tuple((tuple(a.key for a in mono), c) for mono, c in self.terms)

    def evaluate(self, env: Mapping[Sym, int]) -> int:
        total = 0
        for mono, coeff in self.terms:
            product = coeff
            for atom in mono:
                product *= atom.evaluate(env)
            total += product
        return total

    def symbols(self) -> set[Sym]:
        found: set[Sym] = set()
        for mono, _ in self.terms:
            for atom in mono:
                if isinstance(atom, Sym):
                    found.add(atom)
                else:
                    for arg in atom.args:
                        if isinstance(arg, DimExpr):
                            found |= arg.symbols()
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DimExpr) and self.terms == other.terms

    def __hash__(self) -> int:
        return self._hash

    def __add__(self, other: Dim) -> Dim:
        if not isinstance(other, (int, DimExpr)):
            return NotImplemented
        return _from_poly(_add(_poly(self), _poly(other)))

    __radd__ = __add__

    def __sub__(self, other: Dim) -> Dim:
        if not isinstance(other, (int, DimExpr)):
            return NotImplemented
        return _from_poly(_add(_poly(self), _scale(_poly(other), -1)))

    def __rsub__(self, other: Dim) -> Dim:
        if not isinstance(other, (int, DimExpr)):
            return NotImplemented
        return _from_poly(_add(_poly(other), _scale(_poly(self), -1)))

    def __neg__(self) -> Dim:
        return _from_poly(_scale(_poly(self), -1))

    def __mul__(self, other: Dim) -> Dim:
        if not isinstance(other, (int, DimExpr)):
            return NotImplemented
        return _from_poly(_mul(_poly(self), _poly(other)))

    __rmul__ = __mul__

    def __floordiv__(self, other: Dim) -> Dim:
        if not isinstance(other, (int, DimExpr)):
            return NotImplemented
        return floordiv(self, other)

    def __rfloordiv__(self, other: Dim) -> Dim:
        if not isinstance(other, (int, DimExpr)):
            return NotImplemented
        return floordiv(other, self)

    def __bool__(self) -> bool:
        raise TypeError(f"the symbolic dimension {self} has no truth value before a call")

    def __str__(self) -> str:
        parts = []
        for mono, coeff in reversed(self.terms):  # constant term (empty monomial) last
            factors = [str(a) for a in mono]
            if coeff == -1 and factors:
                factors[0] = "-" + factors[0]
            elif coeff != 1 or not factors:
                factors.insert(0, str(coeff))
            parts.append("*".join(factors))
        return " + ".join(parts).replace("+ -", "- ")

    def __repr__(self) -> str:
        return f"DimExpr({self})"


Dim = Union[int, DimExpr]
Shape = tuple[Dim, ...]


def sym(name: str) -> DimExpr:
    """A fresh symbolic dimension named ``name``."""
    return DimExpr((((Sym(name),), 1),))


def is_static(dim: Dim) -> bool:
    return isinstance(dim, int)


def is_static_shape(shape: Shape) -> bool:
    return all(isinstance(d, int) for d in shape)


def dim_key(dim: Dim) -> tuple:
    return (0, dim) if isinstance(dim, int) else (1, dim.key)


def evaluate(dim: Dim, env: Mapping[Sym, int]) -> int:
    return dim if isinstance(dim, int) else dim.evaluate(env)


def evaluate_shape(shape: Shape, env: Mapping[Sym, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else d.evaluate(env) for d in shape)


def prod(dims: tuple[Dim, ...] | list[Dim]) -> Dim:
    result: Dim = 1
    for d in dims:
        result = result * d
    return result


def floordiv(a: Dim, b: Dim) -> Dim:
    """a // b, exact where the division is exact symbolically."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    if isinstance(b, int):
        if b == 1:
            return a
        pa = _poly(a)
        if b > 0 and all(c % b == 0 for c in pa.values()):
            return _from_poly({m: c // b for m, c in pa.items()})
    elif a == b:
        return 1
    else:
        quotient = _divide_by_monomial(_poly(a), _poly(b))
        if quotient is not None:
            return _from_poly(quotient)
    return DimExpr((((Func("floordiv", (a, b)),), 1),))


def ceildiv(a: Dim, b: Dim) -> Dim:
    """ceil(a / b) for positive b, exact where the division is exact symbolically."""
    if isinstance(a, int) and isinstance(b, int):
        return -(-a // b)
    quotient = floordiv(a, b)
    if quotient * b == a:
        return quotient
    return floordiv(a + b - 1, b)


def is_nonneg(d: Dim) -> bool:
    """Whether ``d`` is provably >= 0: sizes are never negative, so a polynomial with
    non-negative coefficients over sizes (and functions of such) is."""
    if isinstance(d, int):
        return d >= 0
    for mono, coeff in d.terms:
        if coeff < 0:
            return False
        for atom in mono:
            if isinstance(atom, Func) and not all(is_nonneg(a) for a in atom.args):
                return False
    return True


def nonneg(d: Dim) -> Dim:
    """max(0, d), without the max where ``d`` is provably non-negative."""
    return max(0, d) if isinstance(d, int) else d if is_nonneg(d) else dim_max(0, d)


def dim_max(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    if a == b:
        return a
    if a == 0 and is_nonneg(b):
        return b
    if b == 0 and is_nonneg(a):
        return a
    return DimExpr((((Func("max", tuple(sorted((a, b), key=dim_key))),), 1),))


def dim_min(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    if a == b:
        return a
    return DimExpr((((Func("min", tuple(sorted((a, b), key=dim_key))),), 1),))


# no buffer holds more bytes: byte counts of larger sizes would wrap in int64 (both
# backends refuse such a result with a ShapeError before computing anything)
MAX_BUFFER_BYTES = 1 << 62


def too_large(shape: Shape, itemsize: int, env: Mapping[Sym, int]) -> int | None:
    """The element count of ``shape`` at these sizes when it holds more than
    MAX_BUFFER_BYTES of ``itemsize``-byte elements, else None."""
    count = 1
    for d in shape:
        count *= evaluate(d, env)
    return count if count * itemsize > MAX_BUFFER_BYTES else None


def c_name(s: Sym) -> str:
    """The C variable holding a symbolic size at call time (generated code binds it)."""
    return f"n_{s.serial}"


def to_c(d: Dim) -> str:
    """A size as a C int64 expression over the ``c_name`` variables of its symbols
    (floor division, max and min through symgraph_sizes.h's sg_floordiv, sg_max_i64, sg_min_i64)."""
    if isinstance(d, int):
        return str(d)
    terms = []
    for mono, coeff in d.terms:
        factors = [_atom_to_c(a) for a in mono]
        if coeff != 1 or not factors:
            factors.insert(0, str(coeff))
        terms.append("*".join(factors))
    return "(" + " + ".join(terms) + ")"


def _atom_to_c(atom: Atom) -> str:
    if isinstance(atom, Sym):
        return c_name(atom)
    assert isinstance(atom, Func)
    args = ", ".join(to_c(a) for a in atom.args)
    return {"floordiv": "sg_floordiv", "max": "sg_max_i64", "min": "sg_min_i64"}[atom.kind] + f"({args})"


def _bracketed(d: Dim) -> str:
    return f"({d})" if isinstance(d, DimExpr) and len(d.terms) > 1 else str(d)


def shape_str(shape: Shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def as_dim(value: object) -> Dim:
    """An int or DimExpr from a user value (int, numpy integer, DimExpr)."""
    if isinstance(value, DimExpr):
        return value
    if isinstance(value, bool):
        raise TypeError(f"a dimension must be an integer, got {value!r}")
    try:
        return int(value.__index__())  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError(f"a dimension must be an integer, got {value!r}") from None


# Polynomials: dict monomial -> coefficient, monomial a sorted tuple of atoms.


def _poly(d: Dim) -> dict[Monomial, int]:
    if isinstance(d, int):
        return {(): d} if d else {}
    return dict(d.terms)


def _from_poly(poly: dict[Monomial, int]) -> Dim:
    terms = tuple(sorted(((m, c) for m, c in poly.items() if c), key=lambda t: [a.key for a in t[0]]))
    if not terms:
        return 0
    if len(terms) == 1 and terms[0][0] == ():
        return terms[0][1]
    return DimExpr(terms)


def _add(a: dict[Monomial, int], b: dict[Monomial, int]) -> dict[Monomial, int]:
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + c
    return out


def _scale(a: dict[Monomial, int], k: int) -> dict[Monomial, int]:
    return {m: c * k for m, c in a.items()}


def _mul(a: dict[Monomial, int], b: dict[Monomial, int]) -> dict[Monomial, int]:
    out: dict[Monomial, int] = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = tuple(sorted(ma + mb))
            out[m] = out.get(m, 0) + ca * cb
    return out


def _divide_by_monomial(a: dict[Monomial, int], b: dict[Monomial, int]) -> dict | None:
    """a / b when b is a single monomial dividing every term of a exactly, else None."""
    if len(b) != 1:
        return None
    ((mb, cb),) = b.items()
    out = {}
    for ma, ca in a.items():
        remaining = list(ma)
        for atom in mb:
            if atom not in remaining:
                return None
            remaining.remove(atom)
        if ca % cb:
            return None
        out[tuple(remaining)] = ca // cb
    return out
