"""The live operational commands of a device whose tunnel is up, as RPCs, as `<command>` text and with
`| display xml` / `| display json`; show/clear act on the engines; one Junos release everywhere."""

from __future__ import annotations

import json
import re

import pytest
from device_testlib import REPO, Vpn, ipsec_sas, output_text, settled, statistics, wait_for
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

        async def ping(hosts):
            host1 = hosts["host1"]
            return await host1.ping("2.2.1.2", count=4, interval=0.02, timeout=2.0)

        assert pair.run_hosts(ping).received == 4
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
        for rpc in ("get-inactive-tunnels", "get-route-information", "get-security-associations-information"):
            with pytest.raises(RPCError, match="unexpected argument 'bogus'"):
                m.rpc(etree.fromstring(f"<{rpc}><bogus/></{rpc}>"))

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


# Every form of the IKE/IPsec commands of the issue: CLI text, the RPC that `| display xml rpc` names, and
# `| display json`, compared with each other and with the reference shapes.
VARIANTS = (
    "show security ike security-associations",
    "show security ike security-associations brief",
    "show security ike security-associations detail",
    "show security ike security-associations index {ike} detail",
    "show security ike security-associations index {ike}",
    "show security ike security-associations 16.1.1.2",
    "show security ike security-associations 16.1.1.2 detail",
    "show security ike active-peer",
    "show security ike active-peer detail",
    "show security ike active-peer 16.1.1.2",
    "show security ipsec security-associations",
    "show security ipsec security-associations brief",
    "show security ipsec security-associations detail",
    "show security ipsec security-associations index 500001",
    "show security ipsec security-associations index 500001 brief",
    "show security ipsec statistics",
    "show security ipsec statistics index 500001",
)
# values that tick between two requests
_MOVING = ("lifetime", "reauthlifetime", "sa-tunnel-event-time")


def _json_to_xml(name: str, node: dict) -> etree._Element:
    """Junos `| display json` back to XML, written from the convention (every element a list of objects,
    leaves as {"data": text} or {"data": [null]}, attributes with their junos: prefix)."""
    element = etree.Element(name)
    for key, value in node.get("attributes", {}).items():
        assert key.startswith("junos:"), key  # Junos keeps the prefix of its attributes ("junos:style")
        element.set(key.replace("junos:", ""), value)
    if "data" in node:
        assert set(node) <= {"data", "attributes"}, node
        data = node["data"]
        assert data == [None] or isinstance(data, str), data
        element.text = None if data == [None] else data
        return element
    for key, items in node.items():
        if key == "attributes":
            continue
        assert isinstance(items, list) and items and all(isinstance(i, dict) for i in items), (key, items)
        for item in items:
            element.append(_json_to_xml(key, item))
    return element


def _comparable(element: etree._Element, *, grouped: bool = False) -> list[tuple[str, str]]:
    """Names, values and attributes in document order. ``grouped``: siblings of one name together, in the
    order of their first appearance -- what JSON keeps of interleaved siblings (the tunnel events' time,
    event, count triples become three arrays, each in order)."""
    name = _local(element.tag)
    text = (element.text or "").strip() if len(element) == 0 else ""
    out = [(name, "" if any(m in name for m in _MOVING) else text)]
    out += sorted((k.rpartition("}")[2], v) for k, v in element.attrib.items())
    kids = [c for c in element if isinstance(c.tag, str)]
    if grouped:
        first = {}
        for kid in kids:
            first.setdefault(_local(kid.tag), len(first))
        kids.sort(key=lambda kid: first[_local(kid.tag)])
    for kid in kids:
        out += _comparable(kid, grouped=grouped)
    return out


def test_device_ike_and_ipsec_commands_agree_as_rpc_text_xml_and_json(pairs):
    from junos_shapes import validate

    pair = pairs.start([Vpn(1)])
    with pair.peer1.connect() as m, pair.peer2.connect() as m2:
        wait_for(lambda: 500001 in ipsec_sas(m) and settled(m, m2, 1), what="tunnel up")
        ike = m.command("show security ike security-associations", format="xml").xpath("//ike-sa-index")[0].text
        for template in VARIANTS:
            text = template.format(ike=ike)
            xml = m.command(text, format="xml").xpath("/rpc-reply/*")
            assert len(xml) == 1, text
            top = xml[0]
            assert len(top), f"{text}: empty reply"
            if _local(top.tag) != "ike-active-peers-information":
                assert validate(top) == [], (text, validate(top))
            # the RPC the CLI maps to, sent as an RPC, answers the same
            request = m.command(f"{text} | display xml rpc", format="xml").xpath("/rpc-reply/rpc/*")[0]
            direct = m.rpc(etree.fromstring(etree.tostring(request))).xpath("/rpc-reply/*")[0]
            assert _comparable(direct) == _comparable(top), text
            # | display json: the same tree in Junos' JSON convention
            doc = _json(m, text)
            assert list(doc) == [_local(top.tag)] and len(doc[_local(top.tag)]) == 1, text
            converted = _json_to_xml(_local(top.tag), doc[_local(top.tag)][0])
            assert _comparable(converted) == _comparable(top, grouped=True), text
            piped = json.loads(etree.fromstring(m.command(f"{text} | display json", format="text").tostring).text)
            assert list(piped) == list(doc), text
            assert output_text(m.command(text, format="text")).strip(), text

        # the filters select: another peer, another tunnel index, another family give empty replies
        assert not m.command("show security ike active-peer 16.1.9.9", format="xml").xpath(
            "//ike-sa-remote-address")
        assert not m.command("show security ipsec security-associations index 500009", format="xml").xpath(
            "//ipsec-security-associations")
        assert not m.command("show security ike security-associations family inet6", format="xml").xpath(
            "//ike-security-associations")

        # clear by peer and by index act on that IKE SA only
        m.command("clear security ike security-associations 16.1.9.9", format="xml")
        assert m.command("show security ike security-associations", format="xml").xpath("//ike-sa-index")[0].text \
            == ike
        m.command(f"clear security ike security-associations index {ike}", format="xml")
        wait_for(lambda: ike not in [i.text for i in m.command(
            "show security ike security-associations", format="xml").xpath("//ike-sa-index")], what="IKE SA cleared")
        wait_for(lambda: 500001 in ipsec_sas(m), what="the tunnel back")
        new = m.command("show security ike security-associations", format="xml").xpath("//ike-sa-index")[0].text
        m.command("clear security ike security-associations 16.1.1.2", format="xml")
        wait_for(lambda: new not in [i.text for i in m.command(
            "show security ike security-associations", format="xml").xpath("//ike-sa-index")],
            what="IKE SA cleared by peer address")
        # clear every IPsec SA (no index): the tunnel renegotiates with new SPIs
        wait_for(lambda: 500001 in ipsec_sas(m), what="the tunnel back")
        before = ipsec_sas(m)[500001]
        m.command("clear security ipsec security-associations", format="xml")
        wait_for(lambda: ipsec_sas(m).get(500001) and not set(ipsec_sas(m)[500001]) & set(before),
                 what="new child SAs after clearing all")
