"""Where symgraph keeps files of its own: the per-user cache root, created private.

Compiled units (symgraph/runtime) and downloaded datasets (symgraph/datasets) live
under one root: ``$SYMGRAPH_CACHE_DIR``, else ``$XDG_CACHE_HOME/symgraph``, else
``~/.cache/symgraph``. Directories are created 0700 because the cache holds shared
objects this process will load: nobody else may be able to write there.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def cache_root() -> Path:
    """The symgraph cache root (not created here)."""
    root = os.environ.get("SYMGRAPH_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(os.path.expanduser(xdg)) else Path.home() / ".cache"
    return base / "symgraph"


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and missing parents with mode 0700 (existing ones are left alone)."""
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, 0o700)
            os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask
    if not directory.is_dir():
        raise NotADirectoryError(f"symgraph: {directory} is not a directory")
