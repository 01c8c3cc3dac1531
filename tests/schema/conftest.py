"""Fixtures of the schema tests: the process-wide schema, the seed lab configurations, a 2000-VPN config."""

from __future__ import annotations

import pytest
from schema_testlib import SEED_FILES, seed_text, vpn_set_config


@pytest.fixture(scope="session")
def schema():
    from netconf_device.schema import get_schema

    return get_schema()


@pytest.fixture(scope="session")
def seed_trees(schema):
    return {name: schema.parse(seed_text(name), "set") for name in SEED_FILES}


@pytest.fixture(scope="session")
def scale_tree(schema):
    return schema.parse(vpn_set_config(2000), "set")
