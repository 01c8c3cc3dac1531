"""How installed SAs change: in-place endpoint updates (a NAT rebinding), make-before-break rekeys and
retiring SAs (``Datapath.install`` / ``delete`` / ``retire``), through the C fast path, the Python fast
path and the general path alike; scapy checks what goes on the wire.
"""

from __future__ import annotations

import dataclasses

import pytest
from pfe_testlib import (
    ALL_PATHS,
    LAN,
    SPI_A_TO_B,
    TUNNEL_INDEX,
    WAN,
    child_sa,
    esp_fields,
    expected_forwarded,
    host,
    make_intent,
    path_options,
    scapy_decrypt,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.pfe import Datapath
from netconf_device.sa import ChildSaDeleted, ChildSaInstalled, UdpEncap

NAT_T = UdpEncap("nat-t", 4500, 4500)
#: The peer's NAT picked a new public port: our end stays on 4500, the peer is now reached on 41000.
REBOUND = UdpEncap("nat-t", 4500, 41000)


@pytest.fixture(params=ALL_PATHS)
def impl(request):
    return request.param


def _datapath(side: str, impl: str, **kwargs) -> Datapath:
    dp = Datapath(f"peer-{side}", **path_options(impl), **kwargs)
    dp.apply_intent(make_intent(side))
    return dp


def _udp_ports(packet: bytes) -> tuple[int, int]:
    assert packet[9] == 17
    return int.from_bytes(packet[20:22], "big"), int.from_bytes(packet[22:24], "big")


def _to_b(count: int, first: int = 0) -> list:
    return [(LAN, udp_packet(host("a", 4), host("b", 4), payload=bytes([n]) * (20 + n), sport=2000 + n))
            for n in range(first, first + count)]


# ------------------------------------------------------------------------------------ in-place updates
def test_pfe_nat_rebinding_keeps_the_outbound_sequence(impl):
    a = _datapath("a", impl)
    child = child_sa("a", encap=NAT_T)
    a.install(ChildSaInstalled(child))
    before = a.process(_to_b(5), 1.0)
    assert [esp_fields(p)[2] for _, p in before] == [1, 2, 3, 4, 5]
    # the IKE daemon's in-place update: same SPIs and keys, new UDP ports
    a.install(ChildSaInstalled(dataclasses.replace(child, encap=REBOUND), replaces_spi_in=child.spi_in))
    assert len(a.sad) == 1
    batch = _to_b(3, first=5)
    after = a.process(batch, 2.0)
    assert [esp_fields(p)[2] for _, p in after] == [6, 7, 8]  # no restart: the peer's window would drop 1..5
    assert all(_udp_ports(p) == (4500, 41000) for _, p in after)
    oracle = scapy_sa("a", nat_t=(4500, 41000))
    for (_, esp), (_, original) in zip(after, batch, strict=True):
        assert scapy_decrypt(oracle, esp) == expected_forwarded(original)
    stats = a.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_encrypted_packets"] == 8 and stats["discard_errors"] == 0
    (pair,) = a.sad.pairs.values()
    assert pair.child.encap == REBOUND  # the show commands see the new ports


def test_pfe_nat_rebinding_keeps_the_replay_window_and_counters(impl):
    b = _datapath("b", impl)
    child = child_sa("b", encap=NAT_T)
    b.install(ChildSaInstalled(child))
    sender = scapy_sa("a", nat_t=(4500, 4500))
    inner = expected_forwarded(udp_packet(host("a", 4), host("b", 4)))
    wire = [(WAN, scapy_encrypt(sender, inner, seq_num=n)) for n in range(1, 6)]
    assert len(b.process(wire, 1.0)) == 5
    b.install(ChildSaInstalled(dataclasses.replace(child, encap=UdpEncap("nat-t", 4500, 41000)),
                               replaces_spi_in=child.spi_in))
    moved = scapy_sa("a", nat_t=(41000, 4500))
    replayed = scapy_encrypt(moved, inner, seq_num=3)
    fresh = scapy_encrypt(moved, inner, seq_num=6)
    assert b.process([(WAN, replayed), (WAN, fresh)], 2.0) == [(LAN, expected_forwarded(inner))]
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert (stats["esp_decrypted_packets"], stats["replay_errors"]) == (6, 1)
    (pair,) = b.sad.pairs.values()
    assert pair.inbound.replay.top == 6


def test_pfe_update_of_a_plain_sa_to_nat_t_and_lifetime_usage_carried(impl):
    a = _datapath("a", impl)
    child = child_sa("a", lifetime_packets=10)
    a.install(ChildSaInstalled(child))
    assert len(a.process(_to_b(4), 1.0)) == 4
    a.install(ChildSaInstalled(dataclasses.replace(child, encap=REBOUND), replaces_spi_in=child.spi_in))
    out = a.process(_to_b(8, first=4), 2.0)
    assert len(out) == 6  # the packet lifetime counts across the update: 10 in all
    assert all(_udp_ports(p) == (4500, 41000) for _, p in out)
    assert [esp_fields(p)[2] for _, p in out] == list(range(5, 11))
    assert a.sa_usage(child.spi_in)["outbound_packets"] == 10


def test_pfe_same_spi_with_other_keys_is_a_new_sa(impl):
    a = _datapath("a", impl)
    child = child_sa("a")
    a.install(ChildSaInstalled(child))
    a.process(_to_b(3), 1.0)
    other = dataclasses.replace(child, key_out=bytes(36))
    a.install(ChildSaInstalled(other))
    (_, esp), = a.process(_to_b(1), 2.0)
    assert esp_fields(esp)[2] == 1  # a different SA: its own sequence space


def test_pfe_update_keeps_the_sending_order(impl):
    a = _datapath("a", impl)
    old = child_sa("a")
    new = child_sa("a", spi_offset=0x100)
    a.install(ChildSaInstalled(old))
    a.install(ChildSaInstalled(new, replaces_spi_in=old.spi_in), make_before_break=True)
    a.install(ChildSaInstalled(dataclasses.replace(new, encap=REBOUND), replaces_spi_in=new.spi_in))
    out = a.process(_to_b(2), 1.0)
    assert {esp_fields(p)[1] for _, p in out} == {old.spi_out}  # the update did not move the new SA first
    assert [p.inbound.spi for p in a.sad.outbound_pairs(TUNNEL_INDEX)] == [old.spi_in, new.spi_in]


# ------------------------------------------------------------------------------------ make-before-break
def test_pfe_make_before_break_policy_keeps_the_old_sa_sending_until_deleted(impl):
    a = _datapath("a", impl, make_before_break=True, retire_grace=2.0)
    b = _datapath("b", impl, make_before_break=True, retire_grace=2.0)
    old_a, old_b = child_sa("a"), child_sa("b")
    new_a, new_b = child_sa("a", spi_offset=0x100), child_sa("b", spi_offset=0x100)
    for dp, old, new in ((a, old_a, new_a), (b, old_b, new_b)):
        dp.handle_event(ChildSaInstalled(old), 0.0)
        dp.handle_event(ChildSaInstalled(new, replaces_spi_in=old.spi_in), 1.0)
    sent_before = a.process(_to_b(2), 1.0)
    assert {esp_fields(p)[1] for _, p in sent_before} == {old_a.spi_out}
    assert len(b.process(sent_before, 1.0)) == 2
    # the IKE daemon deletes the old SA: the sender switches, the receiver keeps the old inbound SPI a while
    a.handle_event(ChildSaDeleted(TUNNEL_INDEX, old_a.spi_in, old_a.spi_out), 2.0)
    b.handle_event(ChildSaDeleted(TUNNEL_INDEX, old_b.spi_in, old_b.spi_out), 2.0)
    assert a.sad.is_retiring(old_a.spi_in) and b.sad.is_retiring(old_b.spi_in)
    assert [p.inbound.spi for p in b.sad.outbound_pairs(TUNNEL_INDEX)] == [new_b.spi_in]
    late = [(WAN, scapy_encrypt(scapy_sa("a"), expected_forwarded(udp_packet(host("a", 4), host("b", 4))),
                                seq_num=3))]
    sent_after = a.process(_to_b(2, first=2), 2.5)
    assert {esp_fields(p)[1] for _, p in sent_after} == {new_a.spi_out}
    assert len(b.process(late + sent_after, 3.9)) == 3  # a late packet on the old SA is still accepted
    # after the grace period the old SA is gone
    assert b.process(late, 4.0) == []
    assert not b.sad.is_retiring(old_b.spi_in) and old_b.spi_in not in b.sad.pairs
    stats = b.ipsec_statistics()
    assert stats["invalid_spi_errors"] == 1 and stats["replay_errors"] == 0


def _rekey_and_delete(dp: Datapath, side: str):
    """The IKE daemon's make-before-break sequence: an SA at 0.0, its successor at 0.5, the old one deleted
    at 1.0 (so it retires). Returns (old, new) child SAs."""
    old, new = child_sa(side), child_sa(side, spi_offset=0x100)
    dp.handle_event(ChildSaInstalled(old), 0.0)
    dp.handle_event(ChildSaInstalled(new, replaces_spi_in=old.spi_in), 0.5)
    dp.handle_event(ChildSaDeleted(TUNNEL_INDEX, old.spi_in, old.spi_out), 1.0)
    return old, new


def test_pfe_retiring_ends_on_the_periodic_tick_without_traffic(impl):
    b = _datapath("b", impl, make_before_break=True, retire_grace=2.0)
    old, _new = _rekey_and_delete(b, "b")
    b.process([], 2.9)
    assert old.spi_in in b.sad.pairs
    b.process([], 3.0)  # PfeRunner.tick runs an empty batch every second
    assert old.spi_in not in b.sad.pairs and len(b.sad) == 1


def test_pfe_the_only_sa_of_a_tunnel_is_deleted_at_once(impl):
    a = _datapath("a", impl, make_before_break=True, retire_grace=2.0)
    child = child_sa("a")
    a.handle_event(ChildSaInstalled(child), 0.0)
    a.handle_event(ChildSaDeleted(TUNNEL_INDEX, child.spi_in, child.spi_out), 1.0)
    assert len(a.sad) == 0 and not a.tunnel_up(TUNNEL_INDEX)
    assert a.process(_to_b(1), 1.5) == []


def test_pfe_explicit_api_on_a_datapath_without_the_policy(impl):
    a = _datapath("a", impl)  # default policy: a new SA sends at once, a deleted one goes at once
    old, new = child_sa("a"), child_sa("a", spi_offset=0x100)
    a.install(ChildSaInstalled(old))
    a.install(ChildSaInstalled(new, replaces_spi_in=old.spi_in), make_before_break=True)
    assert {esp_fields(p)[1] for _, p in a.process(_to_b(1), 1.0)} == {SPI_A_TO_B}
    assert a.retire(old.spi_in, grace=5.0, now=1.0)
    assert {esp_fields(p)[1] for _, p in a.process(_to_b(1), 1.0)} == {new.spi_out}
    assert not a.retire(new.spi_in, grace=5.0, now=1.0)  # nothing else to send on: refused
    a.process([], 6.0)
    assert list(a.sad.pairs) == [new.spi_in]


def test_pfe_removed_vpn_takes_its_retiring_sas(impl):
    a = _datapath("a", impl, make_before_break=True, retire_grace=30.0)
    _rekey_and_delete(a, "a")
    a.apply_intent(dataclasses.replace(make_intent("a"), ipsec_vpns={}))
    assert len(a.sad) == 0 and not a.sad.retiring
    a.process([], 40.0)  # the stale deadline finds nothing to remove
    assert len(a.sad) == 0


def test_pfe_refuses_an_sa_it_cannot_carry_with_a_log_line(impl, caplog):
    a = _datapath("a", impl)
    short_icv = dataclasses.replace(child_sa("a"), icv_length=12)
    with caplog.at_level("ERROR", logger="netconf_device.pfe"):
        assert a.handle_event(ChildSaInstalled(short_icv), 1.0) == []
    assert a.install_failures == 1 and len(a.sad) == 0
    assert "not installed: ICV length 12 not supported" in caplog.text
    a.handle_event(ChildSaInstalled(child_sa("a")), 1.0)  # the next one is fine
    assert len(a.process(_to_b(1), 2.0)) == 1
