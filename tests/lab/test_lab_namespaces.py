"""Labs with network namespaces (root): hosts where plain `ping` works, and labs/mx-strongswan, where a real
strongSwan in a namespace is the MX's peer and both sides' counters must agree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from netconf_device.interop import netns
from netconf_device.lab import Lab
from netconf_device.lab.processes import process_alive

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(autouse=True)
def private_port_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "port-registry"))


def lab_links(lab_id: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [line.split(":")[1].strip() for line in out.splitlines() if f"ndlab{lab_id}" in line]


def test_lab_mx304_p2p_netns_hosts_plain_ping_and_device_restart(tmp_path):
    lab = Lab.load(REPO / "labs" / "mx304-p2p", state_dir=tmp_path / "state", netns_hosts=True)
    try:
        lab.up(wait=True, timeout=60)
        lab_id = lab._require_state()["id"]
        h1, h2 = lab.host("host1"), lab.host("host2")
        assert (h1.kind, h1.netns) == ("netns", f"ndlab-{lab_id}-host1")
        assert "1.1.1.2/24" in netns.Netns(h1.netns).addresses()
        ping = h1.run(["ping", "-n", "-c", "3", "-i", "0.05", "-W", "1", "2.2.2.2"], timeout=30)
        assert ping.returncode == 0 and "3 received" in ping.stdout, ping.stdout + ping.stderr
        # `lab ping` on a namespace host runs the system ping there
        result = lab.ping("host2", "1.1.1.2", count=2, interval=0.05)
        assert (result.sent, result.received) == (2, 2), result.output

        # a device restarts: its TUN comes back with the host's address and route, the tunnel renegotiates
        lab.device("peer2").restart()
        lab.wait_tunnels(timeout=60)
        assert "2.2.2.2/24" in netns.Netns(h2.netns).addresses()
        ping = h2.run(["ping", "-n", "-c", "2", "-i", "0.05", "-W", "1", "1.1.1.2"], timeout=30)
        assert ping.returncode == 0 and "2 received" in ping.stdout, ping.stdout + ping.stderr
    finally:
        lab.down()
    assert netns.list_namespaces(f"ndlab-{lab_id}") == []
    assert lab_links(lab_id) == []


@pytest.mark.strongswan
def test_lab_mx_strongswan_ping_through_the_tunnel_counters_agree(tmp_path):
    lab = Lab.load(REPO / "labs" / "mx-strongswan", state_dir=tmp_path / "state")
    try:
        status = lab.up(wait=True, timeout=60)
        lab_id = lab._require_state()["id"]
        assert status.device("mx1").tunnels.up == 1
        [peer] = status.peers
        assert peer.alive and peer.ike_up == 1 and peer.children_up == 1
        charon = lab.charon("swan")
        [child] = charon.child_sas()
        mx = lab.device("mx1")
        stats = mx.ipsec_statistics()
        before = (stats["esp-encrypted-packets"], stats["esp-decrypted-packets"], stats["esp-decrypted-bytes"])
        swan_before = (child.packets_in, child.packets_out, child.bytes_out)

        # the strongSwan side's host pings the MX side's host through the tunnel
        ping = lab.host("host2").run(["ping", "-n", "-c", "5", "-i", "0.05", "-W", "1", "1.1.1.2"], timeout=30)
        assert ping.returncode == 0 and "5 received" in ping.stdout, ping.stdout + ping.stderr

        stats = mx.ipsec_statistics()
        [child] = charon.child_sas()
        mx_encrypted = stats["esp-encrypted-packets"] - before[0]
        mx_decrypted = stats["esp-decrypted-packets"] - before[1]
        mx_decrypted_bytes = stats["esp-decrypted-bytes"] - before[2]
        swan_in = child.packets_in - swan_before[0]
        swan_out = child.packets_out - swan_before[1]
        swan_out_bytes = child.bytes_out - swan_before[2]
        # charon encrypted 5 requests, the MX decrypted them; the MX encrypted 5 replies, charon decrypted them
        assert (swan_out, mx_decrypted) == (5, 5)
        assert (mx_encrypted, swan_in) == (5, 5)
        assert mx_decrypted_bytes == swan_out_bytes == 5 * 84  # inner IPv4 packets (20 + 8 + 56 bytes)
        per_tunnel = mx.ipsec_statistics(index=500001)
        assert per_tunnel["esp-decrypted-packets"] == stats["esp-decrypted-packets"]

        # and the other way, from the MX side's host
        result = lab.ping("host1", "2.2.2.2", count=2, interval=0.05)
        assert (result.sent, result.received) == (2, 2), result.output
        charon_pid = lab._require_state()["peers"]["swan"]["pid"]
    finally:
        lab.down()
    assert not process_alive(charon_pid)
    assert netns.list_namespaces(f"ndlab-{lab_id}") == []
    assert lab_links(lab_id) == []
