"""Fixtures of the device tests: two `serve` processes joined by UDP wires (see device_testlib)."""

from __future__ import annotations

import pytest
from device_testlib import Pair


@pytest.fixture
def pairs(tmp_path):
    """Start pairs with ``pairs.start(vpns1, vpns2=None)``; every pair is stopped at the end."""
    from device_testlib import start_pair

    started: list[Pair] = []

    class Starter:
        def start(self, vpns1, vpns2=None, extra=(), tap=False):
            workdir = tmp_path / f"pair{len(started)}"
            workdir.mkdir()
            pair = start_pair(workdir, vpns1, vpns2, extra, tap=tap)
            started.append(pair)
            return pair

    yield Starter()
    for pair in started:
        pair.stop()
