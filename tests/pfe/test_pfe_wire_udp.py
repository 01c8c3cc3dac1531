"""Wires: the UDP link (also between two processes, with a real tunnel across it), the in-process pipe,
the host helper and the asyncio runner around the datapath."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from pfe_testlib import LAN, WAN, make_intent

from netconf_device.config.intent import ManualSa
from netconf_device.pfe import Datapath
from netconf_device.pfe.runner import PfeRunner
from netconf_device.pfe.wires.host import Host
from netconf_device.pfe.wires.pipe import pipe_pair
from netconf_device.pfe.wires.udp import UdpWire

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MANUAL_KEY = bytes(range(50, 86))


def manual(side: str) -> ManualSa:
    remote = "16.1.1.2" if side == "a" else "16.1.1.1"
    return ManualSa(gateway=ipaddress.ip_address(remote), external_interface="et-0/2/10", local_address=None,
                    spi=4242, encryption_algorithm="aes-256-gcm", key=MANUAL_KEY)


def test_pfe_udp_wire_batches_and_ignores_strangers():
    async def main():
        received: list[list[bytes]] = []
        a = await UdpWire(("127.0.0.1", 0), None).open()
        b = await UdpWire(("127.0.0.1", 0), a.local_address).open()
        a.set_remote(b.local_address)
        a.set_receiver(received.append)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.sendto(b"injected", a.local_address)
        for n in range(20):
            b.send(bytes([n]) * 100)
        for _ in range(50):
            await asyncio.sleep(0.01)
            if sum(map(len, received)) >= 20:
                break
        stranger.close()
        a.close()
        b.close()
        return received

    batches = asyncio.run(main())
    packets = [p for batch in batches for p in batch]
    assert packets == [bytes([n]) * 100 for n in range(20)]
    assert len(batches) < 20  # arrivals in one loop turn are delivered together


def test_pfe_runner_host_ping_through_two_pfes_in_process():
    async def main():
        pfe_a, pfe_b = Datapath("a"), Datapath("b")
        pfe_a.apply_intent(make_intent("a", manual=manual("a")))
        pfe_b.apply_intent(make_intent("b", manual=manual("b")))
        run_a, run_b = PfeRunner(pfe_a), PfeRunner(pfe_b)
        h1_end, a_lan = pipe_pair()
        h2_end, b_lan = pipe_pair()
        a_wan, b_wan = pipe_pair()
        run_a.attach(LAN, a_lan)
        run_a.attach(WAN, a_wan)
        run_b.attach(LAN, b_lan)
        run_b.attach(WAN, b_wan)
        host1 = Host(h1_end, ["1.1.1.2", "2001:db8:1::2"], name="host1")
        Host(h2_end, ["2.2.2.2", "2001:db8:2::2"], name="host2")
        v4 = await host1.ping("2.2.2.2", count=3, interval=0.01)
        v6 = await host1.ping("2001:db8:2::2", count=2, interval=0.01)
        gateway = await host1.ping("1.1.1.1", count=1)
        too_big = await host1.ping("2.2.2.2", count=1, size=3000, timeout=0.5)
        return v4, v6, gateway, too_big, pfe_a.ipsec_statistics(), pfe_b.ipsec_statistics()

    v4, v6, gateway, too_big, stats_a, stats_b = asyncio.run(main())
    assert (v4.received, v6.received, gateway.received) == (3, 2, 1)
    assert too_big.received == 1  # pre-fragmented into the tunnel both ways, reassembled by the hosts
    assert stats_a["esp_encrypted_packets"] == stats_b["esp_decrypted_packets"]
    assert stats_b["esp_encrypted_packets"] == stats_a["esp_decrypted_packets"]


CHILD = textwrap.dedent(
    """
    import asyncio, ipaddress, sys
    sys.path[:0] = [{repo!r}, {here!r}]
    from pfe_testlib import LAN, WAN, make_intent
    from test_pfe_wire_udp import manual
    from netconf_device.pfe import Datapath
    from netconf_device.pfe.runner import PfeRunner
    from netconf_device.pfe.wires.host import Host
    from netconf_device.pfe.wires.pipe import pipe_pair
    from netconf_device.pfe.wires.udp import UdpWire

    async def main():
        pfe = Datapath("b")
        pfe.apply_intent(make_intent("b", manual=manual("b")))
        runner = PfeRunner(pfe)
        wan = await UdpWire(("127.0.0.1", 0), ("127.0.0.1", int(sys.argv[1]))).open()
        host_end, lan = pipe_pair()
        runner.attach(WAN, wan)
        runner.attach(LAN, lan)
        Host(host_end, ["2.2.2.2"], name="host2")
        print(wan.local_address[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent is done
        print(pfe.ipsec_statistics()["esp_decrypted_packets"], flush=True)

    asyncio.run(main())
    """
)


def test_pfe_udp_wire_between_two_processes():
    async def main():
        pfe = Datapath("a")
        pfe.apply_intent(make_intent("a", manual=manual("a")))
        runner = PfeRunner(pfe)
        wan = await UdpWire(("127.0.0.1", 0), None).open()
        code = CHILD.format(repo=REPO, here=HERE)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, str(wan.local_address[1]), cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            port = int(await asyncio.wait_for(child.stdout.readline(), 20))
            wan.set_remote(("127.0.0.1", port))
            host_end, lan = pipe_pair()
            runner.attach(WAN, wan)
            runner.attach(LAN, lan)
            host1 = Host(host_end, ["1.1.1.2"], name="host1")
            result = await host1.ping("2.2.2.2", count=5, interval=0.01, timeout=2.0)
            child.stdin.close()
            decrypted_by_child = int(await asyncio.wait_for(child.stdout.readline(), 20))
        finally:
            if child.returncode is None:
                child.kill()
            await child.wait()
            runner.close()
        return result, decrypted_by_child, pfe.ipsec_statistics()

    result, decrypted_by_child, stats = asyncio.run(main())
    assert result.received == 5
    assert decrypted_by_child == 5 == stats["esp_encrypted_packets"]
    assert stats["esp_decrypted_packets"] == 5


@pytest.mark.parametrize("count", (1, 3))
def test_pfe_runner_reports_events(count):
    async def main():
        events = []
        pfe = Datapath("a")
        pfe.apply_intent(make_intent("a"))  # a VPN without SA: traffic asks for one
        runner = PfeRunner(pfe, on_event=events.append)
        host_end, lan = pipe_pair()
        runner.attach(LAN, lan)
        host = Host(host_end, ["1.1.1.2"])
        await host.ping("2.2.2.2", count=count, interval=0.01, timeout=0.05)
        return events

    events = asyncio.run(main())
    assert [type(e).__name__ for e in events] == ["Acquire"]
