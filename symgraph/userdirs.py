"""Where symgraph keeps files of its own: the per-user cache root, created private and
checked before anything in it is created or read.

Compiled units (symgraph/runtime) and downloaded datasets (symgraph/datasets) live
under one root: ``$SYMGRAPH_CACHE_DIR``, else ``$XDG_CACHE_HOME/symgraph``, else
``~/.cache/symgraph``. The cache holds shared objects this process will load, so whoever
can write there can run code in it. ``private_dir`` is the gate, with these rules:

- A missing directory is created 0700 (with its missing parents), then checked like an
  existing one: someone who created it first is caught by the check.
- The directory must be owned by the current user and not writable by group or others
  (a sticky 1777 directory is refused too: others could add entries to it).
- The last component is looked at with ``lstat``, not ``stat``. A symbolic link there is
  accepted only when the link itself is owned by the current user (or by root); its
  target, resolved once, must then pass the same checks, and the resolved path is what
  the caller uses from then on. A link owned by anyone else is refused whatever it
  points to: in a sticky shared directory such as /tmp its owner can repoint it between
  the check and the use, and ``stat`` would have checked the target they chose. This is
  git's rule for ``safe.directory`` (the directory must be the user's), with links
  judged by who can change them.
- The ancestors of the directory are not checked (git does not either): a cache under
  a directory that others may rename entries of is the user's choice.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from symgraph.errors import SymgraphError


class CacheError(SymgraphError, OSError):
    """The cache directory cannot be used safely (wrong owner, permissions, or a link others control)."""


def cache_root() -> Path:
    """The symgraph cache root (not created here)."""
    root = os.environ.get("SYMGRAPH_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(os.path.expanduser(xdg)) else Path.home() / ".cache"
    return base / "symgraph"


def private_dir(directory: Path) -> Path:
    """``directory`` created 0700 if missing and checked safe (see the module's rules);
    the path to use from then on (the target when ``directory`` is an accepted link).
    Raises ``CacheError`` when it is not safe, before anything in it is touched."""
    st = _lstat_or_create(directory)
    if not stat.S_ISLNK(st.st_mode):
        _check_owned_private(directory, st)
        return directory
    if st.st_uid not in (os.getuid(), 0):
        raise CacheError(
            f"symgraph cache path {directory} is a symbolic link owned by another user (uid {st.st_uid}), "
            f"who could repoint it at their own files; set SYMGRAPH_CACHE_DIR to a directory of your own"
        )
    target = Path(os.path.realpath(directory))
    _check_owned_private(target, _lstat_or_create(target), link=directory)
    return target


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


def _lstat_or_create(directory: Path) -> os.stat_result:
    try:
        return os.lstat(directory)
    except FileNotFoundError:
        pass
    with contextlib.suppress(NotADirectoryError):  # whatever is there now is judged below
        make_private_dirs(directory)
    return os.lstat(directory)


def _check_owned_private(directory: Path, st: os.stat_result, link: Path | None = None) -> None:
    via = f" (where the link {link} points)" if link is not None else ""
    if not stat.S_ISDIR(st.st_mode):
        raise CacheError(f"symgraph cache path {directory}{via} is not a directory")
    if st.st_uid != os.getuid():
        raise CacheError(
            f"symgraph cache directory {directory}{via} belongs to another user (uid {st.st_uid}); "
            f"set SYMGRAPH_CACHE_DIR to a directory of your own"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheError(
            f"symgraph cache directory {directory}{via} is writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):o}), so another user could plant code this process would load: "
            f"`chmod 700 {directory}` or set SYMGRAPH_CACHE_DIR"
        )
