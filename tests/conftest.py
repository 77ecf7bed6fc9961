"""Test-wide settings: compiled units go to a private temporary cache, never the user's."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    if "SYMGRAPH_TEST_CACHE_DIR" in os.environ:  # reuse one across runs, when asked
        os.environ["SYMGRAPH_CACHE_DIR"] = os.environ["SYMGRAPH_TEST_CACHE_DIR"]
        yield
        return
    previous = os.environ.get("SYMGRAPH_CACHE_DIR")
    os.environ["SYMGRAPH_CACHE_DIR"] = str(tmp_path_factory.mktemp("symgraph-cache"))
    yield
    if previous is None:
        os.environ.pop("SYMGRAPH_CACHE_DIR", None)
    else:
        os.environ["SYMGRAPH_CACHE_DIR"] = previous
