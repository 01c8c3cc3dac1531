"""Fixtures of the strongSwan interop harness tests (helpers live in swan_fixtures.py)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def swan_workdir() -> Iterator[Path]:
    """A short private directory (vici socket paths must stay under 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="ndsw-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def need_tshark() -> None:
    if not shutil.which("tshark"):
        pytest.skip("needs tshark (CI installs it)")
