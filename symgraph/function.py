"""``sg.function``: compile a graph into a callable run on batch after batch.

Theano's rules: ``outputs`` is one tensor (the call returns one array) or a list (the
call returns a list); ``updates`` pairs Variables with expressions, all computed from the
values before the call and written together after it; ``givens`` substitutes tensors in
the graph before compiling.

Modes: "py" runs the numpy reference interpreter; "c" generates one C unit for the whole
function (symgraph/codegen), builds it through the on-disk cache (symgraph/runtime)
and calls it; "debug" runs both on every call and raises BackendMismatchError when an
output or an updated Variable differs (beyond float rounding).

``trust_input=True`` skips the checks of the arguments (dtype, rank, static sizes,
contiguity) on the fast path: the caller promises arrays of exactly the declared
dtypes and ranks, and a wrong one is undefined behaviour, as in PyTensor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO, overload

import numpy as np

from symgraph.codegen.unit import generate
from symgraph.debug import debug_level
from symgraph.errors import BackendMismatchError, DTypeError, InputError, NaNError, ShapeError, UnsupportedError
from symgraph.export.c import export_c
from symgraph.graph import shape as shp
from symgraph.graph.core import Tensor
from symgraph.graph.shape import DimExpr, Sym
from symgraph.graph.sources import EagerTensor, Placeholder, SharedVariable, Variable, as_tensor
from symgraph.graph.traversal import replace, toposort
from symgraph.inspect import graphviz
from symgraph.inspect.debug import print_build
from symgraph.inspect.dump import dump as dump_graph
from symgraph.inspect.profile import Profile, profile_of
from symgraph.interpreter import Interpreter
from symgraph.passes.pipeline import optimize
from symgraph.runtime.program import CProgram

MODES = ("py", "c", "debug")
DEFAULT_MODE = "c"  # SYMGRAPH_MODE overrides it for every function built without a mode

Updates = Mapping[Variable, Any] | Iterable[tuple[Variable, Any]] | None


class Function:
    """A compiled graph; call it with numpy arrays (positionally or by input name)."""

    def __init__(
        self,
        inputs: Sequence[Tensor],
        outputs: Tensor | Sequence[Tensor] | None,
        updates: Updates = None,
        givens: Mapping[Tensor, Any] | Iterable[tuple[Tensor, Any]] | None = None,
        mode: str | None = None,
        name: str | None = None,
        trust_input: bool = False,
        passes: str | list[str] | None = None,
        profile: bool = False,
        nan_guard: bool = False,
    ):
        self.name = name
        self.profiling = profile  # kernel timers in the unit; see fn.profile()
        self.nan_guard = nan_guard
        self.compile_times: dict[str, float] = {}  # seconds: passes, codegen, compiler, load
        started = time.perf_counter()
        self.trust_input = trust_input
        self.mode = mode or os.environ.get("SYMGRAPH_MODE") or DEFAULT_MODE
        if self.mode not in MODES:
            raise UnsupportedError(f"function: unknown mode {self.mode!r} (available: {', '.join(MODES)})")
        self.inputs = _check_inputs(inputs)
        self._single = isinstance(outputs, Tensor)
        output_list = [] if outputs is None else [outputs] if self._single else list(outputs)
        for o in output_list:
            if not isinstance(o, Tensor):
                raise InputError(f"function: outputs must be Tensors, got {type(o).__name__}")
            _refuse_frozen(o, "an output")
        update_pairs = _check_updates(updates)
        targets = output_list + [expr for _, expr in update_pairs]
        if givens:
            targets = replace(targets, _check_givens(givens))
        implicit = _implicit_updates(targets, update_pairs)  # e.g. the global random counter's
        update_pairs += implicit
        targets += [expr for _, expr in implicit]
        self._check_closed(targets)
        self.graph_outputs = targets  # as built, before the passes (for dumps)
        targets, self.report = optimize(targets, passes)
        self.compile_times["passes"] = time.perf_counter() - started
        self.outputs = targets[: len(output_list)]
        self.updates = [(var, expr) for (var, _), expr in zip(update_pairs, targets[len(output_list) :])]
        self._bind = _size_binder(self.inputs)
        self._interpreter = Interpreter(self.inputs, targets, nan_guard) if self.mode in ("py", "debug") else None
        self._compiled = None
        self._caller = None
        self.c_source: str | None = None
        if self.mode in ("c", "debug"):
            started = time.perf_counter()
            unit = generate(self.inputs, self.outputs, self.updates, profile=profile, nan_guard=nan_guard)
            self.compile_times["codegen"] = time.perf_counter() - started
            self._compiled = CProgram(unit, name_hint=name or "function")
            self.compile_times.update(self._compiled.build_timings)
            self.c_source = self._compiled.unit.source
            self._caller = self._compiled.caller(trust_input) if self.mode == "c" else None
        self._variables = _variables(targets)
        self._storage_ids = {id(v.storage) for v in self._variables}
        level = debug_level()
        if level:  # SYMGRAPH_DEBUG=1..4: report, dumps, C source, compiler command (stderr)
            print_build(self, level)

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray | list[np.ndarray]:
        if self._caller is not None:  # the C call path: outputs, None (unusual args) or a status
            outputs = self._caller(*args, **kwargs)
            if type(outputs) is list:
                return outputs[0] if self._single else outputs
            if outputs is not None:
                self._compiled.raise_status(outputs)
        if self.mode == "c" and not kwargs:
            outputs = self._compiled.call_fast(args, self.trust_input)
            if outputs is not None:
                return outputs[0] if self._single else outputs
        values = self._arguments(args, kwargs)
        sizes = self._bind(values)
        if self.mode == "c":  # the unit writes the updates itself, after computing everything
            outputs = self._compiled.run(values, sizes)
            return outputs[0] if self._single else outputs
        if self.mode == "debug":
            return self._call_both(values, sizes)
        outputs = self._interpret(values, sizes)
        return outputs[0] if self._single else outputs

    def _interpret(self, values: list[np.ndarray], sizes: dict) -> list[np.ndarray]:
        """The outputs by the numpy interpreter, the updates applied."""
        results = self._interpreter.run(values, sizes)
        n_out = len(self.outputs)
        taken = {id(v) for v in values} | self._storage_ids
        outputs = [_owned(v, taken) for v in results[:n_out]]
        new_values = [_owned(v, taken) for v in results[n_out:]]
        for (var, _), value in zip(self.updates, new_values):  # all checked before any is written
            if value.shape != var.storage.shape:
                raise ShapeError(
                    f"update of Variable {var.name!r}: the new value has shape {value.shape}, "
                    f"the Variable {var.storage.shape}"
                )
        for (var, _), value in zip(self.updates, new_values):
            np.copyto(var.storage, value)
        return outputs

    def _call_both(self, values: list[np.ndarray], sizes: dict) -> np.ndarray | list[np.ndarray]:
        """Mode "debug": C first, on the state as it is; then numpy on the same state."""
        before = [v.get_value() for v in self._variables]
        outputs = self._compiled.run(values, sizes)
        after_c = [v.get_value() for v in self._variables]
        for v, old in zip(self._variables, before):
            v.set_value(old)
        expected = self._interpret(values, sizes)
        for k, (got, want) in enumerate(zip(outputs, expected)):
            _compare_backends(f"output {k}", got, want, self._label())
        for v, got in zip(self._variables, after_c):
            _compare_backends(f"the update of Variable {v.name!r}", got, v.storage, self._label())
        return outputs[0] if self._single else outputs

    @overload
    def dump(self, file: None = None, optimized: bool = True, show_locations: bool = True) -> str: ...
    @overload
    def dump(self, file: TextIO, optimized: bool = True, show_locations: bool = True) -> None: ...
    def dump(self, file: TextIO | None = None, optimized: bool = True, show_locations: bool = True) -> str | None:
        """The graph that runs (after the passes), or as built with ``optimized=False``;
        one line per node (see ``sg.dump``). Returned as text, nothing printed; with
        ``file`` (e.g. ``sys.stdout``) written there instead, and None returned."""
        return dump_graph(self, file=file, optimized=optimized, show_locations=show_locations)

    def to_networkx(self, optimized: bool = True) -> Any:
        """The graph as a networkx.DiGraph (see ``sg.to_networkx``)."""
        return graphviz.to_networkx(self, optimized=optimized)

    def to_dot(self, optimized: bool = True) -> str:
        """The graph in Graphviz's DOT language (see ``sg.to_dot``)."""
        return graphviz.to_dot(self, optimized=optimized)

    def to_svg(self, path: Any, optimized: bool = True) -> Any:
        """Draw the graph into the SVG file ``path`` with Graphviz's ``dot``."""
        return graphviz.to_svg(self, path, optimized=optimized)

    def profile(self, file: Any = None, reset: bool = False) -> Profile:
        """Built with ``profile=True``: the table of kernel times (printed to ``file``,
        stdout by default, nothing with ``file=False``) and the compile times."""
        return profile_of(self, file=file, reset=reset)

    def export_c(
        self,
        directory: str | os.PathLike[str],
        name: str | None = None,
        weights: str = "embed",
        overwrite: bool = False,
    ) -> Path:
        """Write this function as C that builds and runs without Python into ``directory``:
        ``name.c``, ``name.h`` (its API), the weights (``weights="embed"`` or ``"file"``),
        the runtime headers, a command ``name`` and a ``Makefile`` (symgraph/export/c.py).
        Returns the directory's path."""
        return export_c(self, directory, name=name, weights=weights, overwrite=overwrite)

    def _arguments(self, args: tuple, kwargs: dict) -> list[np.ndarray]:
        if len(args) > len(self.inputs):
            raise InputError(f"{self._label()} takes {len(self.inputs)} inputs, got {len(args)} positional arguments")
        given: list[Any] = list(args) + [_MISSING] * (len(self.inputs) - len(args))
        names = {t.name: i for i, t in enumerate(self.inputs)}
        for key, value in kwargs.items():
            if key not in names:
                raise InputError(f"{self._label()} has no input named {key!r} (inputs: {', '.join(map(str, names))})")
            if given[names[key]] is not _MISSING:
                raise InputError(f"{self._label()}: input {key!r} given twice")
            given[names[key]] = value
        return [_as_input(t, v, self._label()) for t, v in zip(self.inputs, given)]

    def _check_closed(self, targets: list[Tensor]) -> None:
        fed = {id(t) for t in self.inputs}
        bound: set[Sym] = set()
        for t in self.inputs:
            for d in t.shape:
                if isinstance(d, DimExpr):
                    bound |= d.symbols()
        for node in toposort(targets):
            if isinstance(node.op, Placeholder) and id(node.outputs[0]) not in fed:
                where = f" (created at {node.location})" if node.location else ""
                raise InputError(
                    f"{self._label()}: the outputs depend on the placeholder {node.op.label!r}{where}, "
                    "which is not among the inputs"
                )
            for t in node.outputs:
                for d in t.shape:
                    if isinstance(d, DimExpr) and not d.symbols() <= bound:
                        missing = ", ".join(sorted(s.name for s in d.symbols() - bound))
                        raise InputError(f"{self._label()}: the size {missing} comes from no input of the function")
            dim = getattr(node.op, "dim", None)
            if isinstance(dim, DimExpr) and not dim.symbols() <= bound:
                raise InputError(f"{self._label()}: the size {dim} comes from no input of the function")

    def _label(self) -> str:
        return f"function {self.name!r}" if self.name else "function"


def function(
    inputs: Sequence[Tensor],
    outputs: Tensor | Sequence[Tensor] | None = None,
    updates: Updates = None,
    givens: Mapping[Tensor, Any] | Iterable[tuple[Tensor, Any]] | None = None,
    mode: str | None = None,
    name: str | None = None,
    trust_input: bool = False,
    passes: str | list[str] | None = None,
    profile: bool = False,
    nan_guard: bool = False,
) -> Function:
    """Compile ``outputs`` (and ``updates``) as a function of the placeholders ``inputs``.

    ``passes`` selects the rewrites (symgraph/passes/pipeline.py): a level "O0".."O3"
    (O2 by default) and pass names to add or remove ("O2,-fuse_elementwise").

    ``profile=True`` times every kernel in C (``fn.profile()`` prints the table);
    ``nan_guard=True`` checks every float result for NaN and raises NaNError naming the
    first node that produced one. Both build a different unit; neither touches the
    functions built without them."""
    cls = InstrumentedFunction if profile or nan_guard else Function
    return cls(
        inputs,
        outputs,
        updates=updates,
        givens=givens,
        mode=mode,
        name=name,
        trust_input=trust_input,
        passes=passes,
        profile=profile,
        nan_guard=nan_guard,
    )


class InstrumentedFunction(Function):
    """A function built with ``profile=True`` or ``nan_guard=True``: its calls are timed
    as a whole (for the profile's percentages), and a NaN the C unit finds in a fused
    kernel is traced, by the numpy interpreter on the same arguments, to the node the
    user built that first produced it."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.call_count = 0
        self.call_seconds = 0.0
        # the counters live in the loaded unit, which equal functions share: start from here
        self._profile_base = self._compiled.read_profile() if self.profiling and self._compiled else None

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray | list[np.ndarray]:
        started = time.perf_counter()
        try:
            return super().__call__(*args, **kwargs)
        except NaNError:
            if self.mode == "py":
                raise
            self._trace_nan(args, kwargs)  # raises the traced error when numpy finds it
            raise
        finally:
            self.call_seconds += time.perf_counter() - started
            self.call_count += 1

    def _trace_nan(self, args: tuple, kwargs: dict) -> None:
        values = self._arguments(args, kwargs)
        sizes = self._bind(values)
        targets = self.outputs + [e for _, e in self.updates]
        try:
            Interpreter(self.inputs, targets, nan_guard=True).run(values, sizes)  # no updates written
        except NaNError as traced:
            raise NaNError(str(traced)) from None


def _compare_backends(what: str, got: np.ndarray, want: np.ndarray, label: str) -> None:
    """Raise BackendMismatchError when the C and numpy results differ beyond rounding."""
    if got.shape != want.shape or got.dtype != want.dtype:
        raise BackendMismatchError(
            f"{label}: {what} is {got.dtype}{got.shape} in C but {want.dtype}{want.shape} in numpy"
        )
    if got.dtype.kind == "f":
        tol = 1e-5 if got.dtype == np.float32 else 1e-12
        ok = np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        ok = np.array_equal(got, want)
    if not ok:
        bad = (
            int(np.argmax(~np.isclose(got, want, equal_nan=True)))
            if got.dtype.kind == "f"
            else int(np.argmax(got != want))
        )
        raise BackendMismatchError(
            f"{label}: {what} differs between C and numpy, first at flat index {bad}: "
            f"{got.reshape(-1)[bad]!r} (C) vs {want.reshape(-1)[bad]!r} (numpy)"
        )


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _implicit_updates(targets: list[Tensor], explicit: list[tuple[Variable, Tensor]]) -> list[tuple[Variable, Tensor]]:
    """The updates Variables ask for themselves (``implicit_update()``, e.g. the global
    random generator's call counter, advanced on every call so that each call draws new
    numbers), for those the graph reads and the user does not update."""
    updated = {id(var) for var, _ in explicit}
    return [
        (var, var.implicit_update())
        for var in _variables(targets)
        if hasattr(var, "implicit_update") and id(var) not in updated
    ]


def _variables(targets: list[Tensor]) -> list[Variable]:
    return [n.outputs[0] for n in toposort(targets) if isinstance(n.op, SharedVariable)]


def _check_inputs(inputs: Sequence[Tensor]) -> list[Tensor]:
    if isinstance(inputs, Tensor):
        raise InputError("function: inputs must be a list of placeholders, got a single Tensor (wrap it in a list)")
    result = []
    for t in inputs:
        if not isinstance(t, Tensor) or not isinstance(t.node.op, Placeholder):
            kind = "a Variable (its value is read from the Variable)" if isinstance(t, Variable) else repr(t)
            raise InputError(f"function: inputs must be placeholders, got {kind}")
        if any(t is r for r in result):
            raise InputError(f"function: input {t.name!r} is listed twice")
        result.append(t)
    return result


def _refuse_frozen(t: Tensor, what: str) -> None:
    """An eager tensor computed from Variables is a number: compiled as a constant it would
    freeze them (``W + eager`` ran once, it is not ``W + 1`` at every call)."""
    if isinstance(t, EagerTensor) and t.reads_state:
        raise InputError(
            f"function: {what} is an eager tensor computed now from Variables, so it would be a constant of the "
            "compiled function: build it from placeholders, constants and Variables only (no eager tensors), "
            "or trace the program with sg.jit"
        )


def _check_updates(updates: Updates) -> list[tuple[Variable, Tensor]]:
    if not updates:
        return []
    pairs = list(updates.items()) if isinstance(updates, Mapping) else list(updates)
    seen: set[int] = set()
    result = []
    for pair in pairs:
        try:
            var, expr = pair
        except (TypeError, ValueError):
            raise InputError(f"function: each update must be a (Variable, expression) pair, got {pair!r}") from None
        if not isinstance(var, Variable):
            raise InputError(f"function: updates must target Variables, got {var!r}")
        if id(var) in seen:
            raise InputError(f"function: Variable {var.name!r} is updated twice")
        seen.add(id(var))
        expr = as_tensor(expr)
        _refuse_frozen(expr, f"the update of Variable {var.name!r}")
        if expr.dtype != var.dtype:
            raise DTypeError(
                f"function: the update of Variable {var.name!r} ({var.dtype.name}) has dtype {expr.dtype.name}; "
                f"cast it (sg.cast(expr, '{var.dtype.name}'))"
            )
        if len(expr.shape) != len(var.shape) or any(
            isinstance(a, int) and isinstance(b, int) and a != b for a, b in zip(expr.shape, var.shape)
        ):
            raise ShapeError(
                f"function: the update of Variable {var.name!r} has shape {shp.shape_str(expr.shape)}, "
                f"the Variable {shp.shape_str(var.shape)}"
            )
        result.append((var, expr))
    return result


def _check_givens(givens: Any) -> dict[Tensor, Tensor]:
    pairs = list(givens.items()) if isinstance(givens, Mapping) else list(givens)
    result: dict[Tensor, Tensor] = {}
    for old, new in pairs:
        if not isinstance(old, Tensor):
            raise InputError(f"function: givens must replace Tensors, got {old!r}")
        new = as_tensor(new)
        if new.dtype != old.dtype or new.ndim != old.ndim:
            raise DTypeError(f"function: givens replaces {old.type} by {new.type}; dtype and rank must match")
        result[old] = new
    return result


def _as_input(t: Tensor, value: Any, label: str) -> np.ndarray:
    """A call argument checked against its placeholder: dtype, rank, static sizes."""
    name = t.name
    if value is _MISSING:
        raise InputError(f"{label}: missing input {name!r}")
    if isinstance(value, Tensor):
        raise InputError(f"{label}: input {name!r} got the symbolic {value!r}; pass a numpy array")
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype != t.dtype and array.dtype.newbyteorder("=") == t.dtype:
            array = array.astype(t.dtype)  # the other byte order: the values, in the native one
        if array.dtype != t.dtype:
            raise DTypeError(
                f"{label}: input {name!r} expects {t.dtype.name}, got an array of {array.dtype.name} "
                f"(convert with .astype('{t.dtype.name}'))"
            )
    else:
        try:
            raw = np.asarray(value)
        except ValueError as exc:
            raise InputError(f"{label}: input {name!r}: {exc}") from None
        if raw.dtype == object or (raw.dtype.kind == "f" and t.dtype.kind != "f") or raw.dtype.kind not in "biuf":
            raise DTypeError(
                f"{label}: input {name!r} expects {t.dtype.name}, got {type(value).__name__} of {raw.dtype}"
            )
        if raw.dtype.kind in "iu" and t.dtype.kind in "iu" and raw.size and not np.can_cast(raw.dtype, t.dtype):
            info = np.iinfo(t.dtype)
            low, high = raw.min(), raw.max()
            if low < info.min or high > info.max:
                bad = low if low < info.min else high
                raise InputError(
                    f"{label}: input {name!r} expects {t.dtype.name}, whose range is [{info.min}, {info.max}]; "
                    f"got {bad}"
                )
        array = raw.astype(t.dtype)
    if array.ndim != len(t.shape):
        raise InputError(
            f"{label}: input {name!r} expects rank {len(t.shape)} {shp.shape_str(t.shape)}, got shape {array.shape}"
        )
    for axis, (d, actual) in enumerate(zip(t.shape, array.shape)):
        if isinstance(d, int) and d != actual:
            raise ShapeError(
                f"{label}: input {name!r} expects shape {shp.shape_str(t.shape)}, got {array.shape} (axis {axis})"
            )
    return array


def _size_binder(inputs: list[Tensor]):
    """A function from input arrays to the values of every symbolic size."""
    plain: list[tuple[int, int, Sym]] = []
    derived: list[tuple[int, int, DimExpr]] = []
    for i, t in enumerate(inputs):
        for axis, d in enumerate(t.shape):
            if isinstance(d, DimExpr):
                single = len(d.terms) == 1 and d.terms[0][1] == 1 and len(d.terms[0][0]) == 1
                atom = d.terms[0][0][0] if single else None
                if isinstance(atom, Sym):
                    plain.append((i, axis, atom))
                else:
                    derived.append((i, axis, d))

    def bind(values: list[np.ndarray]) -> dict[Sym, int]:
        sizes: dict[Sym, int] = {}
        for i, axis, s in plain:
            actual = values[i].shape[axis]
            known = sizes.setdefault(s, actual)
            if known != actual:
                raise ShapeError(
                    f"input {inputs[i].name!r} axis {axis} has size {actual}, but the size {s.name} "
                    f"was {known} in another input"
                )
        for i, axis, d in derived:
            if d.evaluate(sizes) != values[i].shape[axis]:
                raise ShapeError(f"input {inputs[i].name!r} axis {axis} must have size {d} = {d.evaluate(sizes)}")
        return sizes

    return bind


def _owned(value: np.ndarray, taken: set[int]) -> np.ndarray:
    """A fresh array the caller may keep and write: no view of state, inputs or another result."""
    if value.flags.owndata and value.flags.writeable and value.flags.c_contiguous and id(value) not in taken:
        taken.add(id(value))
        return value
    return np.array(value, copy=True, order="C")
