"""The live operational commands of a device whose tunnel is up, as RPCs, as `<command>` text and with
`| display xml` / `| display json`; show/clear act on the engines; one Junos release everywhere."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from device_testlib import REPO, Vpn, ipsec_sas, open_host, output_text, settled, statistics, wait_for
from lxml import etree
from ncclient.operations import RPCError

from netconf_device.show import junos_version

# command -> top element of its XML reply
LIVE_COMMANDS = {
    "show security ike security-associations": "ike-security-associations-information",
    "show security ike security-associations detail": "ike-security-associations-information",
    "show security ike security-associations 16.1.1.2": "ike-security-associations-information",
    "show security ike active-peer": "ike-active-peers-information",
    "show security ike active-peer detail": "ike-active-peers-information",
    "show security ipsec security-associations": "ipsec-security-associations-information",
    "show security ipsec security-associations detail": "ipsec-security-associations-information",
    "show security ipsec security-associations index 500001": "ipsec-security-associations-information",
    "show security ipsec statistics": "usp-ipsec-total-statistics-information",
    "show security ipsec statistics index 500001": "usp-ipsec-total-statistics-information",
    "show security ipsec inactive-tunnels": "ipsec-unestablished-tunnel-information",
    "show interfaces terse": "interface-information",
    "show interfaces st0.1": "interface-information",
    "show route": "route-information",
    "show route 2.2.1.0/24": "route-information",
    "show chassis fpc 0 pic 2": "fpc-information",
}


def _json(m, text: str) -> dict:
    reply = m.rpc(etree.fromstring(f'<command format="json">{text}</command>'))
    return json.loads(etree.fromstring(reply.tostring).text)


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def test_device_live_commands_in_every_format_and_clear_acts_on_the_engines(pairs):
    pair = pairs.start([Vpn(1), Vpn(2, establish="responder-only")], [Vpn(1), Vpn(2, establish="responder-only")])
    with pair.peer1.connect() as m:
        with pair.peer2.connect() as m2:
            wait_for(lambda: 500001 in ipsec_sas(m) and settled(m, m2, 1), what="tunnel 1 up")

        async def ping():
            host1 = await open_host(pair, "host1", [1])
            await open_host(pair, "host2", [1])
            return await host1.ping("2.2.1.2", count=4, interval=0.02, timeout=2.0)

        assert asyncio.run(ping()).received == 4
        for text, top in LIVE_COMMANDS.items():
            xml = m.command(text, format="xml")
            assert [_local(e.tag) for e in xml.xpath("/*/*")][:1] == [top], text
            piped = m.command(f"{text} | display xml", format="text")
            assert piped.xpath(f"//*[local-name()='{top}']"), text
            assert top in _json(m, text), text
            assert isinstance(output_text(m.command(text, format="text")), str)

        version = m.command("show version", format="xml")
        assert version.xpath("//junos-version")[0].text == junos_version.JUNOS_VERSION

        # text content of the live state
        ike = output_text(m.command("show security ike security-associations", format="text"))
        assert re.search(r"^\d+\s+UP\s+[0-9a-f]{16}\s+[0-9a-f]{16}\s+IKEv2\s+16\.1\.1\.2", ike, re.M), ike
        ike_detail = m.command("show security ike security-associations detail", format="xml")
        assert ike_detail.xpath("//ike-sa-remote-address")[0].text == "16.1.1.2"
        assert ike_detail.xpath("//ike-sa-lifetime")[0].text.startswith("Expires in ")
        index = ike_detail.xpath("//ike-sa-index")[0].text
        by_index = m.command(f"show security ike security-associations index {index} detail", format="xml")
        assert by_index.xpath("//ike-sa-index")[0].text == index
        assert not m.command("show security ike security-associations 16.9.9.9", format="xml").xpath(
            "//ike-security-associations")
        peers = m.command("show security ike active-peer", format="xml")
        assert peers.xpath("//ike-sa-remote-address")[0].text == "16.1.1.2"
        ipsec = output_text(m.command("show security ipsec security-associations", format="text"))
        assert "Total active tunnels: 1" in ipsec and re.search(r"<500001\s+ESP:aes-gcm-256/None\s+[0-9a-f]{8}", ipsec)
        brief = m.command("show security ipsec security-associations", format="xml")
        assert brief.xpath("//total-active-tunnels")[0].text == "1"
        spis = {sa.findtext("sa-direction"): sa.findtext("sa-spi")
                for sa in brief.xpath("//ipsec-security-associations")}
        assert all(re.fullmatch("[0-9a-f]{8}", spi) for spi in spis.values())
        assert statistics(m, 500001)["esp-encrypted-packets"] == 4
        assert not m.command("show security ipsec statistics index 500099", format="xml").xpath(
            "//esp-statistics")
        inactive = m.command("show security ipsec inactive-tunnels", format="xml")
        assert inactive.xpath("//sa-tunnel-index")[0].text == "500002"
        terse = m.command("show interfaces terse", format="xml")
        state = {ifl.findtext("name"): ifl.findtext("oper-status") for ifl in terse.xpath("//logical-interface")}
        assert state["st0.1"] == "up" and state["st0.2"] == "down" and state["et-0/2/10.0"] == "up"
        st0 = m.command("show interfaces st0.1 detail", format="xml")
        assert st0.xpath("//traffic-statistics/output-packets")[0].text == "4"
        route = m.command("show route table inet.0 protocol static", format="xml")
        assert [r.text for r in route.xpath("//rt-destination")] == ["2.2.1.0/24", "2.2.2.0/24"]
        assert "*[Static/5]" in output_text(m.command("show route 2.2.1.0/24", format="text"))
        pic = m.command("show chassis fpc 0 pic 2", format="xml")
        wan = {p.findtext("interface-name"): p.findtext("ipsec-wan-status") for p in pic.xpath("//ipsec-wan-information/port")}
        assert wan["et-0/2/10"] == "OK" and wan["et-0/2/9"] == "-"

        # bad arguments answer with an rpc-error naming the element
        for bad in ("show security ipsec statistics index nope", "show security ike security-associations 1.2.3",
                    "show route 300.1.1.0/24", "show chassis fpc 0 pic 7"):
            with pytest.raises(RPCError):
                m.command(bad, format="xml")

        # clear statistics zeroes, clear ipsec SAs renegotiates, clear ike SAs renegotiates
        m.command("clear security ipsec statistics", format="xml")
        assert statistics(m)["esp-encrypted-packets"] == 0
        before = ipsec_sas(m)[500001]
        m.command("clear security ipsec security-associations index 500001", format="xml")
        wait_for(lambda: ipsec_sas(m).get(500001) and ipsec_sas(m)[500001] != before, what="child SAs again")
        ike_before = {sa.text for sa in m.command("show security ike security-associations", format="xml").xpath(
            "//ike-sa-initiator-cookie")}
        m.command("clear security ike security-associations", format="xml")
        wait_for(lambda: {sa.text for sa in m.command("show security ike security-associations", format="xml")
                          .xpath("//ike-sa-state[.='UP']/../ike-sa-initiator-cookie")} - ike_before,
                 what="a new IKE SA")
        wait_for(lambda: ipsec_sas(m).get(500001), what="the tunnel back")


def test_device_reports_one_junos_release():
    from netconf_device import device
    from netconf_device.config import datastore

    assert device.JUNOS_VERSION is junos_version.JUNOS_VERSION
    assert datastore.JUNOS_NS is junos_version.JUNOS_NS
    hard_coded = []
    for path in (REPO / "netconf_device").rglob("*.py"):
        if path.name == "junos_version.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"""["'][^"']*\b\d\d\.\dR\d[^"']*["']""", code):
                hard_coded.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not hard_coded, "Junos release outside show/junos_version.py:\n" + "\n".join(hard_coded)
