"""What two devices put on the wire, captured between them and decoded by scapy (an independent decoder):
a service set with UDP encapsulation sends ESP in UDP to its configured port with per-flow source ports;
a tunnel MTU smaller than the packets pre-fragments them before encryption, end to end."""

from __future__ import annotations

import asyncio

from device_testlib import Vpn, ipsec_sas, open_host, settled, statistics, wait_for
from scapy.layers.inet import IP, UDP

ENCAP_PORT = 5000


def _outer(tap, direction: str, src_prefix: str):
    for d, data in list(tap.packets):
        packet = IP(data)
        if d == direction and packet.src.startswith(src_prefix):
            yield packet


def test_device_udp_encapsulation_and_tunnel_mtu_on_the_wire(pairs):
    vpns = [Vpn(1, udp_encapsulation=ENCAP_PORT), Vpn(2, tunnel_mtu=600)]
    pair = pairs.start(vpns, tap=True)
    tap = pair.tap
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
        wait_for(lambda: 500001 in ipsec_sas(m1) and 500002 in ipsec_sas(m2) and settled(m1, m2, 2),
                 timeout=20, what="both tunnels up")
        detail = m1.command("show security ipsec security-associations index 500001 detail", format="xml")
        assert detail.xpath("//sa-packet-encapsulation-destination-port")[0].text == str(ENCAP_PORT)
        tap.packets.clear()

        async def traffic():
            host1 = await open_host(pair, "host1", [1, 2])
            host2 = await open_host(pair, "host2", [1, 2])
            for flow in range(24):  # 24 inner flows (different UDP source ports) through VPN 1
                host1.send_udp("2.2.1.2", 9000, b"flow %d" % flow, sport=20000 + flow)
            arrived = []
            for _ in range(24):
                packet = await host2.wait_received(timeout=2.0)
                if packet is not None:
                    arrived.append(packet)
            ping1 = await host1.ping("2.2.1.2", count=3, interval=0.02, timeout=2.0)
            big = await host1.ping("2.2.2.2", count=5, interval=0.02, timeout=2.0, size=1400)
            return arrived, ping1, big

        arrived, ping1, big = asyncio.run(traffic())
        assert len(arrived) == 24 and ping1.received == 3
        assert big.received == 5, big

    # --- VPN 1: every ESP packet rides in UDP to port 5000 from a per-flow port in 49152-65535
    encap = [p for p in _outer(tap, "1>2", "16.1.1.") if UDP in p and p[UDP].dport != 500]
    assert len(encap) == 24 + 3
    assert {p[UDP].dport for p in encap} == {ENCAP_PORT}
    sports = {p[UDP].sport for p in encap}
    assert all(49152 <= port <= 65535 for port in sports)
    assert len(sports) >= 10  # different inner flows take different source ports (ECMP entropy)
    flows_of_pings = {p[UDP].sport for p in encap[-3:]}
    assert len(flows_of_pings) == 1  # one inner flow keeps one source port
    assert not [p for p in _outer(tap, "1>2", "16.1.1.") if p.proto == 50]  # no plain ESP for VPN 1
    back = [p for p in _outer(tap, "2>1", "16.1.1.") if UDP in p and p[UDP].dport != 500]
    assert back and {p[UDP].dport for p in back} == {ENCAP_PORT}

    # --- VPN 2: 1428-byte packets into a 600-byte tunnel: fragmented before ESP, never after
    esp2 = [p for p in _outer(tap, "1>2", "16.1.2.") if p.proto == 50]
    assert esp2 and all(len(p) <= 600 for p in esp2)
    assert all(p.flags.MF == 0 and p.frag == 0 for p in esp2)  # outer packets are not fragments
    assert len(esp2) >= 5 * 3  # each 1428-byte echo request needed at least three ESP packets
    with pair.peer2.connect() as m2:
        stats = statistics(m2, 500002)
        assert stats["esp-decrypted-packets"] == len(esp2)  # every fragment decrypted on its own
