"""The C fast path defers each SA's own counters (tunnel ESP counters, st0 traffic, ``last_used``) until
something reads them. Whatever the order of traffic, reads, clears, SA changes and reconfiguration, every
observable value must be what the Python fast path and the general path give (which write at once)."""

from __future__ import annotations

import dataclasses
import gc

import pytest
from pfe_testlib import (
    ALL_PATHS,
    LAN,
    TUNNEL_INDEX,
    WAN,
    child_sa,
    host,
    make_intent,
    needs_c_fast_path,
    path_options,
    peer,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.sa import ChildSaDeleted, ChildSaInstalled, UdpEncap


@pytest.fixture(params=ALL_PATHS)
def impl(request):
    return request.param


def _peer(side: str, impl: str, *, quiet: bool = True, **kwargs):
    """A peer; ``quiet``: no periodic activity report (which also writes the deferred counters back) gets in
    the way, so that only the reads and changes a test makes can bring them in."""
    dp = peer(side, **path_options(impl), **kwargs)
    if quiet:
        dp._activity_interval = 1e9
        dp.process([], 0.0)  # the first report is due at once; the next one never
        dp.drain_events()
    return dp


def _out(count: int, payload: bytes = b"x" * 100) -> list:
    return [(LAN, udp_packet(host("a", 4), host("b", 4), payload=payload))] * count


def _in(count: int, first_seq: int = 1) -> list:
    sender = scapy_sa("a")
    inner = udp_packet(host("a", 4), host("b", 4), payload=b"y" * 60)
    return [(WAN, scapy_encrypt(sender, inner, seq_num=seq)) for seq in range(first_seq, first_seq + count)]


def test_pfe_counters_of_a_removed_tunnel_retire_with_everything_counted(impl):
    a = _peer("a", impl)
    a.process(_out(3), 1.0)  # nothing read in between: the C loops still hold these
    a.apply_intent(dataclasses.replace(make_intent("a"), ipsec_vpns={}))
    stats = a.ipsec_statistics()
    assert stats["esp_encrypted_packets"] == 3 and stats["esp_encrypted_bytes"] == 3 * 184


def test_pfe_clear_also_clears_what_was_not_yet_written_back(impl):
    a, b = _peer("a", impl), _peer("b", impl)
    a.process(_out(2), 1.0)
    b.process(_in(2), 1.0)
    a.clear_ipsec_statistics()
    b.clear_interface_statistics()
    assert a.ipsec_statistics()["esp_encrypted_packets"] == 0
    assert b.interface_statistics("st0.1")["st0.1"]["input_packets"] == 0
    assert b.ipsec_statistics(TUNNEL_INDEX)["esp_decrypted_packets"] == 2  # only the interfaces were cleared
    a.process(_out(1), 2.0)
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 1


def test_pfe_deleted_and_replaced_sas_keep_their_counts(impl):
    b = _peer("b", impl)
    b.process(_in(4), 1.0)
    old = child_sa("b")
    b.install(ChildSaInstalled(child_sa("b", spi_offset=0x100), replaces_spi_in=old.spi_in))
    b.delete(ChildSaDeleted(TUNNEL_INDEX, old.spi_in, old.spi_out))
    gc.collect()
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert (stats["esp_decrypted_packets"], stats["esp_decrypted_bytes"]) == (4, 4 * 88)
    assert b.interface_statistics("st0.1")["st0.1"]["input_packets"] == 4


def test_pfe_in_place_update_carries_last_use_and_counts(impl):
    a = _peer("a", impl, encap=UdpEncap("nat-t", 4500, 4500))
    spi = child_sa("a").spi_in
    a.process(_out(2), 3.0)
    a.install(ChildSaInstalled(dataclasses.replace(child_sa("a"), encap=UdpEncap("nat-t", 4500, 41000)),
                               replaces_spi_in=spi))
    assert a.sa_activity(spi).last_outbound == 3.0
    a.process(_out(1), 4.0)
    assert a.sa_activity(spi).last_outbound == 4.0
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 3


def test_pfe_last_use_never_goes_back(impl):
    a = _peer("a", impl, intent_kwargs={"tunnel_mtu": 600})
    spi = child_sa("a").spi_in
    a.process(_out(2), 5.0)  # the fast loops (C: deferred)
    a.process(_out(1, payload=b"z" * 1000), 7.0)  # too big for the tunnel: the general path pre-fragments
    assert a.sa_activity(spi).last_outbound == 7.0
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 4


def test_pfe_activity_reports_see_deferred_use(impl):
    a, b = _peer("a", impl, quiet=False), _peer("b", impl, quiet=False)
    a.process(_out(1), 10.0)
    b.process(_in(1), 10.0)
    spi_a, spi_b = child_sa("a").spi_in, child_sa("b").spi_in
    assert [(e.spi_in, e.last_inbound, e.last_outbound) for e in a.drain_events()] == [(spi_a, None, 10.0)]
    assert [(e.spi_in, e.last_inbound, e.last_outbound) for e in b.drain_events()] == [(spi_b, 10.0, None)]


def test_pfe_all_implementations_agree_on_every_counter_after_mixed_operations(impl):
    a, b = _peer("a", impl), _peer("b", impl)
    for step in range(1, 6):
        b.process(a.process(_out(step), float(step)), float(step))
        if step == 2:
            a.clear_ipsec_statistics(TUNNEL_INDEX)
        if step == 3:
            b.clear_interface_statistics("st0.1")
    snapshot = (a.ipsec_statistics(), b.ipsec_statistics(), a.interface_statistics(), b.interface_statistics())
    reference = _peer("a", "general", quiet=False), _peer("b", "general", quiet=False)
    ra, rb = reference
    for step in range(1, 6):
        rb.process(ra.process(_out(step), float(step)), float(step))
        if step == 2:
            ra.clear_ipsec_statistics(TUNNEL_INDEX)
        if step == 3:
            rb.clear_interface_statistics("st0.1")
    assert snapshot == (ra.ipsec_statistics(), rb.ipsec_statistics(), ra.interface_statistics(),
                        rb.interface_statistics())


@needs_c_fast_path
def test_pfe_cfast_lists_each_sa_once_until_flushed():
    a, b = _peer("a", "c"), _peer("b", "c")
    for step in range(1, 4):
        b.process(a.process(_out(2), float(step)), float(step))
    assert len(a.fast._dirty) == 1 and len(b.fast._dirty) == 1  # one Encap, one Decap: listed once
    b.ipsec_statistics(TUNNEL_INDEX)
    assert b.fast._dirty == []
    a.process([], 2.0e9)  # the periodic activity report flushes too
    assert a.fast._dirty == []


def test_pfe_deferred_use_survives_a_rekey_that_drops_the_cached_entries(impl):
    """A rekey drops the tunnel's cached fast-path entries; what they deferred is still seen by a read, and
    carried over by an in-place update of the old pair."""
    a, b = _peer("a", impl), _peer("b", impl)
    old_a, old_b = child_sa("a"), child_sa("b")
    a.process(_out(2), 3.0)
    b.process(_in(2), 4.0)
    a.install(ChildSaInstalled(child_sa("a", spi_offset=0x100), replaces_spi_in=old_a.spi_in))
    b.install(ChildSaInstalled(child_sa("b", spi_offset=0x100), replaces_spi_in=old_b.spi_in))
    assert b.sa_activity(old_b.spi_in).last_inbound == 4.0
    # the old pair's NAT mapping moves (same keys): an in-place update carries its state over
    a.install(ChildSaInstalled(dataclasses.replace(old_a, encap=UdpEncap("nat-t", 4500, 41000)),
                               replaces_spi_in=old_a.spi_in))
    assert a.sa_activity(old_a.spi_in).last_outbound == 3.0
    assert a.ipsec_statistics(TUNNEL_INDEX)["esp_encrypted_packets"] == 2
