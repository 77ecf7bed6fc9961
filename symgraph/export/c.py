"""A compiled function written out as C that builds and runs without Python.

``export_c(fn, directory, name="model")`` writes into ``directory``:

- ``model.c``: the translation unit symgraph compiles for ``fn`` (``fn.c_source``,
  unchanged: no second code generator) followed by the API around its entry point, and
  the weights as constant arrays (``weights="embed"``);
- ``model.h``: that API, documented (an opaque context, ``model_init``, ``model_run``
  with the symbolic sizes as arguments, ``model_free``, error codes and messages, and
  the description of every input and output a generic caller needs);
- ``model.bin`` with ``weights="file"``: the Variables' values, read by ``model_init``;
- the runtime headers of csrc/ the unit includes, copied as they are;
- ``model_main.c`` and ``sg_npy.c``/``.h``: the command ``./model in.npy out.npy``;
- ``Makefile``: ``make`` builds ``libmodel.a`` and ``model`` with ``cc`` alone
  (symgraph/export/makefile.py says which settings it has).

How the unit's contract (symgraph/codegen/unit.py) becomes the API: the unit's entry takes
one array of pointers (inputs, outputs, Variables, constants, then the caller's state),
the symbolic sizes, and a buffer for the message. The context holds that array with the
Variables' and constants' pointers filled once by ``model_init``, the state (the
temporaries' memory, kept between calls) and the message buffers; ``model_run`` writes
the inputs' and outputs' pointers and the sizes, calls the entry, and on failure turns
the index of the failing node into its name and line. The entry's extern names are
prefixed with the export's name, so two exports link into one program.

Functions with updates (a training step) are exported too: the updated Variables are the
context's state (copied from the weights at ``model_init``, written by every
``model_run``, read back with ``model_variable``), as the Variables are in Python.
"""

from __future__ import annotations

import hashlib
import keyword
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import symgraph
from symgraph.codegen.cexpr import c_comment, c_string, c_type
from symgraph.codegen.unit import Unit, generate
from symgraph.errors import InputError, SymgraphError
from symgraph.export.command_c import main_c
from symgraph.export.makefile import makefile
from symgraph.export.npy_c import NPY_C, NPY_H
from symgraph.graph import shape as shp
from symgraph.graph.core import Node, Tensor
from symgraph.graph.shape import DimExpr, Sym
from symgraph.provenance import covers_text, is_fused
from symgraph.runtime.toolchain import csrc_dir

WEIGHTS_MODES = ("embed", "file")
MESSAGE_SIZE = 1024  # the context's composed message: the node's name and line, then the unit's text
WEIGHTS_MAGIC = b"SGWEIGHT"
WEIGHTS_VERSION = 1
WEIGHTS_ALIGN = 64
MAX_NAME = 64

# The status codes of model.h: the unit's (csrc/symgraph_runtime.h's sg_status, same numbers)
# and the API's own. (suffix, value, meaning)
STATUS_CODES = (
    ("OK", 0, "success"),
    ("ERR_SHAPE", 1, "shapes that do not fit at call time (a reshape, an update, a size too large)"),
    ("ERR_INDEX", 2, "an index outside its axis (an embedding id, a gathered index)"),
    ("ERR_VALUE", 3, "a value an op does not accept (an integer to a negative power)"),
    ("ERR_NOMEM", 4, "out of memory"),
    ("ERR_NAN", 5, "a NaN found by a NaN-checking build (not produced by exports)"),
    ("ERR_INTERNAL", 6, "a bug in symgraph"),
    ("ERR_BUSY", 7, "the context is running a call on another thread"),
    ("ERR_ARGUMENT", 8, "a bad argument to the API (NULL pointer, negative size)"),
    ("ERR_WEIGHTS", 9, "the weights file is missing, unreadable, or not this export's"),
)
_UNIT_STATUS = ("SHAPE", "INDEX", "VALUE", "NOMEM", "NAN", "INTERNAL", "BUSY")

# C's keywords (C11, C23) and names an export's files or the runtime already use
_C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto if inline int long
    register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
    alignas alignof bool constexpr false nullptr static_assert thread_local true typeof typeof_unqual
    _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local
    main""".split()
)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
# name.h must not hide a header the C includes as <name.h> (a program compiled with -I on
# the export's directory would get it in place of the system's)
_SYSTEM_HEADERS = frozenset(
    """assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal stdalign stdarg
    stdatomic stdbool stddef stdint stdio stdlib stdnoreturn string tgmath threads time uchar wchar wctype
    alloca malloc memory strings unistd pthread omp cblas""".split()
)
_RESERVED_PREFIXES = ("sg_", "symgraph")


class ExportExistsError(SymgraphError, FileExistsError):
    """The export directory exists and holds files: nothing is overwritten without ``overwrite=True``."""


def check_name(name: object) -> str:
    """``name`` when it can name the export's C functions and files: a C identifier of
    ASCII letters, digits and underscores starting with a letter, not a C keyword, not a
    C library header's name (``math``: ``math.h`` would hide ``<math.h>``), not in
    symgraph's runtime namespace (``sg_``, ``symgraph``), at most 64 characters."""
    if not isinstance(name, str):
        raise InputError(f"export_c: name must be a string (a C identifier), got {type(name).__name__}")
    if not _IDENTIFIER.match(name) or len(name) > MAX_NAME:
        raise InputError(
            f"export_c: name {name!r} is not a C identifier of at most {MAX_NAME} characters (ASCII letters, "
            "digits and underscores, starting with a letter): it names the export's C functions and files"
        )
    if name in _C_KEYWORDS or keyword.iskeyword(name):
        raise InputError(f"export_c: name {name!r} is a C keyword")
    if name.lower() in ("makefile", "gnumakefile"):
        raise InputError(f"export_c: name {name!r} is the Makefile's own name (the command would replace it)")
    if name.lower() in _SYSTEM_HEADERS:
        raise InputError(f"export_c: name {name!r} would hide the C library's header <{name.lower()}.h>")
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise InputError(f"export_c: name {name!r} starts with sg_ or symgraph, the runtime's own names")
    return name


def export_c(
    fn: symgraph.function.Function,
    directory: str | os.PathLike,
    name: str | None = None,
    weights: str = "embed",
    overwrite: bool = False,
) -> Path:
    """Write ``fn`` as C into ``directory`` (see the module's docstring); returns its path.

    ``name`` (a C identifier) prefixes every function and file; by default ``fn.name``
    when it is one, else ``"model"``. ``weights="embed"`` compiles the Variables' current
    values into ``name.c``; ``"file"`` writes them to ``name.bin``, which ``name_init``
    reads (the same build then serves retrained weights of the same function). A
    directory that exists and holds anything raises ``ExportExistsError`` unless
    ``overwrite=True``, which replaces this export's files and leaves others alone."""
    if name is None:
        name = fn.name if isinstance(fn.name, str) and is_valid_name(fn.name) else "model"
    name = check_name(name)
    if weights not in WEIGHTS_MODES:
        raise InputError(f"export_c: weights must be one of {', '.join(map(repr, WEIGHTS_MODES))}, got {weights!r}")
    target = Path(os.fspath(directory))
    _check_directory(target, overwrite)
    files = _Writer(_unit_of(fn), name, weights, fn.name or name).files()
    _write_files(target, files)
    return target


def is_valid_name(name: object) -> bool:
    """Whether ``check_name`` accepts ``name``."""
    try:
        check_name(name)
    except InputError:
        return False
    return True


def _unit_of(fn: symgraph.function.Function) -> Unit:
    """The unit of ``fn`` as mode "c" runs it: the compiled one, or (a "py" function, or one
    built with profile/nan_guard, whose unit carries timers and checks) a plain one
    generated from the same optimised graph, which is the same text."""
    compiled = fn._compiled
    if compiled is not None and not (fn.profiling or fn.nan_guard):
        return compiled.unit
    return generate(fn.inputs, fn.outputs, fn.updates)


def _check_directory(target: Path, overwrite: bool) -> None:
    if target.is_symlink() and not target.exists():
        raise InputError(f"export_c: {target} is a link to nothing; name a directory")
    if target.exists():
        if not target.is_dir():
            raise ExportExistsError(f"export_c: {target} exists and is not a directory")
        if any(target.iterdir()) and not overwrite:
            raise ExportExistsError(
                f"export_c: the directory {target} exists and is not empty; pass overwrite=True to replace the "
                "export's files in it, or name a new directory"
            )


def _write_files(target: Path, files: dict[str, bytes]) -> None:
    """Each file created afresh inside ``target`` (a file or link already there is
    removed first, never followed), under its fixed name: nothing lands outside."""
    target.mkdir(parents=True, exist_ok=True)
    for filename, content in files.items():
        assert "/" not in filename and filename not in (".", ".."), filename
        path = target / filename
        if path.is_symlink() or path.exists():
            if path.is_dir() and not path.is_symlink():
                raise ExportExistsError(f"export_c: {path} is a directory where the export writes a file")
            path.unlink()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(content)


def runtime_headers(entry: str = "symgraph.h") -> list[str]:
    """The csrc/ headers ``entry`` includes, directly or not (``#include "..."``), in a stable order."""
    directory = csrc_dir()
    found: dict[str, None] = {}
    stack = [entry]
    while stack:
        header = stack.pop()
        if header in found:
            continue
        found[header] = None
        text = (directory / header).read_text()
        stack.extend(sorted(set(re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M)), reverse=True))
    return sorted(found)


@dataclass
class _Array:
    """A Variable or constant the unit reads from its buffer array."""

    label: str  # for comments and messages
    value: np.ndarray
    updated: bool = False  # a Variable the function writes: context state


# names a parameter of name_run must not take: its body's locals, the types and macros its
# signature and body use
_TAKEN_NAMES = frozenset(
    """ctx sizes inputs outputs int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t NULL
    FILE errno INFINITY NAN""".split()
)


def _c_identifier(text: str, taken: set[str], export: str) -> str:
    """A C parameter name from a user's name: other characters become _; a name that is a
    keyword or type, or in the runtime's or the export's own namespace (``sg_``,
    ``NAME_``: functions and macros) gets a prefix; a clash with another parameter a
    suffix."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", text) or "x"
    if not base[0].isalpha():
        base = "x_" + base
    own = export.lower()
    if (
        base in _C_KEYWORDS
        or base in _TAKEN_NAMES
        or base.lower() == own
        or base.lower().startswith(("sg_", own + "_"))
    ):
        base = ("b_" if own.startswith("a") else "a_") + base  # a prefix the export's names cannot have
    candidate, k = base, 1
    while candidate in taken:
        candidate, k = f"{base}_{k}", k + 1
    taken.add(candidate)
    return candidate


def _plain_symbol(d: object) -> Sym | None:
    if isinstance(d, DimExpr) and len(d.terms) == 1:
        ((mono, coeff),) = d.terms
        if coeff == 1 and len(mono) == 1 and isinstance(mono[0], Sym):
            return mono[0]
    return None


def _type_text(t: Tensor) -> str:
    return f"{t.dtype.name}{shp.shape_str(t.shape)}"


class _Writer:
    """Everything an export writes, from one unit."""

    def __init__(self, unit: Unit, name: str, weights: str, label: str):
        self.unit, self.name, self.weights, self.label = unit, name, weights, label
        self.up = name.upper()
        updated = {id(var) for var, _ in unit.updates}
        self.variables = [
            _Array(f"Variable {v.name!r} {_type_text(v)}", np.ascontiguousarray(v.storage), id(v) in updated)
            for v in unit.states
        ]
        self.constants = [
            _Array(f"constant {c.dtype.name}{list(c.shape)}", np.ascontiguousarray(c)) for c in unit.constants
        ]
        self.symbol_index = {s.serial: k for k, s in enumerate(unit.symbols)}
        taken: set[str] = set()
        self.size_params = [_c_identifier(s.name, taken, name) for s in unit.symbols]
        self.input_params = [_c_identifier(t.name or f"in{k}", taken, name) for k, t in enumerate(unit.inputs)]
        self.output_params = [_c_identifier(f"out{k}", taken, name) for k in range(len(unit.outputs))]
        self.n_in, self.n_out = len(unit.inputs), len(unit.outputs)
        self.n_var, self.n_cst = len(self.variables), len(self.constants)
        self.headers = runtime_headers()
        self.fingerprint = self._fingerprint()

    # --- the files ------------------------------------------------------------------

    def files(self) -> dict[str, bytes]:
        name = self.name
        directory = csrc_dir()
        files = {f"{name}.h": self.header().encode(), f"{name}.c": self.source().encode()}
        if self.weights == "file":
            files[f"{name}.bin"] = self.weights_file()
        for header in self.headers:
            files[header] = (directory / header).read_bytes()
        files["sg_npy.h"] = NPY_H.encode()
        files["sg_npy.c"] = NPY_C.encode()
        files[f"{name}_main.c"] = main_c(name).encode()
        files["Makefile"] = makefile(name, self.headers, symgraph.__version__).encode()
        return files

    def _fingerprint(self) -> int:
        """What a weights file must match: this unit and its Variables' dtypes and sizes."""
        h = hashlib.sha256(self.unit.source.encode())
        for v in self.variables:
            h.update(f"|{v.value.dtype.str}{v.value.shape}".encode())
        return int.from_bytes(h.digest()[:8], "little")

    # --- shapes as C ------------------------------------------------------------------

    def _dim_c(self, d: object) -> str:
        """A size as a C expression over ``sizes[k]`` (the k-th symbolic size)."""
        text = shp.to_c(d)
        return re.sub(r"\bn_(\d+)\b", lambda m: f"sizes[{self.symbol_index[int(m.group(1))]}]", text)

    def _count_c(self, t: Tensor) -> str:
        return " * ".join(f"(int64_t){self._dim_c(d)}" for d in t.shape) or "1"

    # --- NAME.h -----------------------------------------------------------------------

    def run_signature(self) -> str:
        params = [f"{self.name}_ctx *ctx"]
        params += [f"int64_t {p}" for p in self.size_params]
        params += [f"const {c_type(t.dtype)} *{p}" for t, p in zip(self.unit.inputs, self.input_params)]
        params += [f"{c_type(t.dtype)} *{p}" for t, p in zip(self.unit.outputs, self.output_params)]
        return f"int {self.name}_run({', '.join(params)})"

    def header(self) -> str:
        n, up, unit = self.name, self.up, self.unit
        sizes = [f" *   {p}: the size {s.name}" for p, s in zip(self.size_params, unit.symbols)] or [" *   (none)"]
        ins = [
            f" *   {p}: input {k} {_quoted(t.name)}, {_type_text(t)}"
            for k, (t, p) in enumerate(zip(unit.inputs, self.input_params))
        ]
        outs = [
            f" *   {p}: output {k}, {_type_text(t)}, written by the call"
            for k, (t, p) in enumerate(zip(unit.outputs, self.output_params))
        ]
        variables = [
            f" *   {k}: {v.label}{' (updated by every call)' if v.updated else ''}"
            for k, v in enumerate(self.variables)
        ] or [" *   (none)"]
        weights_doc = (
            f" * The Variables' values are compiled into {n}.c: pass NULL as weights_path."
            if self.weights == "embed"
            else f" * The Variables' values are in {n}.bin (written with this export): pass its path as weights_path."
        )
        codes = [f"#define {up}_{suffix} {value} /* {meaning} */" for suffix, value, meaning in STATUS_CODES]
        max_rank = max([t.ndim for t in (*unit.inputs, *unit.outputs)] or [0])
        weights_arg = "NULL" if self.weights == "embed" else f'"{n}.bin"'
        lines = [
            f"/* {n}.h: the symgraph function {_quoted(self.label)} as C "
            f"(exported by symgraph {symgraph.__version__}).",
            " *",
            " * Use:",
            f" *     {n}_ctx *ctx;",
            f" *     if ({n}_init(&ctx, {weights_arg}) != {up}_OK) "
            f'{{ fprintf(stderr, "%s\\n", {n}_error_message(ctx)); ... }}',
            f" *     int status = {n}_run(ctx, <sizes>, <inputs>, <outputs>);  (as many calls as needed)",
            f' *     if (status != {up}_OK) fprintf(stderr, "%s\\n", {n}_error_message(ctx));',
            f" *     {n}_free(ctx);",
            " *",
            f" * {n}_run's arguments, after the context:",
            " * the symbolic sizes (one build serves every value):",
            *sizes,
            " * the inputs (read only; C order, contiguous; shapes in terms of the sizes):",
            *(ins or [" *   (none)"]),
            " * the outputs (the caller allocates them, with the shapes given; " + f"{n}_output_shape computes them):",
            *(outs or [" *   (none)"]),
            " * Arrays with no elements may be NULL.",
            " *",
            " * The Variables (the model's weights and state), by index:",
            *variables,
            weights_doc,
            " *",
            " * A context keeps its temporaries' memory between calls (allocated at the first call,",
            " * grown when larger sizes need more): after the first call at a given size nothing is",
            " * allocated. One context runs one call at a time: a second thread entering it gets",
            f" * {up}_ERR_BUSY; create one context per thread. Built with OpenMP, every call shares its",
            " * work among OpenMP's threads (OMP_NUM_THREADS).",
            " */",
            f"#ifndef {up}_H",
            f"#define {up}_H",
            "",
            "#include <stdbool.h>",
            "#include <stddef.h>",
            "#include <stdint.h>",
            "",
            "#ifdef __cplusplus",
            'extern "C" {',
            "#endif",
            "",
            "/* Status codes: every function returning int returns one of these. */",
            *codes,
            "",
            f"#define {up}_N_INPUTS {self.n_in}",
            f"#define {up}_N_OUTPUTS {self.n_out}",
            f"#define {up}_N_SIZES {len(unit.symbols)}",
            f"#define {up}_N_VARIABLES {self.n_var}",
            f"#define {up}_MAX_RANK {max_rank} /* the most axes of any input or output */",
            f"#define {up}_WEIGHTS_FILE {1 if self.weights == 'file' else 0} /* 1: {n}_init reads {n}.bin */",
            "",
            f"typedef struct {n}_ctx {n}_ctx; /* opaque */",
            "",
            f"/* A new context in *ctx. On failure other than {up}_ERR_ARGUMENT with ctx NULL, *ctx still holds",
            f" * a context whose {n}_error_message says why (free it); *ctx is NULL only when even that",
            " * could not be allocated. weights_path: see above. */",
            f"int {n}_init({n}_ctx **ctx, const char *weights_path);",
            "",
            "/* One call of the function. On failure the outputs are undefined (and the Variables unchanged,",
            " * for a function that updates them); the message names the failing node and its line. */",
            f"{self.run_signature()};",
            "",
            f"/* The same call with arrays: sizes[{up}_N_SIZES], inputs[{up}_N_INPUTS], outputs[{up}_N_OUTPUTS]. */",
            f"int {n}_run_arrays({n}_ctx *ctx, const int64_t *sizes, const void *const *inputs, void *const *outputs);",
            "",
            "/* Frees the context and everything it holds (NULL is allowed). */",
            f"void {n}_free({n}_ctx *ctx);",
            "",
            '/* The last failure\'s message ("" after a success); never NULL (also for ctx NULL). */',
            f"const char *{n}_error_message(const {n}_ctx *ctx);",
            "",
            "/* For generic callers (the command uses these): the symbolic sizes bound from the inputs'",
            f" * shapes (ranks[{up}_N_INPUTS], shapes[k] the k-th input's): {up}_OK and sizes filled, or",
            f" * {up}_ERR_SHAPE with a message (when message is not NULL) naming the axis that does not fit. */",
            f"int {n}_bind_sizes(const int *ranks, const int64_t *const *shapes, int64_t *sizes, char *message, "
            "size_t message_size);",
            "",
            "/* The shape of input or output k at these sizes, into shape (up to MAX_RANK entries); returns",
            " * the rank, or -1 for a k out of range. */",
            f"int {n}_input_shape(int k, const int64_t *sizes, int64_t *shape);",
            f"int {n}_output_shape(int k, const int64_t *sizes, int64_t *shape);",
            "",
            '/* Names and types (NULL for a k out of range): the input\'s name, its dtype ("float32", "int32",',
            ' * "float64", "int64", "int8", "int16", "uint8", "bool"), its type with its shape',
            ' * ("float32[batch,28,28,1]"); the k-th symbolic size\'s name. */',
            f"const char *{n}_input_name(int k);",
            f"const char *{n}_input_dtype(int k);",
            f"const char *{n}_input_type(int k);",
            f"const char *{n}_output_name(int k);",
            f"const char *{n}_output_dtype(int k);",
            f"const char *{n}_output_type(int k);",
            f"const char *{n}_size_name(int k);",
            "",
            "/* Variable k's current values (its dtype and element count in *dtype and *count when not NULL),",
            " * or NULL for a k out of range. Read only; a call updating it must not be running. */",
            f"const void *{n}_variable(const {n}_ctx *ctx, int k, const char **dtype, int64_t *count);",
            "",
            "#ifdef __cplusplus",
            "}",
            "#endif",
            "",
            f"#endif /* {up}_H */",
            "",
        ]
        return "\n".join(lines)

    # --- NAME.c -----------------------------------------------------------------------

    def source(self) -> str:
        n = self.name
        entry_names = ("sg_entry", "sg_enter_call", "sg_leave_call", "sg_release")
        parts = [
            f"/* {n}.c: the symgraph function {_quoted(self.label)} as C, exported by symgraph {symgraph.__version__}.",
            " *",
            " * Part 1 is the translation unit symgraph compiles for this function (its c_source, as it",
            " * is); part 2 is the API of " + f"{n}.h around that unit's entry point. Build it with the",
            " * Makefile beside it (it includes the symgraph_*.h headers beside it).",
            " */",
            "/* the unit's extern names, prefixed with the export's: two exports link into one program */",
            *(f"#define {e} {n}_{e}_" for e in entry_names),
            "",
            "/* ---- part 1: the unit --------------------------------------------------------------------- */",
            self.unit.source,
            "/* ---- part 2: the API of " + f"{n}.h " + "-" * 60 + " */",
            f'#include "{n}.h"',
            "",
            "#include <errno.h>",
            "#include <stdarg.h>",
            "#include <stdio.h>",
            "#include <string.h>",
            "",
            *self._static_asserts(),
            "",
            *self._tables(),
            "",
            *self._data(),
            "",
            *self._context(),
            "",
            *self._init(),
            "",
            *self._run(),
            "",
            *self._describe(),
            "",
        ]
        return "\n".join(parts)

    def _static_asserts(self) -> list[str]:
        lines = ["/* the API's status codes are the unit's (csrc/symgraph_runtime.h) */"]
        for suffix in _UNIT_STATUS:
            lines.append(f'_Static_assert({self.up}_ERR_{suffix} == SG_ERR_{suffix}, "status codes");')
        lines.append(f'_Static_assert({self.up}_OK == SG_OK, "status codes");')
        return lines

    def _tables(self) -> list[str]:
        n, unit = self.name, self.unit
        node_labels = [_node_label(node) for node in unit.nodes]
        return [
            f"#define {n}_BUF_ {self.n_in + self.n_out + self.n_var + self.n_cst + 1} "
            "/* inputs, outputs, Variables, constants, the call state */",
            f"#define {n}_STATE_ {self.n_in + self.n_out + self.n_var + self.n_cst}",
            f"#define {n}_MESSAGE_SIZE {MESSAGE_SIZE}",
            "",
            "/* each node of the unit by its index (the entry reports the failing one): its op and line */",
            f"static const char *const {n}_nodes_[{max(1, len(node_labels))}] = {{",
            *(f"    {c_string(label)}," for label in node_labels),
            *(["    0,"] if not node_labels else []),
            "};",
            f"#define {n}_N_NODES_ {len(node_labels)}",
        ]

    def _data(self) -> list[str]:
        """The constants always, the Variables when embedded: as the bits of each value
        (exact, whatever the compiler's float parsing), in a union with the C type."""
        n = self.name
        lines = []
        arrays = [(f"{n}_cst{k}_", a) for k, a in enumerate(self.constants)]
        if self.weights == "embed":
            arrays += [(f"{n}_var{k}_", a) for k, a in enumerate(self.variables)]
        for cname, a in arrays:
            value = a.value.reshape(-1)
            count = max(1, value.size)
            bits = f"uint{8 * value.dtype.itemsize}_t"
            words = value.view(f"u{value.dtype.itemsize}").tolist() or [0]
            lines.append(c_comment(a.label))
            lines.append(
                f"static _Alignas(64) const union {{ {bits} bits[{count}]; {c_type(value.dtype)} values[{count}]; }} "
                f"{cname} = {{{{"
            )
            for start in range(0, len(words), 8):
                lines.append("    " + ", ".join(hex(w) for w in words[start : start + 8]) + ",")
            lines.append("}};")
        if self.weights == "file":
            sizes = ", ".join(f"UINT64_C({a.value.nbytes})" for a in self.variables) or "0"
            lines += [
                "/* the weights file: its Variables' byte counts, and what it must have been written for */",
                f"static const uint64_t {n}_var_bytes_[{max(1, self.n_var)}] = {{ {sizes} }};",
                f"#define {n}_FINGERPRINT_ UINT64_C({self.fingerprint:#018x})",
            ]
        info = [(a.value.dtype.name, a.value.size) for a in self.variables]
        lines += [
            f"static const char *const {n}_var_dtype_[{max(1, self.n_var)}] = "
            f"{{ {', '.join(c_string(d) for d, _ in info) or '0'} }};",
            f"static const int64_t {n}_var_count_[{max(1, self.n_var)}] = "
            f"{{ {', '.join(f'INT64_C({c})' for _, c in info) or '0'} }};",
            f"static const int {n}_var_updated_[{max(1, self.n_var)}] = "
            f"{{ {', '.join('1' if a.updated else '0' for a in self.variables) or '0'} }};",
        ]
        return lines

    def _context(self) -> list[str]:
        n = self.name
        return [
            f"struct {n}_ctx {{",
            f"    void *buf[{n}_BUF_];           /* the unit's buffer array (sg_buf) */",
            f"    int64_t sizes[{max(1, len(self.unit.symbols))}];",
            "    int32_t failed;                 /* the failing node's index, from the unit */",
            "    uint64_t call_state[SG_CALL_STATE_WORDS]; /* sg_call_state: temporaries, busy flag */",
            "    void *weights;                  /* the weights file's data, or NULL */",
            f"    void *copies[{max(1, self.n_var)}];  /* embedded Variables a call updates: their writable copies */",
            "    char errbuf[SG_ERRMSG_SIZE];    /* the unit's message */",
            f"    char message[{n}_MESSAGE_SIZE];  /* the message the API returns */",
            "};",
            "",
            f"static int {n}_fail_(struct {n}_ctx *ctx, int status, const char *fmt, ...)",
            "{",
            "    va_list ap;",
            "    va_start(ap, fmt);",
            "    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);",
            "    va_end(ap);",
            "    return status;",
            "}",
            "",
            f"const char *{n}_error_message(const {n}_ctx *ctx)",
            "{",
            f'    return ctx == NULL ? "{n}: no context (out of memory, or {n}_init not called)" : ctx->message;',
            "}",
            "",
            f"void {n}_free({n}_ctx *ctx)",
            "{",
            "    if (ctx == NULL) return;",
            "    sg_call_release((sg_call_state *)ctx->call_state);",
            "    free(ctx->weights);",
            f"    for (int k = 0; k < {self.n_var}; k++) free(ctx->copies[k]);",
            "    free(ctx);",
            "}",
        ]

    def _init(self) -> list[str]:
        n, up = self.name, self.up
        lines = []
        if self.weights == "file":
            lines += self._loader()
        lines += [
            f"int {n}_init({n}_ctx **out, const char *weights_path)",
            "{",
            f"    if (out == NULL) return {up}_ERR_ARGUMENT;",
            f"    {n}_ctx *ctx = ({n}_ctx *)calloc(1, sizeof *ctx);",
            "    *out = ctx;",
            f"    if (ctx == NULL) return {up}_ERR_NOMEM;",
            f"    ctx->buf[{n}_STATE_] = ctx->call_state;",
        ]
        base_var, base_cst = self.n_in + self.n_out, self.n_in + self.n_out + self.n_var
        for k in range(self.n_cst):
            lines.append(f"    ctx->buf[{base_cst + k}] = (void *){n}_cst{k}_.values;")
        if self.weights == "embed":
            lines += [
                "    if (weights_path != NULL)",
                f'        return {n}_fail_(ctx, {up}_ERR_ARGUMENT, "{n}_init: this build has its weights compiled in; '
                'pass NULL as weights_path");',
            ]
            for k, v in enumerate(self.variables):
                if not v.updated:
                    lines.append(f"    ctx->buf[{base_var + k}] = (void *){n}_var{k}_.values;")
                    continue
                lines += [  # a Variable the calls write: the context's own copy
                    f"    ctx->copies[{k}] = malloc(sizeof {n}_var{k}_.values);",
                    f"    if (ctx->copies[{k}] == NULL)",
                    f'        return {n}_fail_(ctx, {up}_ERR_NOMEM, "{n}_init: out of memory for Variable {k}");',
                    f"    memcpy(ctx->copies[{k}], {n}_var{k}_.values, sizeof {n}_var{k}_.values);",
                    f"    ctx->buf[{base_var + k}] = ctx->copies[{k}];",
                ]
        else:
            lines += [
                "    if (weights_path == NULL)",
                f'        return {n}_fail_(ctx, {up}_ERR_ARGUMENT, "{n}_init: this build reads its weights from a '
                f'file: pass the path of {n}.bin as weights_path");',
                f"    return {n}_load_(ctx, weights_path);",
            ]
        lines += [f"    return {up}_OK;"] if self.weights == "embed" else []
        lines.append("}")
        return lines

    def _loader(self) -> list[str]:
        """name_load_: the weights file, checked before a byte of it is used."""
        n, up = self.name, self.up
        base_var = self.n_in + self.n_out
        return [
            '/* The weights file (written by symgraph\'s export_c with weights="file"), all integers in the',
            " * writer's byte order:",
            f' *   8 bytes "{WEIGHTS_MAGIC.decode()}", uint32 version ({WEIGHTS_VERSION}), uint32 0x01020304 '
            "(the byte order),",
            " *   uint64 fingerprint (of this export's unit and Variables), uint64 count, count x uint64 byte",
            " *   sizes; then each Variable's bytes, each starting at a multiple of 64 from the file's start. */",
            f"static int {n}_load_(struct {n}_ctx *ctx, const char *path)",
            "{",
            '    FILE *f = fopen(path, "rb");',
            "    if (f == NULL)",
            f'        return {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: cannot open the weights file %s: %s", path, '
            "strerror(errno));",
            "    unsigned char head[32];",
            "    uint32_t version, order;",
            "    uint64_t fingerprint, count;",
            f"    uint64_t sizes[{max(1, self.n_var)}];",
            "    int status = 0;",
            "    if (fread(head, 1, sizeof head, f) != sizeof head) goto truncated;",
            f'    if (memcmp(head, "{WEIGHTS_MAGIC.decode()}", 8) != 0) {{',
            f'        status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s is not a symgraph weights file", path);',
            "        goto done;",
            "    }",
            "    memcpy(&version, head + 8, 4);",
            "    memcpy(&order, head + 12, 4);",
            "    memcpy(&fingerprint, head + 16, 8);",
            "    memcpy(&count, head + 24, 8);",
            "    if (order != UINT32_C(0x01020304)) {",
            f'        status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s was written on a machine of the other '
            'byte order", path);',
            "        goto done;",
            "    }",
            f"    if (version != {WEIGHTS_VERSION}) {{",
            f'        status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s has format version %u, this build reads '
            f'{WEIGHTS_VERSION}", path, (unsigned)version);',
            "        goto done;",
            "    }",
            f"    if (fingerprint != {n}_FINGERPRINT_ || count != {self.n_var}) {{",
            f'        status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s holds the weights of another export '
            '(another function, or other Variables)", path);',
            "        goto done;",
            "    }",
            "    if (count > 0 && fread(sizes, 8, (size_t)count, f) != (size_t)count) goto truncated;",
            f"    uint64_t offset = (32 + 8 * count + {WEIGHTS_ALIGN - 1}) / {WEIGHTS_ALIGN} * {WEIGHTS_ALIGN}, "
            "start = offset;",
            f"    uint64_t at[{max(1, self.n_var)}];",
            "    for (uint64_t k = 0; k < count; k++) {",
            f"        if (sizes[k] != {n}_var_bytes_[k]) {{",
            f'            status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s: Variable %d has %llu bytes where '
            'this export has %llu", path, (int)k, (unsigned long long)sizes[k], '
            f"(unsigned long long){n}_var_bytes_[k]);",
            "            goto done;",
            "        }",
            "        at[k] = offset - start;",
            f"        offset += (sizes[k] + {WEIGHTS_ALIGN - 1}) / {WEIGHTS_ALIGN} * {WEIGHTS_ALIGN};",
            "    }",
            "    void *data = NULL;",
            "    if (posix_memalign(&data, 64, (size_t)(offset - start) + 1) != 0) {",
            f'        status = {n}_fail_(ctx, {up}_ERR_NOMEM, "{n}_init: out of memory for the weights (%llu bytes)", '
            "(unsigned long long)(offset - start));",
            "        goto done;",
            "    }",
            "    ctx->weights = data;",
            "    /* on to the data (read, not fseek: a long may be 32 bits) */",
            "    for (uint64_t pad = 32 + 8 * count; pad < start; pad++)",
            "        if (fgetc(f) == EOF) goto truncated;",
            "    if (fread(data, 1, (size_t)(offset - start), f) != (size_t)(offset - start)) goto truncated;",
            "    if (fgetc(f) != EOF) {",
            f'        status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s is longer than its Variables", path);',
            "        goto done;",
            "    }",
            "    for (uint64_t k = 0; k < count; k++)",
            f"        ctx->buf[{base_var} + k] = (char *)data + at[k];",
            "    goto done;",
            "truncated:",
            f'    status = {n}_fail_(ctx, {up}_ERR_WEIGHTS, "{n}_init: %s ends early (truncated weights file)", path);',
            "done:",
            "    fclose(f);",
            "    return status;",
            "}",
            "",
        ]

    def _run(self) -> list[str]:
        n, up, unit = self.name, self.up, self.unit
        lines = [
            f"int {n}_run_arrays({n}_ctx *ctx, const int64_t *sizes, const void *const *inputs, void *const *outputs)",
            "{",
            f"    if (ctx == NULL) return {up}_ERR_ARGUMENT;",
            "    if (sg_call_enter((sg_call_state *)ctx->call_state))  /* before anything of the context is touched */",
            f"        return {up}_ERR_BUSY;",
            "    ctx->message[0] = '\\0';",
            "    ctx->errbuf[0] = '\\0';",
            "    (void)sizes; (void)inputs; (void)outputs;",
            "    int status = SG_OK;",
        ]
        if unit.symbols:
            lines += [
                "    if (sizes == NULL) {",
                f'        status = {n}_fail_(ctx, {up}_ERR_ARGUMENT, "{n}_run: sizes is NULL");',
                "        goto done;",
                "    }",
                f"    for (int k = 0; k < {up}_N_SIZES; k++) {{",
                "        if (sizes[k] < 0) {",
                f'            status = {n}_fail_(ctx, {up}_ERR_ARGUMENT, "{n}_run: the size %s is negative (%lld)", '
                f"{n}_size_name(k), (long long)sizes[k]);",
                "            goto done;",
                "        }",
                "        ctx->sizes[k] = sizes[k];",
                "    }",
            ]
        for kind, tensors, array, offset in (
            ("input", unit.inputs, "inputs", 0),
            ("output", unit.outputs, "outputs", self.n_in),
        ):
            if not tensors:
                continue
            lines += [
                f"    if ({array} == NULL) {{",
                f'        status = {n}_fail_(ctx, {up}_ERR_ARGUMENT, "{n}_run: {array} is NULL");',
                "        goto done;",
                "    }",
            ]
            for k, t in enumerate(tensors):
                lines += [
                    f"    if ({array}[{k}] == NULL && {self._count_c(t)} != 0) {{",
                    f'        status = {n}_fail_(ctx, {up}_ERR_ARGUMENT, "{n}_run: {kind} {k} ({_c_text(t.name)}) '
                    'is NULL");',
                    "        goto done;",
                    "    }",
                    f"    ctx->buf[{offset + k}] = (void *){array}[{k}];",
                ]
        lines += [
            "    ctx->failed = -2;",
            "    status = sg_entry(ctx->buf, ctx->sizes, &ctx->failed, ctx->errbuf, sizeof ctx->errbuf);",
            "    if (status != SG_OK) {",
            "        if (ctx->failed >= 0 && ctx->failed < " + f"{n}_N_NODES_)",
            f'            {n}_fail_(ctx, status, "%s: %s", {n}_nodes_[ctx->failed], ctx->errbuf);',
            f"        else if (ctx->failed == {-1})",
            f'            {n}_fail_(ctx, status, "the temporaries: %s", ctx->errbuf);',
            "        else",
            f'            {n}_fail_(ctx, status, "%s", ctx->errbuf);',
            "    }",
            "done:",
            "    sg_call_leave((sg_call_state *)ctx->call_state);",
            "    return status;",
            "}",
            "",
            f"{self.run_signature()}",
            "{",
            f"    const int64_t sizes[{max(1, len(unit.symbols))}] = {{ {', '.join(self.size_params) or '0'} }};",
            f"    const void *const inputs[{max(1, self.n_in)}] = {{ {', '.join(self.input_params) or '0'} }};",
            f"    void *const outputs[{max(1, self.n_out)}] = {{ {', '.join(self.output_params) or '0'} }};",
            "    (void)sizes; (void)inputs; (void)outputs;",
            f"    return {n}_run_arrays(ctx, sizes, inputs, outputs);",
            "}",
        ]
        return lines

    def _describe(self) -> list[str]:
        n, unit = self.name, self.unit
        lines = []

        def table(fname: str, values: list[str]) -> None:
            lines.extend(
                [
                    f"const char *{n}_{fname}(int k)",
                    "{",
                    f"    static const char *const table[{max(1, len(values))}] = "
                    f"{{ {', '.join(c_string(v) for v in values) or '0'} }};",
                    f"    return k >= 0 && k < {len(values)} ? table[k] : NULL;",
                    "}",
                    "",
                ]
            )

        table("input_name", [t.name or f"in{k}" for k, t in enumerate(unit.inputs)])
        table("input_dtype", [t.dtype.name for t in unit.inputs])
        table("input_type", [_type_text(t) for t in unit.inputs])
        table("output_name", [f"out{k}" for k in range(self.n_out)])
        table("output_dtype", [t.dtype.name for t in unit.outputs])
        table("output_type", [_type_text(t) for t in unit.outputs])
        table("size_name", [s.name for s in unit.symbols])
        for kind, tensors in (("input", unit.inputs), ("output", unit.outputs)):
            lines += [f"int {n}_{kind}_shape(int k, const int64_t *sizes, int64_t *shape)", "{"]
            lines.append("    (void)sizes; (void)shape;")
            lines.append("    switch (k) {")
            for k, t in enumerate(tensors):
                dims = " ".join(f"shape[{a}] = {self._dim_c(d)};" for a, d in enumerate(t.shape))
                lines.append(f"    case {k}: {dims} return {t.ndim};")
            lines += ["    default: return -1;", "    }", "}", ""]
        lines += self._bind()
        lines += [
            f"const void *{n}_variable(const {n}_ctx *ctx, int k, const char **dtype, int64_t *count)",
            "{",
            f"    if (ctx == NULL || k < 0 || k >= {self.n_var}) return NULL;",
            f"    if (dtype != NULL) *dtype = {n}_var_dtype_[k];",
            f"    if (count != NULL) *count = {n}_var_count_[k];",
            f"    (void){n}_var_updated_;",
            f"    return ctx->buf[{self.n_in + self.n_out} + k];",
            "}",
        ]
        return lines

    def _bind(self) -> list[str]:
        """name_bind_sizes: each symbol from the first input axis that is exactly it, then
        every axis of every input checked against the shape those sizes give."""
        n, up, unit = self.name, self.up, self.unit
        lines = [
            f"int {n}_bind_sizes(const int *ranks, const int64_t *const *shapes, int64_t *sizes, char *message, "
            "size_t message_size)",
            "{",
            f"    int64_t want[{max(1, max([t.ndim for t in unit.inputs] or [0]))}];",
            f"    int bound[{max(1, len(unit.symbols))}] = {{0}};",
            "    (void)shapes; (void)sizes; (void)want; (void)bound;",
            "#define FAIL_(...) do { if (message != NULL && message_size > 0) snprintf(message, message_size, "
            f"__VA_ARGS__); return {up}_ERR_SHAPE; }} while (0)",
            f'    if (ranks == NULL && {self.n_in} > 0) FAIL_("{n}_bind_sizes: ranks is NULL");',
        ]
        for k, t in enumerate(unit.inputs):
            label = _c_text(t.name or f"in{k}")
            lines.append(
                f'    if (ranks[{k}] != {t.ndim}) FAIL_("input {k} ({label}) has %d axes where '
                f'{_c_text(_type_text(t))} has {t.ndim}", ranks[{k}]);'
            )
            for axis, d in enumerate(t.shape):
                s = _plain_symbol(d)
                if s is None:
                    continue
                i = self.symbol_index[s.serial]
                sname = _c_text(s.name)
                lines += [
                    f"    if (!bound[{i}]) {{ sizes[{i}] = shapes[{k}][{axis}]; bound[{i}] = 1; }}",
                    f"    else if (sizes[{i}] != shapes[{k}][{axis}])",
                    f'        FAIL_("input {k} ({label}) axis {axis} has size %lld, but the size {sname} was %lld in '
                    f'another input", (long long)shapes[{k}][{axis}], (long long)sizes[{i}]);',
                ]
        for i, s in enumerate(unit.symbols):
            lines.append(
                f'    if (!bound[{i}]) FAIL_("the size {_c_text(s.name)} is no single axis of an input: '
                f'{n}_bind_sizes cannot find it (call {n}_run with it)");'
            )
        for k, t in enumerate(unit.inputs):
            label = _c_text(t.name or f"in{k}")
            lines.append(f"    {n}_input_shape({k}, sizes, want);")
            for axis in range(t.ndim):
                lines.append(
                    f'    if (shapes[{k}][{axis}] != want[{axis}]) FAIL_("input {k} ({label}) must have size %lld on '
                    f'axis {axis} ({_c_text(_type_text(t))}), got %lld", (long long)want[{axis}], '
                    f"(long long)shapes[{k}][{axis}]);"
                )
        lines += ["#undef FAIL_", f"    return {up}_OK;", "}", ""]
        return lines

    # --- NAME.bin ---------------------------------------------------------------------

    def weights_file(self) -> bytes:
        head = WEIGHTS_MAGIC + struct.pack("=IIQQ", WEIGHTS_VERSION, 0x01020304, self.fingerprint, self.n_var)
        head += b"".join(struct.pack("=Q", v.value.nbytes) for v in self.variables)
        out = bytearray(head)
        for v in self.variables:
            out += bytes(-len(out) % WEIGHTS_ALIGN)
            out += v.value.tobytes()
        out += bytes(-len(out) % WEIGHTS_ALIGN)
        return bytes(out)


def _node_label(node: Node) -> str:
    """The failing node as the message names it: its op and the user's line (a fused
    kernel: the nodes it computes)."""
    if is_fused(node):
        return f"{node.op.name} (one kernel for: {covers_text(node)})"
    where = f" at {node.location.short}" if node.location is not None else ""
    return f"{node.op.name}{where}"


def _quoted(text: object) -> str:
    """A user's name inside a C comment: printable ASCII only, no comment delimiters."""
    return c_comment(repr(text))[3:-3]


def _c_text(text: object) -> str:
    """A user's text inside a C string literal (without the quotes), in a format string."""
    return c_string(str(text))[1:-1].replace("%", "%%")
