"""labs/scale-2000 at a small size: the generated configurations commit, every tunnel comes up, traffic
goes through the right tunnel (bench/lab_scale.py runs the full 2000)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netconf_device.lab import Lab

REPO = Path(__file__).resolve().parents[2]
SCALE = REPO / "labs" / "scale-2000"


def test_lab_scale_generator_output():
    out = subprocess.run([sys.executable, str(SCALE / "generate.py"), "--peer", "2", "--tunnels", "251"],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert "set security ipsec vpn vpn251 bind-interface st0.251" in lines
    assert "set security ike gateway gw251 address 172.17.1.1" in lines  # tunnel 251: X=1, Y=1
    assert "set security ike gateway gw251 local-address 172.16.1.1" in lines
    assert "set routing-options static route 10.1.1.1/32 next-hop st0.251" in lines
    assert "set security ipsec vpn vpn1 establish-tunnels responder-only" in lines
    assert sum(line.startswith("set security ipsec vpn") and line.endswith("bind-interface st0." + line.split(".")[-1])
               for line in lines) == 251
    bad = subprocess.run([sys.executable, str(SCALE / "generate.py"), "--peer", "1", "--tunnels", "2001"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--tunnels must be 1..2000" in bad.stderr


@pytest.mark.slow
def test_lab_scale_small_all_up_and_traffic_per_tunnel(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "port-registry"))
    lab = Lab.load(SCALE, state_dir=tmp_path / "state", params={"tunnels": 12})
    try:
        status = lab.up(wait=True, timeout=60)
        assert [(d.name, d.tunnels.up, d.tunnels.total) for d in status.devices] == [("peer1", 12, 12),
                                                                                    ("peer2", 12, 12)]
        # tunnel 7 carries 10.1.0.7 <-> 10.2.0.7, and only tunnel 7 counts it
        result = lab.ping("host1", "10.2.0.7", count=3, interval=0.02, source="10.1.0.7")
        assert (result.sent, result.received) == (3, 3)
        for name in ("peer1", "peer2"):
            device = lab.device(name)
            assert device.ipsec_statistics(index=500007)["esp-encrypted-packets"] == 3
            assert device.ipsec_statistics(index=500006)["esp-encrypted-packets"] == 0
        with pytest.raises(ValueError, match="10.3.0.1 is not an address of host host1"):
            lab.ping("host1", "10.2.0.1", count=1, source="10.3.0.1")
    finally:
        lab.down()
