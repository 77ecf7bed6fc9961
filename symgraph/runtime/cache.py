"""The on-disk, content-addressed cache of built shared objects.

Why each rule:

- Location: ``$SYMGRAPH_CACHE_DIR/compiled``, else ``$XDG_CACHE_HOME/symgraph/compiled``,
  else ``~/.cache/symgraph/compiled`` (the root is shared with ``symgraph.datasets``,
  which ``clear()`` leaves alone). The root is checked before anything in it is created
  or read, then ``compiled/`` the same way (``userdirs.private_dir``: created 0700; owned
  by this user, not writable by group or others, a symbolic link only when this user
  owns it, checked with ``lstat``; else ``CacheError``): whoever can write there can
  make this process load their code. Files inside are opened without following links.
- Key: sha256 over the C source, the cffi declarations, the runtime headers, the
  toolchain's fingerprint (compiler, version, flags, directories, BLAS, host CPU), the
  symgraph, cffi and Python ABI versions. Equal keys mean interchangeable binaries.
  Everything but the unit and the toolchain is read once at import (``_INTERPRETER``),
  so no thread can see a value half initialised (sysconfig's tables once were).
- One entry is one directory ``<key>/`` holding the shared object, the generated C and
  ``meta.json`` (with the sha256 of the shared object). It is built in a private
  temporary directory and renamed into place, so an entry is complete or absent.
- One build per key across processes: builders take an ``fcntl.flock`` on
  ``.locks/<key>.lock`` (a lock per key, so different units build in parallel) and look
  again before building. Readers take no lock: they verify the checksum first.
- A damaged entry (missing file, unreadable metadata, checksum mismatch: a truncated or
  overwritten .so) is reported with a ``CacheWarning`` and rebuilt under the lock; the
  old directory is moved aside, never written in place, so a process that has the old
  file mapped keeps running.
- A builder killed mid-build leaves its ``.tmp-<key>-*`` directory. The next builder of
  that key removes it (it holds the key's lock, so no live process owns one); after
  building, a builder also removes temporary directories of other keys older than
  ``STALE_AFTER`` seconds whose key lock is free (a live builder holds its lock for as
  long as its directory exists), and ``.trash-*`` directories that old.

POSIX only (fcntl).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cffi

from symgraph.runtime.toolchain import EXT_SUFFIX, Toolchain, runtime_headers
from symgraph.userdirs import CacheError, cache_root, private_dir

KEY_FORMAT = "symgraph-cache-1"  # bump to invalidate every entry when the layout changes
META = "meta.json"
LOCKS = ".locks"
STALE_AFTER = 3600.0  # seconds: a temporary directory of another key this old, its lock free, is a dead builder's
_TMP = ".tmp-"
_TRASH = ".trash-"

# The key's parts that depend on nothing but this interpreter and installation, read once
# at import, before any thread of symgraph's starts.
_INTERPRETER: tuple[str, ...] = (
    KEY_FORMAT,
    importlib.metadata.version("symgraph"),
    cffi.__version__,
    sys.implementation.cache_tag or "",
    EXT_SUFFIX,
)

__all__ = [
    "CacheError",  # defined beside the directory checks (symgraph.userdirs), raised from here
    "CacheInfo",
    "CacheWarning",
    "Entry",
    "cache_dir",
    "clear",
    "content_key",
    "get_or_build",
    "info",
    "key_lock",
    "remove_abandoned",
    "root_dir",
]


class CacheWarning(RuntimeWarning):
    """A cache entry was damaged and is being rebuilt."""


@dataclass(frozen=True)
class Entry:
    """A verified entry: where its shared object is and whether this call built it."""

    key: str
    directory: Path
    library: Path
    built: bool


@dataclass(frozen=True)
class CacheInfo:
    """What ``info()`` reports."""

    dir: Path
    entries: int
    bytes: int


def root_dir() -> Path:
    """The symgraph cache root (shared with datasets); not created here."""
    return cache_root()


def cache_dir() -> Path:
    """The directory compiled units live in, created 0700 and checked private (the root
    first: nothing is created in a root that fails the checks)."""
    return private_dir(private_dir(root_dir()) / "compiled")


def content_key(source: str, cdef: str, toolchain: Toolchain) -> str:
    """The sha256 (hex) naming the entry built from these inputs."""
    h = _key_prefix(toolchain.fingerprint).copy()
    for part in (source, cdef):
        _feed(h, part.encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def _key_prefix(toolchain_fingerprint: str) -> Any:
    """The hash state after everything but the unit itself, computed once per toolchain."""
    h = hashlib.sha256()
    for part in (*_INTERPRETER, toolchain_fingerprint):
        _feed(h, part.encode())
    for name, content in runtime_headers():
        _feed(h, name.encode())
        _feed(h, content)
    return h


def _feed(h: Any, data: bytes) -> None:
    h.update(len(data).to_bytes(8, "little"))  # length-prefixed: no two part lists hash alike
    h.update(data)


def get_or_build(key: str, builder: Callable[[Path], str], meta: dict[str, Any] | None = None) -> Entry:
    """The verified entry for ``key``, building it with ``builder(tmpdir)`` if needed.

    ``builder`` writes files into the empty directory it is given and returns the shared
    object's file name there. It runs at most once per key across all processes sharing
    the cache (unless the entry is damaged or removed later).
    """
    directory = cache_dir()
    entry_dir = directory / key
    if _check(entry_dir) is None:
        return _entry(key, entry_dir, built=False)
    with key_lock(directory, key):
        problem = _check(entry_dir)
        if problem is None:  # another process built it while we waited
            return _entry(key, entry_dir, built=False)
        if problem != "missing":
            warnings.warn(
                f"symgraph cache entry {entry_dir} is damaged ({problem}); rebuilding", CacheWarning, stacklevel=3
            )
        for stale in directory.glob(f"{_TMP}{key}-*"):  # a dead builder's: a live one would hold the lock
            _remove(stale)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP}{key}-", dir=directory))
        try:
            library = builder(tmp)
            lib_path = tmp / library
            record = dict(meta or {}, key=key, library=library, sha256=_sha256(lib_path))
            record.update(size=lib_path.stat().st_size, created=time.time())
            (tmp / META).write_text(json.dumps(record, indent=1, sort_keys=True))
            _replace(tmp, entry_dir, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    remove_abandoned(directory)
    return _entry(key, entry_dir, built=True)


def remove_abandoned(directory: Path, older_than: float = STALE_AFTER) -> int:
    """Remove the temporary directories killed builders left in ``directory`` (older than
    ``older_than`` seconds, their key's lock free) and trash that old; how many went."""
    now = time.time()
    removed = 0
    for path in directory.iterdir():
        name = path.name
        if not name.startswith((_TMP, _TRASH)):
            continue
        try:
            if now - os.lstat(path).st_mtime < older_than:
                continue
        except FileNotFoundError:
            continue
        if name.startswith(_TRASH):
            _remove(path)
            removed += 1
            continue
        key = name[len(_TMP) : len(_TMP) + 64]
        if not _is_key(key):
            continue
        with key_lock(directory, key, wait=False) as held:
            if held:  # no live builder of that key: whoever made this directory is gone
                _remove(path)
                removed += 1
    return removed


def clear() -> int:
    """Remove every compiled entry (not datasets); returns how many were removed.

    Each entry is removed under its key's lock, so a build in progress finishes first.
    Libraries already loaded keep working (their files are unlinked, not overwritten).
    """
    directory = cache_dir()
    removed = 0
    for key in sorted(_keys_present(directory)):
        with key_lock(directory, key, remove=True):
            if os.path.lexists(directory / key):
                _remove(directory / key)
                removed += 1
            for stale in directory.glob(f"{_TMP}{key}-*"):  # left by a killed builder
                _remove(stale)
    for trash in directory.glob(f"{_TRASH}*"):
        _remove(trash)
    return removed


def info() -> CacheInfo:
    """The cache directory, its number of entries and their total size in bytes."""
    directory = cache_dir()
    entries = [p for p in directory.iterdir() if _is_key(p.name) and p.is_dir()]
    total = sum(f.stat().st_size for e in entries for f in e.rglob("*") if f.is_file())
    return CacheInfo(dir=directory, entries=len(entries), bytes=total)


@contextlib.contextmanager
def key_lock(directory: Path, key: str, *, remove: bool = False, wait: bool = True) -> Iterator[bool]:
    """Hold the exclusive cross-process lock of ``key`` (``flock`` on ``.locks/<key>.lock``);
    yields True. With ``wait=False``, yields False at once when another holder has it.

    With ``remove``, the lock file is unlinked before release. Lockers therefore check,
    once they hold the lock, that the file they locked is still the one at the path, and
    start over if not; otherwise two processes could each hold a lock on a different file.
    """
    locks = private_dir(directory / LOCKS)
    path = locks / f"{key}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        except BaseException:
            os.close(fd)
            raise
        try:
            held = os.fstat(fd)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
        except BaseException:
            os.close(fd)
            raise
        if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)
    try:
        yield True
    finally:
        if remove:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        os.close(fd)


def _entry(key: str, entry_dir: Path, built: bool) -> Entry:
    library = json.loads(_read_bytes(entry_dir / META))["library"]
    return Entry(key=key, directory=entry_dir, library=entry_dir / library, built=built)


def _check(entry_dir: Path) -> str | None:
    """None when the entry is complete and its checksum matches, else what is wrong."""
    try:
        if not stat.S_ISDIR(os.lstat(entry_dir).st_mode):
            return "not a directory"
    except FileNotFoundError:
        return "missing"
    try:
        meta = json.loads(_read_bytes(entry_dir / META))
        library = entry_dir / meta["library"]
        if Path(meta["library"]).name != meta["library"]:
            return "bad metadata"
        if not library.exists():
            return f"{meta['library']} is missing"
        if not stat.S_ISREG(os.lstat(library).st_mode):
            return f"{meta['library']} is not a regular file"
        if _sha256(library) != meta["sha256"]:
            return f"{meta['library']} does not match its checksum"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable metadata: {exc}"
    return None


def _replace(tmp: Path, entry_dir: Path, directory: Path) -> None:
    """Rename ``tmp`` to ``entry_dir``, first moving a damaged ``entry_dir`` aside (caller holds the lock)."""
    if os.path.lexists(entry_dir):
        trash = directory / f"{_TRASH}{uuid.uuid4().hex}"
        os.rename(entry_dir, trash)
        os.rename(tmp, entry_dir)
        _remove(trash)
    else:
        os.rename(tmp, entry_dir)


def _remove(path: Path) -> None:
    """Remove a directory tree, or a file or link in its place (never what a link points to)."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with _open_nofollow(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_bytes(path: Path) -> bytes:
    with _open_nofollow(path) as f:
        return f.read()


def _open_nofollow(path: Path) -> Any:
    """``path`` opened for reading, refusing (ELOOP) a symbolic link in its place."""
    return open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")


def _is_key(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _keys_present(directory: Path) -> set[str]:
    keys = {p.name for p in directory.iterdir() if _is_key(p.name)}
    keys |= {p.name[len(_TMP) : len(_TMP) + 64] for p in directory.glob(f"{_TMP}*")}
    if (directory / LOCKS).is_dir():
        keys |= {p.stem for p in (directory / LOCKS).glob("*.lock") if _is_key(p.stem)}
    return {k for k in keys if _is_key(k)}
