"""The strongSwan tunnel-setup reference runs end to end (a few tunnels; the real N is bench/)."""

from __future__ import annotations

import pytest
from swan_fixtures import swan_prefix

from netconf_device.interop.swan_bench import measure, tunnel_hosts

pytestmark = [pytest.mark.root, pytest.mark.strongswan]


def test_interop_tunnel_hosts_plan():
    assert tunnel_hosts(1) == ("10.1.0.1", "10.2.0.1")
    assert tunnel_hosts(250) == ("10.1.0.250", "10.2.0.250")
    assert tunnel_hosts(251) == ("10.1.1.1", "10.2.1.1")
    with pytest.raises(ValueError):
        tunnel_hosts(0)


def test_interop_strongswan_reference_small_run():
    (run,) = measure(8, "aes256-sha256-ecp256", "aes256gcm16", prefix=swan_prefix("bt"))
    assert run.ok, run.errors
    assert run.established == run.responder_established == 8
    assert run.ike_sas_initiator == run.ike_sas_responder == 8
    assert run.dataplane_ok is True  # ping through tunnels 1 and 8, ESP counted on both
    assert 0 < run.seconds < 30
    assert run.line() == f"strongswan_tunnels: tunnels=8 seconds={run.seconds:.3f} ike=aes256-sha256-ecp256"
