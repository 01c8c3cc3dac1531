"""TUN wires: real Linux hosts in network namespaces ping each other through two emulated PFEs joined by
a UDP wire, with a real ESP tunnel between the PFEs (root only)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess

import pytest
from pfe_testlib import LAN, WAN, make_intent

from netconf_device.config.intent import ManualSa
from netconf_device.pfe import Datapath
from netconf_device.pfe.runner import PfeRunner
from netconf_device.pfe.wires.tun import TunWire
from netconf_device.pfe.wires.udp import UdpWire

pytestmark = pytest.mark.root

KEY = bytes(range(90, 126))


def _manual(side: str) -> ManualSa:
    return ManualSa(gateway=ipaddress.ip_address("16.1.1.2" if side == "a" else "16.1.1.1"),
                    external_interface="et-0/2/10", local_address=None, spi=7777,
                    encryption_algorithm="aes-256-gcm", key=KEY)


@pytest.fixture
def namespaces():
    suffix = os.urandom(2).hex()
    names = [f"ndpfe-h1-{suffix}", f"ndpfe-h2-{suffix}"]
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    try:
        yield names, suffix
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False)


async def _run(*command: str, timeout: float = 30) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode, output.decode()


def test_pfe_tun_netns_hosts_ping_through_two_pfes(namespaces):
    (ns1, ns2), suffix = namespaces

    async def main():
        pfe_a, pfe_b = Datapath("a"), Datapath("b")
        pfe_a.apply_intent(make_intent("a", manual=_manual("a")))
        pfe_b.apply_intent(make_intent("b", manual=_manual("b")))
        run_a, run_b = PfeRunner(pfe_a), PfeRunner(pfe_b)
        tun1 = await TunWire(f"ndpfe1-{suffix}", netns=ns1, addresses=("1.1.1.2/24", "2001:db8:1::2/64 nodad"),
                             routes=("default", "::/0")).open()
        tun2 = await TunWire(f"ndpfe2-{suffix}", netns=ns2, addresses=("2.2.2.2/24", "2001:db8:2::2/64 nodad"),
                             routes=("default", "::/0")).open()
        wan_a = await UdpWire(("127.0.0.1", 0), None).open()
        wan_b = await UdpWire(("127.0.0.1", 0), wan_a.local_address).open()
        wan_a.set_remote(wan_b.local_address)
        run_a.attach(LAN, tun1)
        run_a.attach(WAN, wan_a)
        run_b.attach(LAN, tun2)
        run_b.attach(WAN, wan_b)
        try:
            ping4 = await _run("ip", "netns", "exec", ns1, "ping", "-c", "3", "-i", "0.2", "-W", "2", "2.2.2.2")
            ping6 = await _run("ip", "netns", "exec", ns1, "ping", "-6", "-c", "2", "-i", "0.2", "-W", "2",
                               "2001:db8:2::2")
            # Bigger than the tunnel can carry in one piece: the PFE pre-fragments (DF clear) ...
            big = await _run("ip", "netns", "exec", ns1, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "1440",
                             "-M", "dont", "2.2.2.2")
            # ... or answers "fragmentation needed" with the tunnel's inner MTU (DF set).
            df = await _run("ip", "netns", "exec", ns1, "ping", "-c", "1", "-W", "2", "-s", "1440", "-M", "do",
                            "2.2.2.2")
        finally:
            for runner in (run_a, run_b):
                runner.close()
        return ping4, ping6, big, df, pfe_a.ipsec_statistics(), pfe_b.ipsec_statistics()

    ping4, ping6, big, df, stats_a, stats_b = asyncio.run(main())
    assert ping4[0] == 0, ping4[1]
    assert ping6[0] == 0, ping6[1]
    assert big[0] == 0, big[1]
    assert df[0] != 0 and "mtu = 1446" in df[1], df[1]
    assert stats_a["esp_encrypted_packets"] == stats_b["esp_decrypted_packets"] >= 9
    assert stats_a["exceeds_tunnel_mtu"] == 1
