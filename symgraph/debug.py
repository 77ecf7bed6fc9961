"""``SYMGRAPH_DEBUG``: how much a compiled function says about itself as it is built.

Read by every stage that reports (the passes verify the graph from level 1, the build
prints the compiler's command line at 4); what each level prints is in
symgraph/inspect/debug.py.
"""

from __future__ import annotations

import os


def debug_level() -> int:
    """The SYMGRAPH_DEBUG level, 0 when unset."""
    raw = os.environ.get("SYMGRAPH_DEBUG", "").strip()
    if not raw:
        return 0
    try:
        return max(0, min(4, int(raw)))
    except ValueError:
        return 1
