"""Arguments of the show/clear RPCs, as real clients send them (junos-xml.md §1.0)."""

from __future__ import annotations

import pytest
from lxml import etree

from netconf_device.show.queries import (
    ClearIkeSaQuery,
    IkeActivePeerQuery,
    IkeSaQuery,
    IpsecIndexQuery,
    IpsecSaQuery,
    PicQuery,
    ShowArgumentError,
    parse_clear_ike_sa_query,
    parse_clear_ipsec_sa_query,
    parse_clear_ipsec_statistics_query,
    parse_ike_active_peer_query,
    parse_ike_sa_query,
    parse_ipsec_sa_query,
    parse_ipsec_statistics_query,
    parse_pic_detail_query,
)


def rpc(text: str) -> etree._Element:
    return etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True))


@pytest.mark.parametrize(
    "request_xml, expected",
    [
        ("<get-ike-security-associations-information/>", IkeSaQuery()),
        (
            "<get-ike-security-associations-information><detail/></get-ike-security-associations-information>",
            IkeSaQuery(level="detail"),
        ),
        # the form public collectors send (17.4+ YANG name)
        (
            "<get-ike-security-associations-information><detail/>"
            "<show-index-ike-security-association>42</show-index-ike-security-association>"
            "</get-ike-security-associations-information>",
            IkeSaQuery(level="detail", index=42),
        ),
        # the 12.3R4 Perl-method name
        (
            "<get-ike-security-associations-information><index>42</index></get-ike-security-associations-information>",
            IkeSaQuery(index=42),
        ),
        (
            "<get-ike-security-associations-information><peer-address>16.1.1.2</peer-address><brief/>"
            "</get-ike-security-associations-information>",
            IkeSaQuery(level="brief", peer_address="16.1.1.2"),
        ),
        (
            "<get-ike-security-associations-information><peer-address>2001:DB8::1</peer-address>"
            "<family>inet6</family></get-ike-security-associations-information>",
            IkeSaQuery(peer_address="2001:db8::1", family="inet6"),
        ),
        # location arguments of an SRX are accepted and ignored
        (
            "<get-ike-security-associations-information><fpc>0</fpc><pic>0</pic><kmd-instance>all</kmd-instance>"
            "</get-ike-security-associations-information>",
            IkeSaQuery(),
        ),
        # namespace-qualified arguments (ncclient qualifies some elements)
        (
            '<get-ike-security-associations-information xmlns="urn:x"><detail/></get-ike-security-associations-information>',
            IkeSaQuery(level="detail"),
        ),
    ],
)
def test_ike_sa_requests(request_xml, expected):
    assert parse_ike_sa_query(rpc(request_xml)) == expected


@pytest.mark.parametrize(
    "request_xml, element",
    [
        ("<x><index>abc</index></x>", "index"),
        ("<x><index>0</index></x>", "index"),
        ("<x><index>4294967296</index></x>", "index"),
        (
            "<x><show-index-ike-security-association>-1</show-index-ike-security-association></x>",
            "show-index-ike-security-association",
        ),
        ("<x><peer-address>not-an-ip</peer-address></x>", "peer-address"),
        ("<x><family>ipx</family></x>", "family"),
        ("<x><bogus/></x>", "bogus"),
        ("<x><brief/><detail/></x>", "detail"),
        (
            "<x><index>1</index><show-index-ike-security-association>2</show-index-ike-security-association></x>",
            "show-index-ike-security-association",
        ),
    ],
)
def test_ike_sa_bad_arguments(request_xml, element):
    with pytest.raises(ShowArgumentError) as caught:
        parse_ike_sa_query(rpc(request_xml))
    assert caught.value.element == element
    assert caught.value.message
    assert caught.value.tag == ("unknown-element" if element == "bogus" else "invalid-value")


def test_ipsec_sa_requests():
    assert parse_ipsec_sa_query(rpc("<get-security-associations-information/>")) == IpsecSaQuery()
    assert parse_ipsec_sa_query(
        rpc(
            "<get-security-associations-information><detail/><show-index-ipsec-security-association>500001"
            "</show-index-ipsec-security-association></get-security-associations-information>"
        )
    ) == IpsecSaQuery(level="detail", index=500001)
    assert parse_ipsec_sa_query(rpc("<r><index>500001</index></r>")) == IpsecSaQuery(index=500001)
    assert parse_ipsec_sa_query(rpc("<r><extensive/></r>")) == IpsecSaQuery(level="detail")
    assert parse_ipsec_sa_query(
        rpc(
            "<r><show-vpnname-ipsec-security-association>ipsec_vpn</show-vpnname-ipsec-security-association></r>"
        )
    ) == IpsecSaQuery(vpn_name="ipsec_vpn")
    with pytest.raises(ShowArgumentError):
        parse_ipsec_sa_query(rpc("<r><show-index-ipsec-security-association/></r>"))


def test_statistics_and_clear_requests():
    assert parse_ipsec_statistics_query(rpc("<get-ipsec-statistics-information/>")) == IpsecIndexQuery()
    assert parse_ipsec_statistics_query(
        rpc("<g><show-index-ipsec-statistics>500001</show-index-ipsec-statistics></g>")
    ) == IpsecIndexQuery(500001)
    assert parse_ipsec_statistics_query(rpc("<g><index>500001</index></g>")) == IpsecIndexQuery(500001)
    assert parse_clear_ipsec_statistics_query(rpc("<clear-ipsec-statistics/>")) == IpsecIndexQuery()
    assert parse_clear_ipsec_statistics_query(rpc("<c><index>500001</index></c>")) == IpsecIndexQuery(500001)
    assert parse_clear_ipsec_sa_query(rpc("<c><index>7</index></c>")) == IpsecIndexQuery(7)
    assert parse_clear_ike_sa_query(rpc("<clear-ike-security-association/>")) == ClearIkeSaQuery()
    assert parse_clear_ike_sa_query(
        rpc("<c><peer-address>16.1.1.2</peer-address><port>4500</port></c>")
    ) == ClearIkeSaQuery(peer_address="16.1.1.2", port=4500)
    with pytest.raises(ShowArgumentError):
        parse_clear_ipsec_statistics_query(
            rpc("<c><show-index-ipsec-statistics>1</show-index-ipsec-statistics></c>")
        )


def test_active_peer_requests():
    assert parse_ike_active_peer_query(rpc("<get-ike-active-peers-information/>")) == IkeActivePeerQuery()
    assert parse_ike_active_peer_query(
        rpc("<g><detail/><peer-address>16.1.1.2</peer-address></g>")
    ) == IkeActivePeerQuery(level="detail", peer_address="16.1.1.2")


def test_pic_detail_requests():
    assert parse_pic_detail_query(
        rpc("<get-pic-detail><fpc-slot>0</fpc-slot><pic-slot>2</pic-slot></get-pic-detail>")
    ) == PicQuery(0, 2)
    with pytest.raises(ShowArgumentError) as caught:
        parse_pic_detail_query(rpc("<g><fpc-slot>0</fpc-slot></g>"))
    assert (caught.value.element, caught.value.tag) == ("pic-slot", "missing-element")
    for bad in (
        "<g><fpc-slot>0</fpc-slot></g>",
        "<g><fpc-slot>x</fpc-slot><pic-slot>0</pic-slot></g>",
        "<g><fpc-slot>0</fpc-slot><pic-slot>0</pic-slot><slot>1</slot></g>",
    ):
        with pytest.raises(ShowArgumentError):
            parse_pic_detail_query(rpc(bad))


def test_comments_in_requests_are_ignored():
    assert parse_ike_sa_query(rpc("<g><!-- hi --><detail/></g>")) == IkeSaQuery(level="detail")
