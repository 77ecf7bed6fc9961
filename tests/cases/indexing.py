"""Test rows for indexing ops."""

from __future__ import annotations

from tests.opcheck import Case

CASES: list[Case] = []
