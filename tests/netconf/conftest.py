"""Fixtures of the NETCONF tests (helpers live in ndnc_support.py)."""

from __future__ import annotations

import pytest
from ndnc_support import start_device


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """One device per test module (starting one costs about half a second)."""
    dev = start_device(tmp_path_factory.mktemp("ndnc-dev"))
    yield dev
    dev.stop()
