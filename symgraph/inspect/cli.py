"""``python -m symgraph``: look at a graph defined in a Python file without writing code.

    python -m symgraph dump model.py:step            # the graph as it runs
    python -m symgraph dump model.py:loss --built    # the graph as built, before the passes
    python -m symgraph dot model.py:step > step.dot  # DOT text (--svg FILE: a picture)
    python -m symgraph c model.py:step               # the generated C
    python -m symgraph report model.py:step          # the pass report

``NAME`` is a compiled function, a tensor (or list of tensors), or a function taking no
arguments that returns one of those. The file runs as a script would (``__name__`` is
not ``"__main__"``, so a guarded training loop does not start).
"""

from __future__ import annotations

import argparse
import runpy
import sys
from typing import Any

from symgraph.errors import InputError, SymgraphError
from symgraph.function import Function
from symgraph.graph.core import Tensor
from symgraph.inspect.dump import dump
from symgraph.inspect.graphviz import to_dot, to_svg


def _load(target: str) -> Any:
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise InputError(f"expected FILE.py:NAME, got {target!r}")
    namespace = runpy.run_path(path, run_name="__symgraph_inspect__")
    if name not in namespace:
        found = ", ".join(sorted(k for k in namespace if not k.startswith("_")))
        raise InputError(f"{path} defines no {name!r} (it defines: {found})")
    value = namespace[name]
    if callable(value) and not isinstance(value, (Function, Tensor)):
        value = value()
    return value


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m symgraph", description="Inspect a symgraph graph.")
    parser.add_argument("command", choices=["dump", "dot", "c", "report"])
    parser.add_argument("target", help="FILE.py:NAME (a function, a tensor, or a callable returning one)")
    parser.add_argument("--built", action="store_true", help="the graph as built, before the passes")
    parser.add_argument("--svg", metavar="FILE", help="with dot: draw into FILE through Graphviz")
    args = parser.parse_args(argv)
    try:
        value = _load(args.target)
        is_function = isinstance(value, Function)
        optimized = not args.built  # as it runs, by default, for tensors too
        if args.command == "dump":
            dump(value, file=sys.stdout, optimized=optimized)
        elif args.command == "dot":
            if args.svg:
                print(to_svg(value, args.svg, optimized=optimized))
            else:
                sys.stdout.write(to_dot(value, optimized=optimized))
        else:
            if not is_function:
                raise InputError(f"{args.command} needs a compiled function, {args.target} is {type(value).__name__}")
            text = value.c_source if args.command == "c" else str(value.report)
            if text is None:
                raise InputError(f"{args.target} runs in mode {value.mode!r}: no C source")
            print(text)
    except Exception as exc:  # one line for the user, not a traceback
        if not isinstance(exc, (SymgraphError, OSError)):
            raise
        print(f"python -m symgraph: {exc}", file=sys.stderr)
        return 1
    return 0
