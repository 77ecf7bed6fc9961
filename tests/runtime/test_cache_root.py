"""The cache root is judged before anything in it is created or read: owner, mode, and
symbolic links looked at with lstat (userdirs.private_dir)."""

from __future__ import annotations

import json
import os
import pwd
import stat
import warnings
from pathlib import Path

import pytest

from symgraph.runtime import CacheError, CacheWarning, build, cache, get_toolchain, toolchain
from symgraph.userdirs import private_dir

from .conftest import ADD_CDEF, add_source


def nobody() -> tuple[int, int]:
    """The uid and gid of ``nobody``; skips unless this process may give files away (root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user (chown)")
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user named nobody here")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def fresh_toolchain():
    """The toolchain resolved afresh in the test (so the probe file is looked for) and after it."""
    toolchain._toolchain.cache_clear()
    yield
    toolchain._toolchain.cache_clear()


def planted_probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A probe file that would hit for this compiler, every version replaced by PLANTED."""
    source = tmp_path / "probe-source"
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(source))
    toolchain._toolchain.cache_clear()
    get_toolchain()
    known = json.loads((source / toolchain.PROBES_FILE).read_text())
    toolchain._toolchain.cache_clear()
    assert known
    return json.dumps({k: dict(v, version="PLANTED") for k, v in known.items()})


def refused_build(root: Path, monkeypatch: pytest.MonkeyPatch, match: str) -> None:
    """A C build with ``root`` as the cache root raises CacheError matching ``match``."""
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
    toolchain._toolchain.cache_clear()
    with pytest.raises(CacheError, match=match):
        build.build(add_source(), ADD_CDEF)


@pytest.mark.parametrize("owner", ["getuid", "chown"])
def test_root_of_another_user_is_refused_before_anything_is_made_or_read(tmp_path, monkeypatch, fresh_toolchain, owner):
    planted = planted_probes(tmp_path, monkeypatch)
    root = tmp_path / "theirs"
    root.mkdir(mode=0o700)
    (root / toolchain.PROBES_FILE).write_text(planted)
    if owner == "chown":
        os.chown(root, *nobody())
    else:  # this process pretends to be someone else: the root is then another user's
        uid = os.getuid() + 4242
        monkeypatch.setattr(os, "getuid", lambda: uid)
    refused_build(root, monkeypatch, "belongs to another user")
    assert get_toolchain().version != "PLANTED"  # the probe file was not read
    assert [p.name for p in root.iterdir()] == [toolchain.PROBES_FILE]  # nothing was made
    assert (root / toolchain.PROBES_FILE).read_text() == planted  # nor written


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770])
def test_root_writable_by_others_is_refused_and_left_empty(tmp_path, monkeypatch, fresh_toolchain, mode):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, mode)
    refused_build(root, monkeypatch, "writable by group or others")
    assert list(root.iterdir()) == []


def test_missing_root_is_created_private(tmp_path, monkeypatch, fresh_toolchain):
    root = tmp_path / "a" / "new"
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
    lib = build.build(add_source(), ADD_CDEF)
    assert lib.path.is_relative_to(root / "compiled")
    for d in (root.parent, root, root / "compiled"):
        assert stat.S_IMODE(d.lstat().st_mode) == 0o700
    assert (root / toolchain.PROBES_FILE).is_file()


def test_link_owned_by_another_user_is_refused_whatever_it_points_to(tmp_path, monkeypatch, fresh_toolchain):
    """The swap of the report: in a sticky shared directory, someone else's link to one of
    our directories passed a stat() check and could then be repointed."""
    uid, gid = nobody()
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    link = tmp_path / "sgcache"
    link.symlink_to(mine)
    os.lchown(link, uid, gid)
    refused_build(link, monkeypatch, "symbolic link owned by another user")
    assert list(mine.iterdir()) == []


def test_own_link_to_own_private_directory_is_used_resolved(tmp_path, monkeypatch):
    mine = tmp_path / "elsewhere" / "cache"
    mine.mkdir(parents=True, mode=0o700)
    link = tmp_path / "sgcache"
    link.symlink_to(mine)
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(link))
    assert private_dir(link) == mine.resolve()
    assert cache.cache_dir() == mine.resolve() / "compiled"
    assert build.build(add_source(), ADD_CDEF).path.is_relative_to(mine.resolve() / "compiled")


def test_own_link_to_a_shared_directory_is_refused(tmp_path, monkeypatch, fresh_toolchain):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    link = tmp_path / "sgcache"
    link.symlink_to(shared)
    refused_build(link, monkeypatch, r"where the link .* points\) is writable by group or others")
    assert list(shared.iterdir()) == []


def test_compiled_as_another_users_link_is_refused(tmp_path, monkeypatch, fresh_toolchain):
    uid, gid = nobody()
    root = tmp_path / "sgcache"
    root.mkdir(mode=0o700)
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    (root / "compiled").symlink_to(target)
    os.lchown(root / "compiled", uid, gid)
    refused_build(root, monkeypatch, "symbolic link owned by another user")
    assert list(target.iterdir()) == []


def test_root_that_is_a_file_is_refused(tmp_path, monkeypatch, fresh_toolchain):
    root = tmp_path / "afile"
    root.write_text("x")
    refused_build(root, monkeypatch, "is not a directory")


def test_probe_file_link_is_neither_read_nor_written_through(tmp_path, monkeypatch, fresh_toolchain):
    planted = planted_probes(tmp_path, monkeypatch)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(planted)
    root = tmp_path / "sgcache"
    root.mkdir(mode=0o700)
    (root / toolchain.PROBES_FILE).symlink_to(elsewhere)
    monkeypatch.setenv("SYMGRAPH_CACHE_DIR", str(root))
    assert get_toolchain().version != "PLANTED"
    assert elsewhere.read_text() == planted
    assert not (root / toolchain.PROBES_FILE).is_symlink()  # replaced by the probe's own file


def test_entry_whose_library_is_a_link_is_rebuilt(cache_root):
    k = "ef" * 32

    def builder(tmp: Path) -> str:
        (tmp / "unit.so").write_bytes(b"\x7fELF not really")
        return "unit.so"

    entry = cache.get_or_build(k, builder)
    copy = cache_root / "copy.so"
    copy.write_bytes(entry.library.read_bytes())
    entry.library.unlink()
    entry.library.symlink_to(copy)  # same bytes, same checksum: only the link is wrong
    with pytest.warns(CacheWarning, match="not a regular file"):
        again = cache.get_or_build(k, builder)
    assert again.built and not again.library.is_symlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cache.get_or_build(k, builder).built
