"""`show security ike security-associations`: XML against the reference captures (junos-xml.md §1.1-§1.3)."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from netconf_device.show.junos_version import JUNOS_NS, namespace_release
from netconf_device.show.security_xml import build_ike_security_associations
from netconf_device.show.views import IkeAlgorithms, IkeChildNegotiation, IkeSaView, IkeTrafficStatistics

# Toby NITA/tests/unit/security/ipsec/srx_ike_sa.xml, as quoted in reference/junos-xml.md §1.1.
TOBY_BRIEF = """
<ike-security-associations-information style="brief"><ike-security-associations><ike-sa-remote-address>5.5.5.2</ike-sa-remote-address><ike-sa-index>3922267</ike-sa-index><ike-sa-state>UP</ike-sa-state><ike-sa-initiator-cookie>95ccf59c2783de54</ike-sa-initiator-cookie><ike-sa-responder-cookie>fec2c4b00faf0495</ike-sa-responder-cookie><ike-sa-exchange-type>IKEv2</ike-sa-exchange-type></ike-security-associations><ike-security-associations><ike-sa-remote-address>3.3.3.2</ike-sa-remote-address><ike-sa-index>3922268</ike-sa-index><ike-sa-state>UP</ike-sa-state><ike-sa-initiator-cookie>1e29005494f73fb3</ike-sa-initiator-cookie><ike-sa-responder-cookie>835a88571b16a29f</ike-sa-responder-cookie><ike-sa-exchange-type>IKEv2</ike-sa-exchange-type></ike-security-associations></ike-security-associations-information>
"""

# Toby srx_ike_sa_detail.xml (§1.2), first block. The ADVPN containers are left out: the MX has no ADVPN.
TOBY_DETAIL = """
<ike-security-associations-information style="detail">
  <ike-security-associations-block>
    <ike-sa-remote-address>5.5.5.2</ike-sa-remote-address>
    <ike-sa-index>3922267</ike-sa-index>
    <ike-gw-name>ADVPN_SUGGESTER_GW</ike-gw-name>
    <ike-security-associations>
      <ike-sa-role>responder</ike-sa-role>
      <ike-sa-state>UP</ike-sa-state>
      <ike-sa-initiator-cookie>95ccf59c2783de54</ike-sa-initiator-cookie>
      <ike-sa-responder-cookie>fec2c4b00faf0495</ike-sa-responder-cookie>
      <ike-sa-exchange-type>IKEv2</ike-sa-exchange-type>
      <ike-sa-authentication-method>RSA-signatures</ike-sa-authentication-method>
      <ike-sa-remote-address>5.5.5.2</ike-sa-remote-address>
      <ike-sa-remote-port>500</ike-sa-remote-port>
      <ike-sa-local-address>2.2.2.2</ike-sa-local-address>
      <ike-sa-local-port>500</ike-sa-local-port>
      <ike-sa-lifetime>Expires in 11242 seconds</ike-sa-lifetime>
      <ike-sa-reauthlifetime>Disabled</ike-sa-reauthlifetime>
      <ike-sa-ike-frag>Enabled</ike-sa-ike-frag>
      <ike-sa-frag-size>576</ike-sa-frag-size>
      <ike-sa-remote-client-info>Unknown Client</ike-sa-remote-client-info>
      <ike-xauth-user-info>
        <ike-ike-id>C=US, DC=juniper, ST=CA, L=Sunnyvale, O=Juniper, OU=engineering, CN=eng_spoke2</ike-ike-id>
        <ike-xauth-username/>
        <ike-xauth-user-assigned-ip>0.0.0.0</ike-xauth-user-assigned-ip>
      </ike-xauth-user-info>
      <ike-sa-algorithms>
        <ike-sa-authentication-algorithm>hmac-sha1-96</ike-sa-authentication-algorithm>
        <ike-sa-encryption-algorithm>aes256-cbc</ike-sa-encryption-algorithm>
        <ike-sa-prf-algorithm>hmac-sha1</ike-sa-prf-algorithm>
        <ike-sa-dhgroup>DH-group-5</ike-sa-dhgroup>
      </ike-sa-algorithms>
      <ike-sa-traffic-statistics>
        <ike-sa-input-bytes>8860</ike-sa-input-bytes>
        <ike-sa-output-bytes>8860</ike-sa-output-bytes>
        <ike-sa-input-packets>37</ike-sa-input-packets>
        <ike-sa-output-packets>37</ike-sa-output-packets>
        <ike-sa-input-frag-packets>0</ike-sa-input-frag-packets>
        <ike-sa-output-frag-packets>0</ike-sa-output-frag-packets>
      </ike-sa-traffic-statistics>
      <ike-sa-misc>
        <ike-sa-num-ipsec-sas-created>36</ike-sa-num-ipsec-sas-created>
        <ike-sa-num-ipsec-sas-deleted>0</ike-sa-num-ipsec-sas-deleted>
        <ike-sa-num-phase2-negotiations>1</ike-sa-num-phase2-negotiations>
      </ike-sa-misc>
      <ike-sa-phase2-information>
        <ike-sa-num-phase2-negotiations>
          <ike-sa-phase2-type>Quick mode</ike-sa-phase2-type>
          <ike-sa-role>responder</ike-sa-role>
          <ike-sa-msg-id>0</ike-sa-msg-id>
          <ike-sa-local-address>2.2.2.2</ike-sa-local-address>
          <ike-sa-local-port>500</ike-sa-local-port>
          <ike-sa-remote-address>5.5.5.2</ike-sa-remote-address>
          <ike-sa-remote-port>500</ike-sa-remote-port>
          <ike-sa-local-id>C=US, DC=juniper, ST=CA, L=Sunnyvale, O=Juniper, OU=engineering, CN=eng_hub</ike-sa-local-id>
          <ike-sa-remote-id>C=US, DC=juniper, ST=CA, L=Sunnyvale, O=Juniper, OU=engineering, CN=eng_spoke2</ike-sa-remote-id>
          <ike-sa-flags>IKE SA is created</ike-sa-flags>
        </ike-sa-num-phase2-negotiations>
      </ike-sa-phase2-information>
    </ike-security-associations>
  </ike-security-associations-block>
</ike-security-associations-information>
"""

SPOKE2 = "C=US, DC=juniper, ST=CA, L=Sunnyvale, O=Juniper, OU=engineering, CN=eng_spoke2"
HUB = "C=US, DC=juniper, ST=CA, L=Sunnyvale, O=Juniper, OU=engineering, CN=eng_hub"


def toby_sas() -> list[IkeSaView]:
    """Views holding the values of the Toby captures."""
    first = IkeSaView(
        index=3922267,
        gateway_name="ADVPN_SUGGESTER_GW",
        state="UP",
        role="responder",
        remote_address="5.5.5.2",
        local_address="2.2.2.2",
        initiator_spi=0x95CCF59C2783DE54,
        responder_spi=0xFEC2C4B00FAF0495,
        algorithms=IkeAlgorithms("hmac-sha1-96", "aes256-cbc", "hmac-sha1", "DH-group-5"),
        lifetime_remaining_seconds=11242,
        authentication_method="RSA-signatures",
        remote_identity=SPOKE2,
        traffic=IkeTrafficStatistics(8860, 8860, 37, 37, 0, 0),
        ipsec_sas_created=36,
        phase2_negotiations=(
            IkeChildNegotiation("responder", 0, "2.2.2.2", 500, "5.5.5.2", 500, HUB, SPOKE2),
        ),
    )
    second = IkeSaView(
        index=3922268,
        gateway_name="GW2",
        state="UP",
        role="initiator",
        remote_address="3.3.3.2",
        local_address="2.2.2.2",
        initiator_spi=0x1E29005494F73FB3,
        responder_spi=0x835A88571B16A29F,
        algorithms=IkeAlgorithms("hmac-sha1-96", "aes256-cbc", "hmac-sha1", "DH-group-5"),
        lifetime_remaining_seconds=20000,
    )
    return [first, second]


def test_brief_matches_toby_capture_exactly(xml_tools):
    built = build_ike_security_associations(toby_sas())
    reference = xml_tools.parse(TOBY_BRIEF)
    assert xml_tools.shape(built) == xml_tools.shape(reference)
    assert xml_tools.leaves(built) == xml_tools.leaves(reference)


def test_brief_declares_junos_namespace_and_style():
    built = build_ike_security_associations(toby_sas())
    assert built.get(f"{{{JUNOS_NS}}}style") == "brief"
    # Junos 20+ puts "<major>.<minor>R0" in the URI (captures: 20.2R0, 20.4R0, 21.1R0); the device is 24.4R1.
    assert JUNOS_NS == "http://xml.juniper.net/junos/24.4R0/junos"
    assert namespace_release("20.2R3-S2.5") == "20.2R0"
    wire = etree.tostring(built).decode()
    assert 'xmlns:junos="http://xml.juniper.net/junos/24.4R0/junos"' in wire
    assert 'junos:style="brief"' in wire


def test_detail_matches_toby_capture(xml_tools):
    built = build_ike_security_associations(toby_sas()[:1], level="detail")
    reference = xml_tools.parse(TOBY_DETAIL)
    assert built.get(f"{{{JUNOS_NS}}}style") == "detail"
    assert xml_tools.shape(built) == xml_tools.shape(reference)
    assert xml_tools.leaves(built) == xml_tools.leaves(reference)


def test_detail_mx_lines_are_added_where_derived(xml_tools):
    sa = toby_sas()[0]
    mx = IkeSaView(**{**sa.__dict__, "local_gateway_interface": "et-0/2/10.0", "ipsec_tunnel_ids": (500001,)})
    entry = build_ike_security_associations([mx], level="detail").find(
        "ike-security-associations-block/ike-security-associations"
    )
    names = [etree.QName(c).localname for c in entry]
    at = names.index("ike-sa-authentication-method")
    assert names[at + 1 : at + 4] == [
        "ike-sa-local-gateway-interface",
        "ike-sa-routing-instance",
        "ike-sa-remote-address",
    ]
    assert entry.findtext("ike-sa-local-gateway-interface") == "et-0/2/10.0"
    assert entry.findtext("ike-sa-routing-instance") == "default"
    assert entry.findtext("ike-sa-misc/ike-ipsec-sa-tunnel-ids") == "500001"


def test_value_formats():
    sa = IkeSaView(
        index=1,
        gateway_name="ike_gw",
        state="DOWN",
        role="initiator",
        remote_address="16.1.1.2",
        local_address="16.1.1.1",
        initiator_spi=0x1,
        responder_spi=0,
        algorithms=IkeAlgorithms("hmac-sha256-128", "aes256-cbc", "hmac-sha256", "DH-group-19"),
        lifetime_remaining_seconds=-5,
        reauth_lifetime_remaining_seconds=3600,
        fragmentation_enabled=False,
    )
    entry = build_ike_security_associations([sa], level="detail").find(
        "ike-security-associations-block/ike-security-associations"
    )
    assert entry.findtext("ike-sa-initiator-cookie") == "0000000000000001"
    assert entry.findtext("ike-sa-responder-cookie") == "0000000000000000"
    assert re.fullmatch(r"[0-9a-f]{16}", entry.findtext("ike-sa-initiator-cookie"))
    assert entry.findtext("ike-sa-lifetime") == "Expires in 0 seconds"  # never negative
    assert entry.findtext("ike-sa-reauthlifetime") == "Expires in 3600 seconds"
    assert entry.findtext("ike-sa-ike-frag") == "Disabled"
    assert entry.findtext("ike-sa-frag-size") == "0"
    assert entry.findtext("ike-sa-state") == "DOWN"
    assert entry.findtext("ike-sa-misc/ike-sa-num-phase2-negotiations") == "0"
    assert entry.find("ike-sa-phase2-information") is None


def test_index_filter_defaults_to_detail():
    built = build_ike_security_associations(toby_sas(), index=3922268)
    assert built.get(f"{{{JUNOS_NS}}}style") == "detail"
    blocks = built.findall("ike-security-associations-block")
    assert [b.findtext("ike-sa-index") for b in blocks] == ["3922268"]


def test_index_with_brief_stays_brief():
    built = build_ike_security_associations(toby_sas(), index=3922267, level="brief")
    assert built.get(f"{{{JUNOS_NS}}}style") == "brief"
    assert [e.findtext("ike-sa-index") for e in built] == ["3922267"]


@pytest.mark.parametrize(
    "peer, expected", [("3.3.3.2", ["3922268"]), ("5.5.5.2", ["3922267"]), ("9.9.9.9", [])]
)
def test_peer_filter(peer, expected):
    built = build_ike_security_associations(toby_sas(), peer_address=peer)
    assert [e.findtext("ike-sa-index") for e in built] == expected


def test_peer_filter_compares_ipv6_addresses_not_strings():
    sa = IkeSaView(**{**toby_sas()[1].__dict__, "remote_address": "2001:db8::2"})
    built = build_ike_security_associations([sa], peer_address="2001:DB8:0:0::2")
    assert len(built) == 1


def test_family_filter():
    v6 = IkeSaView(**{**toby_sas()[1].__dict__, "index": 7, "remote_address": "2001:db8::2"})
    sas = [*toby_sas(), v6]
    assert [e.findtext("ike-sa-index") for e in build_ike_security_associations(sas, family="inet6")] == ["7"]
    assert len(build_ike_security_associations(sas, family="inet")) == 2


def test_empty_state_is_top_element_without_children():
    for level in ("brief", "detail"):
        built = build_ike_security_associations([], level=level)
        assert etree.QName(built).localname == "ike-security-associations-information"
        assert len(built) == 0
    assert len(build_ike_security_associations(toby_sas(), index=42)) == 0


def test_toby_xpaths_read_the_reply(xml_tools):
    """Juniper's Toby get_ike_sa() reads these paths after stripping namespaces."""
    wire = etree.tostring(build_ike_security_associations(toby_sas()[:1], level="detail")).decode()
    stripped = xml_tools.parse(re.sub(r'\sxmlns:junos="[^"]+"', "", wire).replace("junos:style", "style"))
    assert stripped.findtext(".//ike-sa-remote-address") == "5.5.5.2"
    assert stripped.findtext(".//ike-sa-index") == "3922267"
    assert stripped.findtext(".//ike-sa-state") == "UP"
    assert stripped.findtext(".//ike-sa-lifetime") == "Expires in 11242 seconds"
