"""The seed's example end to end: the lab labs/mx304-p2p (two `serve` processes with peer{1,2}.set, joined by a
UDP wire on their WAN interfaces) brings the tunnel up by itself; Host1 pings Host2 through it; the live show
commands report it, and the counters equal the packets actually sent."""

from __future__ import annotations

from device_testlib import REPO, ike_sas, ipsec_sas, output_text, statistics, wait_for

from netconf_device.lab import Lab


def test_device_seed_example_tunnel_traffic_and_live_state(tmp_path, monkeypatch):
    monkeypatch.setenv("NETCONF_DEVICE_LAB_REGISTRY", str(tmp_path / "port-registry"))
    lab = Lab.load(REPO / "labs" / "mx304-p2p", state_dir=tmp_path / "state")
    lab.up(wait=False)  # the devices alone must bring the tunnel up: waited for below, with the show commands
    try:
        with lab.device("peer1").connect() as m1, lab.device("peer2").connect() as m2:
            wait_for(lambda: any(sa["ike-sa-state"] == "UP" for sa in ike_sas(m1)) and ipsec_sas(m1)
                     and ipsec_sas(m2), what="the seed's tunnel up")
            sas1, sas2 = ipsec_sas(m1)[500001], ipsec_sas(m2)[500001]
            # the peers agree: my inbound SPI is the peer's outbound SPI
            assert dict(sas1)["<"] == dict(sas2)[">"] and dict(sas1)[">"] == dict(sas2)["<"]
            terse = output_text(m1.command("show interfaces terse st0.1", format="text"))
            assert "st0.1" in terse and " up    up " in terse.replace("up    up   inet", "up    up ")

            result = lab.host("host1").ping("2.2.2.2", count=7, interval=0.02, timeout=2.0)
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
        lab.down()
