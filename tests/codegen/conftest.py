"""One private build cache for the whole codegen test session."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory):
    """Point SYMGRAPH_CACHE_DIR at a fresh directory for the session (units built by one
    test are reused by the next), and put the old value back afterwards."""
    old = os.environ.get("SYMGRAPH_CACHE_DIR")
    os.environ["SYMGRAPH_CACHE_DIR"] = str(tmp_path_factory.mktemp("symgraph_cache"))
    yield
    if old is None:
        os.environ.pop("SYMGRAPH_CACHE_DIR", None)
    else:
        os.environ["SYMGRAPH_CACHE_DIR"] = old
