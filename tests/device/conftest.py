"""Fixtures of the device tests: labs of two devices (see device_testlib), stopped at the end of each test."""

from __future__ import annotations

import pytest
from device_testlib import Pair


@pytest.fixture
def pairs(tmp_path, monkeypatch):
    """Start pairs with ``pairs.start(vpns1, vpns2=None, configs=None, netns_hosts=False)``."""
    from device_testlib import start_pair

    # port reservations of these labs go to a registry of their own
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "port-registry"))
    started: list[Pair] = []

    class Starter:
        def start(self, vpns1, vpns2=None, *, configs=None, netns_hosts=False):
            workdir = tmp_path / f"pair{len(started)}"
            workdir.mkdir()
            pair = start_pair(workdir, vpns1, vpns2, configs=configs, netns_hosts=netns_hosts)
            started.append(pair)
            return pair

    yield Starter()
    for pair in started:
        pair.stop()
