"""ESP interoperability with scapy's independent implementation (``SecurityAssociation``).

Every inner/outer family combination, both key sizes, with and without ESN and UDP encapsulation:
what we send, scapy decrypts to the forwarded inner packet; what scapy sends, we decrypt and forward.
"""

from __future__ import annotations

import itertools

import pytest
from pfe_testlib import (
    LAN,
    TUNNEL_INDEX,
    WAN,
    esp_fields,
    expected_forwarded,
    host,
    peer,
    scapy_decrypt,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.config.intent import UdpEncapsulation
from netconf_device.pfe import ip
from netconf_device.sa import RekeyRequest, UdpEncap

FAMILIES = list(itertools.product((4, 6), (4, 6)))  # (inner, outer)
ALGORITHMS = ("aes-128-gcm", "aes-256-gcm")
ENCAPS = {
    "plain": None,
    "nat-t": UdpEncap("nat-t", 4500, 4500),
    "service-set": UdpEncap("service-set", 0, 5000),
}


def _intent_for(encap_name: str, esn: bool) -> dict:
    kwargs: dict = {"esn": esn}
    if encap_name == "service-set":
        kwargs["udp_encapsulation"] = UdpEncapsulation(5000)
    return kwargs


def _scapy_nat_t(encap_name: str) -> tuple[int, int] | None:
    return {"plain": None, "nat-t": (4500, 4500), "service-set": (50000, 5000)}[encap_name]


def _for_every_sa_kind(test):
    """Both paths x every encapsulation x 32/64-bit sequence numbers x every algorithm x address families."""
    marks = (
        pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general")),
        pytest.mark.parametrize("encap_name", list(ENCAPS)),
        pytest.mark.parametrize("esn", (False, True), ids=("seq32", "esn")),
        pytest.mark.parametrize("algorithm", ALGORITHMS),
        pytest.mark.parametrize("inner,outer", FAMILIES, ids=[f"{i}in{o}" for i, o in FAMILIES]),
    )
    for mark in reversed(marks):  # as if stacked in this order above the test
        test = mark(test)
    return test


@_for_every_sa_kind
def test_pfe_our_esp_decrypts_in_scapy(inner, outer, algorithm, esn, encap_name, fast_path):
    a = peer("a", fast_path=fast_path, intent_kwargs=_intent_for(encap_name, esn), outer_version=outer,
             algorithm=algorithm, esn=esn, encap=ENCAPS[encap_name])
    oracle = scapy_sa("a", outer_version=outer, algorithm=algorithm, esn=esn, nat_t=_scapy_nat_t(encap_name))
    packets = [udp_packet(host("a", inner), host("b", inner), payload=bytes([i]) * (10 + 37 * i), sport=1000 + i)
               for i in range(5)]
    out = a.process([(LAN, p) for p in packets], 10.0)
    assert [egress for egress, _ in out] == [WAN] * 5
    for seq, ((_, esp), original) in enumerate(zip(out, packets, strict=True), start=1):
        proto, spi, seq_low = esp_fields(esp)
        assert proto == (50 if encap_name == "plain" else 17)
        assert (esp[0] >> 4) == outer
        assert seq_low == seq
        assert scapy_decrypt(oracle, esp) == expected_forwarded(original)
    stats = a.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_encrypted_packets"] == 5
    assert stats["esp_encrypted_bytes"] == sum(len(p) for _, p in out)


@_for_every_sa_kind
def test_pfe_scapy_esp_decrypts_in_pfe(inner, outer, algorithm, esn, encap_name, fast_path):
    b = peer("b", fast_path=fast_path, intent_kwargs=_intent_for(encap_name, esn), outer_version=outer,
             algorithm=algorithm, esn=esn, encap=ENCAPS[encap_name])
    sender = scapy_sa("a", outer_version=outer, algorithm=algorithm, esn=esn, nat_t=_scapy_nat_t(encap_name))
    inners = [expected_forwarded(udp_packet(host("a", inner), host("b", inner), payload=b"q" * (3 + 50 * i)))
              for i in range(4)]
    wire = [(WAN, scapy_encrypt(sender, p, seq_num=i + 1, esn_high=0 if esn else None))
            for i, p in enumerate(inners)]
    out = b.process(wire, 5.0)
    assert out == [(LAN, expected_forwarded(p)) for p in inners]
    stats = b.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_decrypted_packets"] == 4
    assert stats["esp_decrypted_bytes"] == sum(len(p) for p in inners)
    assert stats["discard_errors"] == 0


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_pfe_esn_outbound_crosses_2_32(algorithm, fast_path):
    a = peer("a", fast_path=fast_path, intent_kwargs={"esn": True}, algorithm=algorithm, esn=True)
    pair = next(iter(a.sad.pairs.values()))
    pair.outbound.seq = (1 << 32) - 4
    packets = [udp_packet(host("a", 4), host("b", 4), payload=bytes([i]) * 40) for i in range(7)]
    out = a.process([(LAN, p) for p in packets], 1.0)
    assert len(out) == 7
    for index, ((_, esp), original) in enumerate(zip(out, packets, strict=True)):
        seq = (1 << 32) - 3 + index
        assert esp_fields(esp)[2] == seq & 0xFFFFFFFF  # only the low half travels
        oracle = scapy_sa("a", algorithm=algorithm, esn=True, esn_high=seq >> 32)
        assert scapy_decrypt(oracle, esp, esn_high=seq >> 32) == expected_forwarded(original)
    # A receiver that followed the sequence accepts them all (its high half is inferred).
    b = peer("b", fast_path=fast_path, intent_kwargs={"esn": True}, algorithm=algorithm, esn=True)
    assert len(b.process(out, 1.0)) == 7


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
def test_pfe_esn_inbound_from_scapy_across_2_32(fast_path):
    b = peer("b", fast_path=fast_path, intent_kwargs={"esn": True}, esn=True)
    inner = expected_forwarded(udp_packet(host("a", 4), host("b", 4)))
    sender = scapy_sa("a", esn=True)
    wire = []
    for seq in range((1 << 32) - 3, (1 << 32) + 4):
        wire.append((WAN, scapy_encrypt(sender, inner, seq_num=seq & 0xFFFFFFFF, esn_high=seq >> 32)))
    out = b.process(wire, 1.0)
    assert len(out) == 7
    pair = next(iter(b.sad.pairs.values()))
    assert pair.inbound.replay.top == (1 << 32) + 3
    # A replay of the packet from before the boundary is now refused.
    assert b.process(wire[:1], 2.0) == []
    assert b.ipsec_statistics(TUNNEL_INDEX)["replay_errors"] == 1


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
def test_pfe_seq32_never_wraps(fast_path):
    a = peer("a", fast_path=fast_path)
    pair = next(iter(a.sad.pairs.values()))
    pair.outbound.seq = (1 << 32) - 3
    packets = [(LAN, udp_packet(host("a", 4), host("b", 4))) for _ in range(4)]
    out = a.process(packets, 1.0)
    assert [esp_fields(p)[2] for _, p in out] == [(1 << 32) - 2, (1 << 32) - 1]
    stats = a.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_encrypted_packets"] == 2
    assert stats["discard_errors"] == 2
    events = a.drain_events()
    assert RekeyRequest(TUNNEL_INDEX, pair.inbound.spi, "sequence") in events


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
@pytest.mark.parametrize("esn", (False, True), ids=("seq32", "esn"))
def test_pfe_rekey_requested_before_the_counter_wraps(fast_path, esn):
    a = peer("a", fast_path=fast_path, intent_kwargs={"esn": esn}, esn=esn)
    pair = next(iter(a.sad.pairs.values()))
    pair.outbound.seq = pair.outbound.seq_soft - 3
    packets = [(LAN, udp_packet(host("a", 4), host("b", 4))) for _ in range(6)]
    assert len(a.process(packets[:2], 1.0)) == 2
    assert not [e for e in a.drain_events() if isinstance(e, RekeyRequest)]
    assert len(a.process(packets[2:], 2.0)) == 4  # traffic keeps flowing while IKE rekeys
    assert [e for e in a.drain_events() if isinstance(e, RekeyRequest)] == [
        RekeyRequest(TUNNEL_INDEX, pair.inbound.spi, "sequence")]
    assert pair.outbound.seq_soft < pair.outbound.seq_limit


@pytest.mark.parametrize("fast_path", (True, False), ids=("fast", "general"))
def test_pfe_outer_ce_mark_reaches_ect_inner_packets(fast_path):
    b = peer("b", fast_path=fast_path)
    sender = scapy_sa("a")
    ect = expected_forwarded(udp_packet(host("a", 4), host("b", 4), tos=0x02))  # ECT(0)
    not_ect = expected_forwarded(udp_packet(host("a", 4), host("b", 4), tos=0x00))
    wire = []
    for seq, inner in enumerate((ect, not_ect), 1):
        esp = bytearray(scapy_encrypt(sender, inner, seq_num=seq))
        esp[1] |= 0x03  # a congested router marked the outer header CE
        esp[10:12] = b"\0\0"
        esp[10:12] = ip.checksum(bytes(esp[:20])).to_bytes(2, "big")
        wire.append((WAN, bytes(esp)))
    out = b.process(wire, 1.0)
    assert [p[1] & 3 for _, p in out] == [3, 0]
    assert all(ip.checksum(p[:20]) == 0 for _, p in out)
