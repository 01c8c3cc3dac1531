"""The light outputs the show pollers use (brief IKE listing, one SA by index, soft lifetimes, active peers,
tunnel status by index) agree with the full snapshots and follow reconfiguration."""

from __future__ import annotations

import dataclasses

from ike_harness import A_ADDR, B_ADDR, make_intent, pair, symmetric

from netconf_device.config.intent import DeadPeerDetection, diff_intent
from netconf_device.ike import sa as sastate


def _established(**kw):
    a, b = symmetric(n_vpns=3, **kw)
    return pair(a, b)


def test_brief_listing_matches_the_full_snapshots():
    net, ea, eb = _established()
    assert ea.rekey_ike_sa(net.now, next(iter(ea.sas.values())).index)  # a second IKE SA index
    net.advance(1)
    for engine in (ea, eb):
        full = engine.ike_sa_snapshots()
        brief = engine.ike_sa_brief()
        assert len(full) == len(brief) >= 1
        for f, b in zip(full, brief, strict=True):
            assert (b.index, b.gateway, b.state, b.role, b.initiator_cookie, b.responder_cookie, b.local_address,
                    b.local_port, b.remote_address, b.remote_port, b.exchange_type) == (
                f.index, f.gateway, f.state, f.role, f.initiator_cookie, f.responder_cookie, f.local_address,
                f.local_port, f.remote_address, f.remote_port, f.exchange_type)
        last = full[-1]
        assert engine.ike_sa_snapshots(index=last.index) == [last]
        assert engine.ike_sa_brief(last.index) == [brief[-1]]
        assert engine.ike_sa_snapshots(index=99999) == [] and engine.ike_sa_brief(99999) == []


def test_child_soft_lifetimes_match_the_child_snapshots():
    net, ea, _eb = _established()
    net.advance(100)
    snaps = ea.child_sa_snapshots()
    assert len(snaps) == 3
    assert ea.child_soft_lifetimes() == {s.spi_in: s.soft_lifetime_remaining for s in snaps}
    one = snaps[1].tunnel_index
    assert ea.child_soft_lifetimes(tunnel_index=one) == {snaps[1].spi_in: snaps[1].soft_lifetime_remaining}
    assert ea.child_sa_snapshots(tunnel_index=one) == [snaps[1]]


def test_active_peers_sum_what_the_snapshots_hold():
    net, ea, eb = _established(dpd=DeadPeerDetection("always-send", interval=2, threshold=5))
    net.advance(9)
    for engine in (ea, eb):
        (peer,) = engine.active_peers()
        snaps = [s for s in engine.ike_sa_snapshots() if s.state == "UP"]
        assert peer["ike_sa_indices"] == [s.index for s in snaps]
        assert peer["ipsec_sa_count"] == sum(len(s.child_spis) for s in snaps) == 3
        assert peer["dpd_requests_sent"] == sum(s.counters["dpd_sent"] for s in snaps)
        assert peer["dpd_requests_received"] == sum(s.counters["dpd_received"] for s in snaps)
        assert peer["dpd_responses_received"] == sum(s.counters["dpd_responses_received"] for s in snaps)
        s = snaps[0]
        assert (peer["remote_address"], peer["remote_port"], peer["local_address"], peer["local_port"],
                peer["remote_id"], peer["local_id"], peer["gateway"], peer["dpd_mode"], peer["dpd_interval"],
                peer["dpd_threshold"]) == (s.remote_address, s.remote_port, s.local_address, s.local_port,
                                           s.remote_id, s.local_id, s.gateway, "always-send", 2, 5)
    assert ea.active_peers()[0]["dpd_requests_sent"] >= 3


def test_tunnel_status_by_index_follows_reconfiguration():
    a = make_intent(A_ADDR, B_ADDR, n_vpns=3)
    b = make_intent(B_ADDR, A_ADDR, n_vpns=3, establish="responder-only")
    net, ea, _eb = pair(a, b)
    assert ea.tunnel_status(500002)["vpn"] == "vpn2"
    assert ea.tunnel_status(500002)["negotiations"] == 1
    # vpn2 moves to st0.7 (tunnel index 500007), vpn3 goes
    vpns = dict(a.ipsec_vpns)
    vpns["vpn2"] = dataclasses.replace(vpns["vpn2"], bind_interface="st0.7", tunnel_index=500007)
    del vpns["vpn3"]
    moved = dataclasses.replace(a, ipsec_vpns=vpns)
    ea.apply(diff_intent(a, moved), net.now)
    net.settle()
    assert ea.tunnel_status(500002) is None and ea.tunnel_status(500003) is None
    assert ea.tunnel_status(500007)["vpn"] == "vpn2"
    assert ea.tunnel_status(500001)["vpn"] == "vpn1"
    assert {c.vpn.tunnel_index for c in ea._children.values() if c.state == sastate.CHILD_INSTALLED} == {
        500001, 500007}
