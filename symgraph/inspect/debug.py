"""``SYMGRAPH_DEBUG=1..4``: what a compiled function prints to stderr as it is built.

- 1: the pass report (what each rewrite did), and the graph is verified after every pass;
- 2: also the graph as built and as it runs (``fn.dump`` before and after the passes);
- 3: also the generated C (``fn.c_source``);
- 4: also the C compiler's command line (printed by symgraph/runtime/build.py when the
  unit is compiled; a unit found in the cache runs no compiler, which is said instead).

Any other non-empty value counts as 1.
"""

from __future__ import annotations

import sys
from typing import Any


def print_build(fn: Any, level: int, file: Any = None) -> None:
    """Print what ``level`` asks for about the compiled function ``fn`` (to stderr)."""
    out = file or sys.stderr
    label = f"function {fn.name!r}" if fn.name else "function"
    out.write(f"[symgraph] {label} (mode {fn.mode!r})\n{fn.report}\n")
    if level >= 2:
        out.write("[symgraph] graph as built:\n")
        fn.dump(file=out, optimized=False)
        out.write("[symgraph] graph as it runs:\n")
        fn.dump(file=out)
    if level >= 3 and fn.c_source is not None:
        out.write(f"[symgraph] C source:\n{fn.c_source}\n")
    if level >= 4 and fn.c_source is not None and "compiler" not in fn.compile_times:
        out.write("[symgraph] the C unit came from the cache: no compiler ran\n")
    out.flush()
