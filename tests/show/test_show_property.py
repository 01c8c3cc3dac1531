"""Any view renders to well-formed XML, and its text shows every SA's index and SPIs."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from netconf_device.show import junos_names as names
from netconf_device.show.security_xml import (
    build_ike_active_peers,
    build_ike_security_associations,
    build_ipsec_security_associations,
    build_ipsec_statistics,
)
from netconf_device.show.text import render_text
from netconf_device.show.views import (
    DpdView,
    IkeActivePeerView,
    IkeAlgorithms,
    IkeChildNegotiation,
    IkeSaView,
    IkeTrafficStatistics,
    IpsecSaPair,
    IpsecStatisticsView,
    IpsecTunnelView,
    TunnelEvent,
    UdpEncapsulationView,
)

HARDENED = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
# Values that come from peers (identities) or operators (names) may hold any character, control ones too.
any_text = st.text(max_size=40)
counters = st.integers(min_value=0, max_value=2**64 - 1)
ports = st.integers(min_value=1, max_value=65535)
spis = st.integers(min_value=0, max_value=2**32 - 1)
lifetimes = st.integers(min_value=-10, max_value=10**9)

ike_sas = st.builds(
    IkeSaView,
    index=st.integers(min_value=1, max_value=2**32 - 1),
    gateway_name=any_text,
    state=st.sampled_from(["UP", "DOWN"]),
    role=st.sampled_from(["initiator", "responder"]),
    remote_address=addresses,
    local_address=addresses,
    initiator_spi=st.integers(min_value=0, max_value=2**64 - 1),
    responder_spi=st.integers(min_value=0, max_value=2**64 - 1),
    algorithms=st.builds(IkeAlgorithms, any_text, any_text, any_text, any_text),
    lifetime_remaining_seconds=lifetimes,
    remote_port=ports,
    local_port=ports,
    local_gateway_interface=st.none() | st.just("et-0/2/10.0"),
    reauth_lifetime_remaining_seconds=st.none() | lifetimes,
    fragmentation_enabled=st.booleans(),
    remote_identity=any_text,
    traffic=st.builds(IkeTrafficStatistics, counters, counters, counters, counters, counters, counters),
    ipsec_sas_created=counters,
    ipsec_sas_deleted=counters,
    ipsec_tunnel_ids=st.lists(st.integers(min_value=500001, max_value=502000), max_size=3).map(tuple),
    phase2_negotiations=st.lists(
        st.builds(
            IkeChildNegotiation,
            role=st.sampled_from(["initiator", "responder"]),
            message_id=st.integers(min_value=0, max_value=2**32 - 1),
            local_address=addresses,
            local_port=ports,
            remote_address=addresses,
            remote_port=ports,
            local_identity=any_text,
            remote_identity=any_text,
        ),
        max_size=2,
    ).map(tuple),
)

sa_pairs = st.builds(
    IpsecSaPair,
    inbound_spi=spis,
    outbound_spi=spis,
    hard_lifetime_remaining_seconds=st.none() | lifetimes,
    soft_lifetime_remaining_seconds=st.none() | lifetimes,
    lifesize_remaining_kilobytes=st.none() | counters,
    anti_replay_window=st.sampled_from([0, 64, 1024]),
    extended_sequence_number=st.booleans(),
)

tunnels = st.builds(
    IpsecTunnelView,
    tunnel_index=st.integers(min_value=500001, max_value=502000),
    vpn_name=any_text,
    local_gateway=addresses,
    remote_gateway=addresses,
    encryption_algorithm=st.sampled_from(["aes-128-gcm", "aes-256-gcm"]),
    sa_pairs=st.lists(sa_pairs, min_size=1, max_size=2).map(tuple),
    port=ports,
    vpn_monitoring=st.sampled_from([None, "up", "down"]),
    bind_interface=any_text,
    tunnel_mtu=st.none() | st.integers(min_value=256, max_value=9192),
    service_set=st.none() | any_text,
    udp_encapsulation=st.none()
    | st.builds(UdpEncapsulationView, st.sampled_from(["nat-t", "service-set"]), ports),
    events=st.lists(
        st.builds(
            TunnelEvent,
            time=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
            description=any_text,
            count=st.integers(min_value=1, max_value=10**6),
        ),
        max_size=3,
    ).map(tuple),
)


def wire(element: etree._Element) -> etree._Element:
    """What a client receives: serialized, then parsed with a hardened parser."""
    return etree.fromstring(etree.tostring(element), HARDENED)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sas=st.lists(ike_sas, max_size=4, unique_by=lambda sa: sa.index), detail=st.booleans())
def test_ike_sas_render_and_show_index_and_cookies(sas, detail):
    reply = wire(build_ike_security_associations(sas, level="detail" if detail else "brief"))
    text = render_text(reply)
    for sa in sas:
        assert str(sa.index) in text
        assert names.cookie_hex(sa.initiator_spi) in text
        assert names.cookie_hex(sa.responder_spi) in text
    assert (text == "") == (not sas)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tunnel_list=st.lists(tunnels, max_size=3, unique_by=lambda t: t.tunnel_index), detail=st.booleans())
def test_ipsec_sas_render_and_show_index_and_spis(tunnel_list, detail):
    reply = wire(build_ipsec_security_associations(tunnel_list, level="detail" if detail else "brief"))
    text = render_text(reply)
    for tunnel in tunnel_list:
        assert str(tunnel.tunnel_index) in text
        for pair in tunnel.sa_pairs:
            assert names.spi_hex(pair.inbound_spi) in text
            assert names.spi_hex(pair.outbound_spi) in text
    if not detail:
        brief_lines = [line for line in text.splitlines() if line.startswith(("  <", "  >"))]
        assert len(brief_lines) == 2 * sum(len(t.sa_pairs) for t in tunnel_list)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(counters, min_size=18, max_size=18))
def test_statistics_render_every_counter(values):
    fields = list(IpsecStatisticsView.__dataclass_fields__)
    view = IpsecStatisticsView(**dict(zip(fields, values, strict=True)))
    text = render_text(wire(build_ipsec_statistics(view)))
    numbers = [int(token.rstrip(",")) for token in text.split() if token.rstrip(",").isdigit()]
    assert sorted(numbers) == sorted(values)


@settings(max_examples=40, deadline=None)
@given(
    peers=st.lists(
        st.builds(
            IkeActivePeerView,
            remote_address=addresses,
            remote_port=ports,
            remote_identity=any_text,
            local_address=addresses,
            dpd=st.none() | st.builds(DpdView),
        ),
        max_size=3,
    ),
    detail=st.booleans(),
)
def test_active_peers_render(peers, detail):
    text = render_text(wire(build_ike_active_peers(peers, level="detail" if detail else "brief")))
    for peer in peers:
        assert peer.remote_address in text


def test_hostile_identity_cannot_break_the_reply_or_forge_lines():
    """A peer chooses its IKE identity: control characters are escaped, never emitted raw."""
    sa = IkeSaView(
        index=1,
        gateway_name="gw",
        state="UP",
        role="responder",
        remote_address="16.1.1.2",
        local_address="16.1.1.1",
        initiator_spi=1,
        responder_spi=2,
        algorithms=IkeAlgorithms("a", "b", "c", "d"),
        lifetime_remaining_seconds=1,
        remote_identity="evil\x00\n  Role: Initiator, State: UP\x7f\ufffe",
    )
    reply = wire(build_ike_security_associations([sa], level="detail"))
    assert reply.findtext(".//ike-ike-id") == "evil\\x00\\n  Role: Initiator, State: UP\\x7f\\ufffe"
    lines = render_text(reply).splitlines()
    assert sum(line.strip().startswith("Role:") for line in lines) == 1
