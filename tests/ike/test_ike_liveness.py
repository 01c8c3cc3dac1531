"""Dead peer detection (optimized, always-send, probe-idle-tunnel), NAT traversal with keepalives, custom ports
and the non-ESP marker, and IKE fragmentation (RFC 7383) with reassembly limits."""

from __future__ import annotations

import ipaddress

import pytest
from ike_certs import Ca
from ike_harness import (
    A_ADDR,
    B_ADDR,
    Nat,
    assert_tunnel_pairs,
    ike_proposal,
    installed,
    make_intent,
    pair,
    symmetric,
)

from netconf_device import sa as contract
from netconf_device.config.intent import DeadPeerDetection, diff_intent
from netconf_device.ike import message as m
from netconf_device.ike.options import EngineOptions


def _dpd_requests(net, sender="a", since=0.0):
    out = []
    for t, name, d in net.log:
        if name != sender or t < since or len(d.payload) < 28:
            continue
        _si, _sr, _f, ex, flags, mid, _l = m.parse_header(d.payload)
        if ex == m.INFORMATIONAL and not flags & m.FLAG_RESPONSE and len(d.payload) < 100:
            out.append((t, mid))
    return out


def _activity(net, eng, inbound=None, outbound=None):
    for child in installed(net, net.name_of(eng)):
        eng.sa_activity(contract.SaActivity(child.spi_in, inbound, outbound), net.now)


def test_dpd_optimized_probes_only_unanswered_outbound_traffic():
    a, b = symmetric(dpd=DeadPeerDetection("optimized", interval=10, threshold=3))
    net, ea, eb = pair(a, b)
    net.advance(35)
    assert _dpd_requests(net) == []  # no traffic, nothing to prove
    # traffic both ways: still no probe
    for _ in range(4):
        _activity(net, ea, inbound=net.now, outbound=net.now)
        net.advance(10)
    assert _dpd_requests(net) == []
    # outbound only: a probe within one interval after the last inbound packet
    since = net.now
    _activity(net, ea, outbound=net.now + 1)
    net.advance(21)
    probes = _dpd_requests(net, since=since)
    assert len(probes) >= 1
    sa = next(iter(ea.sas.values()))
    assert sa.counters.dpd_responses_received >= 1 and sa.is_up


def test_dpd_always_send_probes_every_interval():
    a, b = symmetric(dpd=DeadPeerDetection("always-send", interval=5, threshold=3))
    net, ea, eb = pair(a, b)
    net.advance(26)
    times = [t for t, _ in _dpd_requests(net)]
    assert times == [5.0, 10.0, 15.0, 20.0, 25.0]
    snap = eb.ike_sa_snapshots()[0]
    assert snap.counters["dpd_received"] == 5 and snap.counters["dpd_responses_sent"] == 5


def test_dpd_probe_idle_tunnel():
    a, b = symmetric(dpd=DeadPeerDetection("probe-idle-tunnel", interval=10, threshold=3))
    net, ea, eb = pair(a, b)
    for _ in range(3):
        _activity(net, ea, inbound=net.now, outbound=net.now)
        net.advance(9)
    assert _dpd_requests(net) == []
    net.advance(25)
    assert len(_dpd_requests(net)) >= 1


def test_dead_peer_is_deleted_and_reinitiated():
    a, b = symmetric(dpd=DeadPeerDetection("always-send", interval=5, threshold=3))
    net, ea, eb = pair(a, b)
    ((first, _),) = assert_tunnel_pairs(net)
    net.filter = lambda sender, d: [] if sender == "b" else [d]  # B stops answering
    net.advance(5 + 5 * 3 + 1)
    probes = _dpd_requests(net, since=5.0)
    assert [t for t, _ in probes][:3] == [5.0, 10.0, 15.0]  # threshold probes, one per interval
    assert len({mid for _t, mid in probes[:3]}) == 1  # retransmissions of one request
    assert installed(net, "a") == []
    downs = [e for e in net.events_of("a", contract.IkeSaStateChanged) if e.state == "down"]
    assert downs and downs[0].reason == "dead peer"
    # re-initiated as the VPN establishes immediately; comes up once B answers again
    net.filter = None
    net.advance(60)
    ((again, _),) = assert_tunnel_pairs(net)
    assert again.spi_in != first.spi_in


NAT_PUBLIC = "198.51.100.7"


def _a_behind_nat(**a_options):
    """A (``symmetric(**a_options)``) behind a NAT whose public address B knows it by; settled."""
    a, _b = symmetric(**a_options)
    b = make_intent(B_ADDR, NAT_PUBLIC, establish="responder-only")
    net, ea, eb = pair(a, b, apply=False)
    nat = net.nats["a"] = Nat(NAT_PUBLIC)
    eb.apply(diff_intent(eb.intent, b), net.now)
    ea.apply(diff_intent(ea.intent, a), net.now)
    net.settle()
    return net, ea, eb, nat, b


def test_nat_traversal_float_encapsulation_and_keepalives():
    net, ea, eb, _nat, _b = _a_behind_nat(nat_keepalive=20)
    ((x, y),) = assert_tunnel_pairs(net)
    sa_a, sa_b = next(iter(ea.sas.values())), next(iter(eb.sas.values()))
    assert sa_a.nat_local and not sa_a.nat_remote
    assert sa_b.nat_remote and not sa_b.nat_local
    # A floated to 4500 after IKE_SA_INIT; everything after carries the non-ESP marker
    sent = [d for _t, n, d in net.log if n == "a"]
    assert (sent[0].sport, sent[0].dport, sent[0].non_esp_marker) == (500, 500, False)
    assert all((d.sport, d.dport, d.non_esp_marker) == (4500, 4500, True) for d in sent[1:])
    # the child SAs carry the UDP encapsulation: B sends to the NAT's public mapping
    assert x.encap == contract.UdpEncap("nat-t", 4500, 4500)
    assert y.encap.kind == "nat-t" and y.encap.source_port == 4500
    assert y.encap.destination_port == net.nats["a"].out[(A_ADDR, 4500)]
    assert str(sa_b.remote_addr) == NAT_PUBLIC
    # keepalives (one 0xFF byte) every nat-keepalive seconds while idle
    net.advance(65)
    keepalives = [t for t, n, d in net.log if n == "a" and d.payload == b"\xff"]
    assert len(keepalives) == 3 and keepalives[1] - keepalives[0] == pytest.approx(20)
    assert eb.stats["rx_keepalives"] == 3


def test_no_nat_traversal_sends_no_nat_detection():
    a, b = symmetric(no_nat_traversal=True)
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    first = m.decode_message(net.log[0][2].payload)
    assert first.notify(m.N_NAT_DETECTION_SOURCE_IP) is None
    assert installed(net, "a")[0].encap is None


def test_custom_ports_always_use_the_marker():
    a, b = symmetric()
    opts = dict(ike_port=15500, natt_port=15501)
    net, ea, eb = pair(a, b, a_opts=EngineOptions(device_name="a", **opts),
                       b_opts=EngineOptions(device_name="b", **opts))
    assert_tunnel_pairs(net)
    assert all(d.non_esp_marker and d.sport == 15500 for _t, _n, d in net.log)


def _frag_intents(size):
    ca = Ca("rsa")
    la, _ = ca.issue(str(A_ADDR), "rsa")
    lb, _ = ca.issue(str(B_ADDR), "rsa")
    a = make_intent(A_ADDR, B_ADDR, psk=None, ike=ike_proposal(method="rsa-signatures"), cert=la, ca_pem=ca.pem,
                    fragmentation_size=size)
    b = make_intent(B_ADDR, A_ADDR, psk=None, ike=ike_proposal(method="rsa-signatures"), cert=lb, ca_pem=ca.pem,
                    fragmentation_size=size, establish="responder-only")
    return a, b


def test_fragmentation_of_ike_auth_with_certificates():
    a, b = _frag_intents(576)
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    frags = [m.decode_message(d.payload) for _t, _n, d in net.log if m.parse_header(d.payload)[2] == m.PT_SKF]
    assert len(frags) >= 4  # both IKE_AUTH messages were split
    assert all(len(f.raw) <= 576 - 28 for f in frags)
    assert {f.fragment.total for f in frags if not f.is_response} == {max(f.fragment.number for f in frags
                                                                        if not f.is_response)}
    snap = ea.ike_sa_snapshots()[0]
    assert snap.fragmentation and snap.counters["out_frag_packets"] >= 2


def test_fragments_out_of_order_and_lost_fragment_recovered():
    a, b = _frag_intents(576)
    net, ea, eb = pair(a, b, apply=False)
    state = {"dropped": False, "held": [], "reordered": 0}

    def mangle(sender, d):
        if sender != "a" or m.parse_header(d.payload)[2] != m.PT_SKF:
            return [d]
        f = m.decode_message(d.payload).fragment
        state["held"].append(d)
        if len(state["held"]) < f.total:
            return []
        held, state["held"] = state["held"], []
        if not state["dropped"]:
            state["dropped"] = True
            held = held[:1] + held[2:]  # lose fragment 2
        state["reordered"] += 1
        return list(reversed(held))  # and deliver the rest last-first

    net.filter = mangle
    from netconf_device.config.intent import diff_intent

    eb.apply(diff_intent(eb.intent, b), net.now)
    ea.apply(diff_intent(ea.intent, a), net.now)
    net.settle()
    assert installed(net, "a") == []
    net.advance(5)  # A retransmits all fragments
    assert state["dropped"] and state["reordered"] >= 2
    assert_tunnel_pairs(net)


def test_reassembly_limits_drop_oversized_messages():
    a, b = _frag_intents(576)
    net, ea, eb = pair(a, b, b_opts=EngineOptions(device_name="b", max_fragments=2))
    assert installed(net, "b") == []  # the IKE_AUTH request needs more fragments than B accepts
    assert all(len(s.reassembly) == 0 for s in eb.sas.values())


def test_fragmentation_disabled_sends_whole_messages():
    a, b = _frag_intents(576)
    from dataclasses import replace

    gw_a = replace(a.ike_gateways["gw"], fragmentation=False)
    a2 = replace(a, ike_gateways={"gw": gw_a},
                 ipsec_vpns={k: replace(v, gateway=gw_a) for k, v in a.ipsec_vpns.items()})
    net, ea, eb = pair(a2, b)
    assert_tunnel_pairs(net)
    assert not any(m.parse_header(d.payload)[2] == m.PT_SKF for _t, _n, d in net.log)


def test_ipv6_fragment_size_default():
    a6, b6 = ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("2001:db8::2")
    assert a6 != b6  # the default for IPv6 is 1280; IPv4 576 (Junos defaults)
    a, b = symmetric()
    net, ea, _eb = pair(a, b)
    assert ea.ike_sa_snapshots()[0].fragmentation_size == 576


def test_nat_rebinding_updates_the_children_encapsulation():
    net, _ea, _eb, nat, _b = _a_behind_nat(dpd=DeadPeerDetection("always-send", interval=5, threshold=3))
    ((x, y),) = assert_tunnel_pairs(net)
    old_port = y.encap.destination_port
    # the NAT forgets A's mapping and picks a new public port
    nat.out.clear()
    nat.port_base = 41000
    net.advance(6)  # the next DPD probe comes from the new port
    updates = [e for e in net.events_of("b", contract.ChildSaInstalled) if e.replaces_spi_in == e.sa.spi_in]
    assert updates and updates[-1].sa.encap.destination_port != old_port
    assert updates[-1].sa.encap.destination_port == nat.out[(A_ADDR, 4500)]
    assert updates[-1].sa.key_out == y.key_out and updates[-1].sa.spi_out == y.spi_out


def test_nat_rebinding_through_the_pfe_keeps_sequence_numbers_and_replay_window():
    """The engine's in-place update after a NAT rebinding, applied by the PFE: the SA keeps its outbound
    sequence number and its anti-replay window (a restart would make the peer drop what we send as replays)
    and sends to the new port."""
    from netconf_device.pfe import Datapath, ip

    net, _ea, _eb, nat, b = _a_behind_nat(dpd=DeadPeerDetection("always-send", interval=5, threshold=3))
    pfe = Datapath("b")
    pfe.apply_intent(b)
    fed = 0

    def feed():
        nonlocal fed
        for event in net.events["b"][fed:]:
            if isinstance(event, (contract.ChildSaInstalled, contract.ChildSaDeleted)):
                pfe.handle_event(event, net.now)
        fed = len(net.events["b"])

    feed()
    ((_x, y),) = assert_tunnel_pairs(net)
    inner = ip.ipv4_header(bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2)), 17, 8) + bytes(8)
    sa = pfe.sad.pairs[y.spi_in]
    for _ in range(5):
        sa.outbound.encapsulate(inner)
    sa.inbound.replay.update(7)  # seven packets of the peer authenticated
    nat.out.clear()
    nat.port_base = 41000
    net.advance(6)
    feed()
    moved = pfe.sad.pairs[y.spi_in]
    new_port = nat.out[(A_ADDR, 4500)]
    assert moved.child.encap.destination_port == new_port
    assert (moved.outbound.seq, moved.inbound.replay.top) == (5, 7)
    packet = moved.outbound.encapsulate(inner)
    assert int.from_bytes(packet[22:24], "big") == new_port
    assert int.from_bytes(packet[32:36], "big") == 6  # the next sequence number, not 1
