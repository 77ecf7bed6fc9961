"""Test-wide settings: compiled units go to a private temporary cache, never the user's;
Hypothesis has no per-example deadline (a deadline is a timing test, and CI runs on a
busy 2-core machine): the "ci" profile is the default, and ``--hypothesis-profile=dev``
(or ``SYMGRAPH_HYPOTHESIS_PROFILE=dev``) brings a deadline back for local runs."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None)
settings.register_profile("dev", deadline=timedelta(milliseconds=400))
settings.load_profile(os.environ.get("SYMGRAPH_HYPOTHESIS_PROFILE", "ci"))


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
