"""A commit does each expensive step once (counted, never timed): the YANG validation a load into an empty
candidate already did is not repeated by ``commit check`` and ``commit``, secrets the load encoded are not
decoded again, and the cyclic garbage collector is paused while the commit validates and compiles."""

from __future__ import annotations

import gc

import pytest
from config_testlib import T0

from netconf_device.config import compile as compile_module
from netconf_device.config.errors import CommitError
from netconf_device.config.generate import vpn_config
from netconf_device.schema import secret
from netconf_device.schema.validate import Validator


@pytest.fixture
def libyang_runs(monkeypatch):
    runs: list[bool] = []  # parse_only of each libyang run
    real = Validator._run

    def counting(self, xml, parse_only):
        runs.append(parse_only)
        return real(self, xml, parse_only)

    monkeypatch.setattr(Validator, "_run", counting)
    return runs


def test_load_commit_check_commit_run_libyang_once(make_datastore, libyang_runs, monkeypatch):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", client="netconf", now=T0)
    decoded = []
    real_decode = secret._decode
    monkeypatch.setattr(secret, "_decode", lambda cipher: decoded.append(cipher) or real_decode(cipher))
    libyang_runs.clear()
    ds.load(1, vpn_config(50), format="set", action="set", now=T0)
    ds.commit_check(1, T0)
    result = ds.commit(1, T0 + 1)
    assert len(result.new.ipsec_vpns) == 50
    assert libyang_runs == [False], "one full validation, by the load"
    assert decoded == [], "the 50 pre-shared keys the load encoded are not decoded again"
    assert result.new.ike_policies["ike_pol_7"].pre_shared_key == b"psk-00007-secret"


def test_a_change_after_the_load_is_validated_again(make_datastore, libyang_runs):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", client="netconf", now=T0)
    ds.load(1, vpn_config(5), format="set", action="set", now=T0)
    ds.load(1, "delete security ike gateway gw_3\n", format="set", action="set", now=T0)
    with pytest.raises(CommitError) as info:
        ds.commit(1, T0)
    messages = [p.message for p in info.value.problems]
    assert "Referenced IKE gateway must be defined under [edit security ike gateway]" in messages
    assert libyang_runs[-1] is False and len(libyang_runs) == 3  # load (whole), load (patch), commit


def test_commit_validates_and_compiles_with_the_collector_paused(make_datastore, monkeypatch):
    ds, _ = make_datastore()
    ds.open_session(1, "lab", client="netconf", now=T0)
    ds.load(1, vpn_config(5), format="set", action="set", now=T0)
    seen = []
    real = compile_module.compile_intent
    monkeypatch.setattr(compile_module, "compile_intent", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    ds.commit(1, T0)
    assert seen == [False] and gc.isenabled()
