"""The seed's example end to end: two `serve` processes with labs/mx304-p2p/peer{1,2}.set, joined by a UDP wire
on their WAN interfaces, bring the tunnel up by themselves; Host1 pings Host2 through it; the live show
commands report it, and the counters equal the packets actually sent."""

from __future__ import annotations

import asyncio

from device_testlib import (
    REPO,
    DeviceProcess,
    Pair,
    free_udp_ports,
    ike_sas,
    ipsec_sas,
    output_text,
    statistics,
    wait_for,
)

from netconf_device.pfe.wires.host import Host
from netconf_device.pfe.wires.udp import UdpWire


def _seed_pair(tmp_path) -> Pair:
    wan1, wan2, lan1, h1, lan2, h2 = free_udp_ports(6)
    lab = REPO / "labs" / "mx304-p2p"
    peer1 = DeviceProcess("peer1", tmp_path, (lab / "peer1.set").read_text(), [
        f"et-0/2/10=udp:127.0.0.1:{wan1}:127.0.0.1:{wan2}", f"et-0/1/8=udp:127.0.0.1:{lan1}:127.0.0.1:{h1}"])
    peer2 = DeviceProcess("peer2", tmp_path, (lab / "peer2.set").read_text(), [
        f"et-0/2/10=udp:127.0.0.1:{wan2}:127.0.0.1:{wan1}", f"et-0/1/8=udp:127.0.0.1:{lan2}:127.0.0.1:{h2}"])
    pair = Pair(peer1, peer2, {"host1": (h1, lan1), "host2": (h2, lan2)})
    peer1.start()
    peer2.start()
    return pair


def test_device_seed_example_tunnel_traffic_and_live_state(tmp_path):
    pair = _seed_pair(tmp_path)
    try:
        with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
            wait_for(lambda: any(sa["ike-sa-state"] == "UP" for sa in ike_sas(m1)) and ipsec_sas(m1)
                     and ipsec_sas(m2), what="the seed's tunnel up")
            sas1, sas2 = ipsec_sas(m1)[500001], ipsec_sas(m2)[500001]
            # the peers agree: my inbound SPI is the peer's outbound SPI
            assert dict(sas1)["<"] == dict(sas2)[">"] and dict(sas1)[">"] == dict(sas2)["<"]
            terse = output_text(m1.command("show interfaces terse st0.1", format="text"))
            assert "st0.1" in terse and " up    up " in terse.replace("up    up   inet", "up    up ")

            async def traffic():
                w1 = await UdpWire(("127.0.0.1", pair.host_ports["host1"][0]),
                                   ("127.0.0.1", pair.host_ports["host1"][1])).open()
                w2 = await UdpWire(("127.0.0.1", pair.host_ports["host2"][0]),
                                   ("127.0.0.1", pair.host_ports["host2"][1])).open()
                host1, _host2 = Host(w1, ["1.1.1.2"], name="host1"), Host(w2, ["2.2.2.2"], name="host2")
                try:
                    return await host1.ping("2.2.2.2", count=7, interval=0.02, timeout=2.0)
                finally:
                    w1.close()
                    w2.close()

            result = asyncio.run(traffic())
            assert result.received == 7, result
            stats1, stats2 = statistics(m1), statistics(m2)
            # counters equal the packets actually sent: 7 requests out of peer1, 7 replies back
            assert stats1["esp-encrypted-packets"] == 7 and stats1["esp-decrypted-packets"] == 7
            assert stats2["esp-encrypted-packets"] == 7 and stats2["esp-decrypted-packets"] == 7
            assert statistics(m1, 500001)["esp-encrypted-packets"] == 7
            # bytes: the PFE counts what it produced -- ESP packets when encrypting (20 IP + 8 ESP header + 8 IV
            # + 84 inner + 2 padding + 2 trailer + 16 ICV = 140), inner packets when decrypting (84)
            assert stats1["esp-encrypted-bytes"] == 7 * 140 and stats2["esp-decrypted-bytes"] == 7 * 84
            st0 = m1.command("show interfaces st0.1 detail", format="xml")
            assert st0.xpath("//logical-interface/traffic-statistics/output-packets")[0].text == "7"
            assert st0.xpath("//logical-interface/traffic-statistics/input-packets")[0].text == "7"
            # clear zeroes them (one tunnel, then all)
            m1.command("clear security ipsec statistics index 500001", format="xml")
            assert statistics(m1, 500001)["esp-encrypted-packets"] == 0
            m2.command("clear security ipsec statistics", format="xml")
            assert set(statistics(m2).values()) == {0}
            # live text of the seed's verification commands
            ike_text = output_text(m1.command("show security ike security-associations", format="text"))
            assert "UP" in ike_text and "16.1.1.2" in ike_text
            ipsec_text = output_text(m1.command("show security ipsec security-associations", format="text"))
            assert "Total active tunnels: 1" in ipsec_text and "ESP:aes-gcm-256/None" in ipsec_text
            pic = output_text(m1.command("show chassis fpc 0 pic 2", format="text"))
            assert any(line.split()[:2] == ["10", "et-0/2/10"] and line.rstrip().endswith("OK")
                       for line in pic.splitlines())
            route = m1.command("show route 2.2.2.2", format="xml")
            assert route.xpath("//rt-destination")[0].text == "2.2.2.0/24"
            assert route.xpath("//rt-entry/nh/via")[0].text == "st0.1"
    finally:
        pair.stop()
