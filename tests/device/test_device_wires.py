"""`serve --wire`: the syntax (parsed, printed back, refused with a clear message), and the TUN kind with
hosts in network namespaces that reach each other with the system `ping` through two devices (root)."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest
from device_testlib import REPO, DeviceProcess, Vpn, free_udp_ports, ipsec_sas, peer_config, wait_for

from netconf_device.live.wirespec import TunWireSpec, UdpWireSpec, WireSpecError, parse_wire, parse_wires


def test_device_wire_syntax_round_trips():
    udp = parse_wire("et-0/2/10=udp:127.0.0.1:40001:127.0.0.1:40002")
    assert udp == UdpWireSpec("et-0/2/10", ("127.0.0.1", 40001), ("127.0.0.1", 40002))
    v6 = parse_wire("et-0/1/8=udp:[::1]:40001:[::1]:40002")
    assert v6.local == ("::1", 40001) and str(v6) == "et-0/1/8=udp:[::1]:40001:[::1]:40002"
    tun = parse_wire("et-0/1/8=tun:nddev-h1,netns=h1,address=1.1.1.2/24,route=default,route=10.0.0.0/8,mtu=9000")
    assert tun == TunWireSpec("et-0/1/8", "nddev-h1", "h1", ("1.1.1.2/24",), ("default", "10.0.0.0/8"), 9000)
    for spec in (udp, v6, tun):
        assert parse_wire(str(spec)) == spec


@pytest.mark.parametrize("text, says", [
    ("et-0/2/10", "expected IFD=udp"),
    ("st0=udp:127.0.0.1:1:127.0.0.1:2", "not a physical interface"),
    ("et-0/2/10.0=udp:127.0.0.1:1:127.0.0.1:2", "not a physical interface"),
    ("et-0/2/10=udp:127.0.0.1:1:127.0.0.1", "expected udp:LOCAL_IP"),
    ("et-0/2/10=udp:127.0.0.1:0:127.0.0.1:2", "out of range"),
    ("et-0/2/10=udp:127.0.0.1:1:[::1]:2", "families differ"),
    ("et-0/2/10=udp:localhost:1:127.0.0.1:2", "not an IP address"),
    ("et-0/2/10=tun:a-name-that-is-too-long", "1-15"),
    ("et-0/2/10=tun:t1,colour=red", "unknown option"),
    ("et-0/2/10=tun:t1,address=1.1.1.300/24", "not ADDRESS/PREFIX"),
    ("et-0/2/10=gre:1.1.1.1", "unknown kind"),
])
def test_device_bad_wires_are_refused_with_the_reason(text, says):
    with pytest.raises(WireSpecError, match=says):
        parse_wire(text)


def test_device_serve_refuses_bad_and_unusable_wires(tmp_path):
    with pytest.raises(WireSpecError, match="more than one wire"):
        parse_wires(["et-0/2/10=udp:127.0.0.1:1:127.0.0.1:2", "et-0/2/10=udp:127.0.0.1:3:127.0.0.1:4"])
    base = [sys.executable, "-m", "netconf_device", "serve", "--port", "0", "--state-dir", str(tmp_path / "s")]
    bad = subprocess.run([*base, "--wire", "st0=udp:127.0.0.1:1:127.0.0.1:2"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "not a physical interface" in bad.stderr
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        port = busy.getsockname()[1]
        used = subprocess.run([*base, "--wire", f"et-0/2/10=udp:127.0.0.1:{port}:127.0.0.1:9"], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    finally:
        busy.close()
    assert used.returncode == 1 and "cannot open a wire" in used.stderr


@pytest.fixture
def namespaces():
    suffix = uuid.uuid4().hex[:4]
    names = [f"nddev-h1-{suffix}", f"nddev-h2-{suffix}"]
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True)
    yield names
    for name in names:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.mark.root
def test_device_tun_wires_carry_system_ping_between_namespaces(tmp_path, namespaces):
    ns1, ns2 = namespaces
    suffix = ns1[-4:]
    wan1, wan2 = free_udp_ports(2)
    peer1 = DeviceProcess("peer1", tmp_path, peer_config(1, [Vpn(1)]), [
        f"et-0/2/10=udp:127.0.0.1:{wan1}:127.0.0.1:{wan2}",
        f"et-0/1/8=tun:nddev1-{suffix},netns={ns1},address=1.1.1.2/24,route=default"])
    peer2 = DeviceProcess("peer2", tmp_path, peer_config(2, [Vpn(1)]), [
        f"et-0/2/10=udp:127.0.0.1:{wan2}:127.0.0.1:{wan1}",
        f"et-0/1/8=tun:nddev2-{suffix},netns={ns2},address=2.2.1.2/24,route=default"])
    try:
        peer1.start()
        peer2.start()
        with peer1.connect() as m1:
            wait_for(lambda: ipsec_sas(m1), what="tunnel up")
            ping = subprocess.run(["ip", "netns", "exec", ns1, "ping", "-c", "3", "-i", "0.2", "-W", "2", "2.2.1.2"],
                                  capture_output=True, text=True, timeout=30)
            assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout + ping.stderr
            stats = m1.command("show security ipsec statistics", format="xml")
            assert stats.xpath("//esp-encrypted-packets")[0].text == "3"
    finally:
        peer1.stop()
        peer2.stop()
    for ns, link in ((ns1, f"nddev1-{suffix}"), (ns2, f"nddev2-{suffix}")):  # the TUN went with its device
        gone = subprocess.run(["ip", "-n", ns, "link", "show", link], capture_output=True, text=True)
        assert gone.returncode != 0
