"""Request element -> reply element -> text: the path an RPC handler of the integration takes."""

from __future__ import annotations

import pytest
from lxml import etree

from netconf_device.show import replies
from netconf_device.show.queries import ShowArgumentError
from netconf_device.show.text import TEXT_RENDERERS, render_text, supports
from netconf_device.show.views import (
    IkeActivePeerView,
    IkeAlgorithms,
    IkeSaView,
    IpsecSaPair,
    IpsecStatisticsView,
    IpsecTunnelView,
)


def rpc(text: str) -> etree._Element:
    return etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True))


SAS = [
    IkeSaView(
        index=i,
        gateway_name=f"gw{i}",
        state="UP",
        role="initiator",
        remote_address=f"16.1.1.{i}",
        local_address="16.1.1.100",
        initiator_spi=i,
        responder_spi=i + 100,
        algorithms=IkeAlgorithms("hmac-sha256-128", "aes256-cbc", "hmac-sha256", "DH-group-19"),
        lifetime_remaining_seconds=1000,
    )
    for i in (1, 2, 3)
]
TUNNELS = [
    IpsecTunnelView(
        500000 + i,
        f"vpn{i}",
        "16.1.1.100",
        f"16.1.1.{i}",
        "aes-256-gcm",
        sa_pairs=(IpsecSaPair(i, i + 1, 99),),
    )
    for i in (1, 2)
]


def test_ike_reply_with_both_index_spellings():
    for argument in ("show-index-ike-security-association", "index"):
        request = rpc(
            f"<get-ike-security-associations-information><{argument}>2</{argument}>"
            "</get-ike-security-associations-information>"
        )
        text = render_text(replies.ike_security_associations_reply(request, SAS))
        assert text.startswith("IKE peer 16.1.1.2, Index 2, Gateway Name: gw2\n")


def test_ike_reply_peer_filter():
    request = rpc(
        "<get-ike-security-associations-information><peer-address>16.1.1.3</peer-address>"
        "</get-ike-security-associations-information>"
    )
    lines = render_text(replies.ike_security_associations_reply(request, SAS)).splitlines()
    assert len(lines) == 2 and lines[1].startswith("3       UP")


def test_ipsec_reply_and_statistics_reply():
    request = rpc(
        "<get-security-associations-information><show-index-ipsec-security-association>500002"
        "</show-index-ipsec-security-association><brief/></get-security-associations-information>"
    )
    text = render_text(replies.ipsec_security_associations_reply(request, TUNNELS))
    assert text.splitlines()[0] == "  Total active tunnels: 1     Total Ipsec sas: 1"
    per_tunnel = {
        500001: IpsecStatisticsView(encrypted_packets=5),
        500002: IpsecStatisticsView(encrypted_packets=7),
    }
    total = IpsecStatisticsView.total(per_tunnel.values())
    glob = replies.ipsec_statistics_reply(rpc("<get-ipsec-statistics-information/>"), total, per_tunnel)
    assert glob.findtext("esp-statistics/esp-encrypted-packets") == "12"
    one = replies.ipsec_statistics_reply(
        rpc("<g><show-index-ipsec-statistics>500002</show-index-ipsec-statistics></g>"), total, per_tunnel
    )
    assert one.findtext("esp-statistics/esp-encrypted-packets") == "7"
    missing = replies.ipsec_statistics_reply(
        rpc("<g><show-index-ipsec-statistics>500009</show-index-ipsec-statistics></g>"), total, per_tunnel
    )
    assert len(missing) == 0


def test_active_peer_port_filter():
    peers = [IkeActivePeerView("16.1.1.1", 500), IkeActivePeerView("16.1.1.2", 4500)]
    reply = replies.ike_active_peers_reply(rpc("<g><port>4500</port></g>"), peers)
    assert [e.findtext("ike-sa-remote-address") for e in reply] == ["16.1.1.2"]


def test_pic_detail_reply_and_absent_pic():
    reply = replies.pic_detail_reply(
        rpc("<get-pic-detail><fpc-slot>0</fpc-slot><pic-slot>2</pic-slot></get-pic-detail>"),
        ipsec_wan_interfaces=["et-0/2/10.0"],
    )
    assert supports(reply)
    assert "  10    et-0/2/10        5    0           Yes            Yes        OK" in render_text(reply)
    with pytest.raises(ShowArgumentError) as caught:
        replies.pic_detail_reply(
            rpc("<get-pic-detail><fpc-slot>0</fpc-slot><pic-slot>7</pic-slot></get-pic-detail>")
        )
    assert caught.value.element == "pic-slot"


def test_text_dispatch():
    reply = etree.Element("rpc-reply")
    reply.append(replies.ike_security_associations_reply(rpc("<g/>"), SAS))
    assert render_text(reply).startswith("Index   State")
    assert set(TEXT_RENDERERS) == {
        "ike-security-associations-information",
        "ike-active-peers-information",
        "ipsec-security-associations-information",
        "usp-ipsec-total-statistics-information",
        "fpc-information",
    }
    pic_status = etree.fromstring("<fpc-information><fpc><slot>0</slot></fpc></fpc-information>")
    assert not supports(pic_status)  # `show chassis fpc` shares the top element; not ours to print
    with pytest.raises(KeyError):
        render_text(pic_status)
    with pytest.raises(KeyError):
        render_text(etree.Element("software-information"))


def test_reply_inside_rpc_reply_serializes_like_junos():
    """Appended to the server's <rpc-reply>, the junos prefix is declared once, on <rpc-reply>."""
    from netconf_device.show.junos_version import JUNOS_NS

    base = "urn:ietf:params:xml:ns:netconf:base:1.0"
    reply = etree.Element(f"{{{base}}}rpc-reply", nsmap={None: base, "junos": JUNOS_NS})
    reply.append(replies.ike_security_associations_reply(rpc("<g/>"), SAS))
    wire = etree.tostring(reply).decode()
    assert wire.count("xmlns:junos=") == 1
    assert '<ike-security-associations-information junos:style="brief">' in wire
