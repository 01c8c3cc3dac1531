"""Fixtures of the configuration-engine tests: the real schema, the seed's configs, datastores."""

from __future__ import annotations

import pytest
from config_testlib import SEED, T0, ApplyRecorder

from netconf_device.config.datastore import Datastore
from netconf_device.schema import get_schema


@pytest.fixture(scope="session")
def schema():
    return get_schema()


@pytest.fixture(scope="session")
def seed_set() -> dict[int, str]:
    return {peer: (SEED / f"peer{peer}.set").read_text() for peer in (1, 2)}


@pytest.fixture
def make_datastore(tmp_path, schema):
    """``make_datastore()`` -> (Datastore, ApplyRecorder) on ``tmp_path/state`` (the same directory each call,
    so a second call is a restart of the device)."""

    made: list[Datastore] = []

    def make(now: float = T0, start: bool = True):
        for previous in made:  # the previous "device process" stops before the next one starts
            previous.close()
        ds = Datastore(tmp_path / "state", schema=schema)
        made.append(ds)
        recorder = ApplyRecorder()
        ds.add_apply_callback(recorder)
        if start:
            ds.start(now)
        return ds, recorder

    yield make
    for ds in made:
        ds.close()
