"""The batched fast paths against the general per-packet path: the same traffic gives the same packets
(byte for byte where the order is the same), the same delivered inner packets and the same counters."""

from __future__ import annotations

import random

from pfe_testlib import (
    LAN,
    WAN,
    expected_forwarded,
    host,
    peer,
    scapy_decrypt,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.pfe import ip
from netconf_device.sa import UdpEncap


def test_pfe_fast_and_general_identical_for_plain_traffic():
    fast, general = peer("a"), peer("a", fast_path=False)
    rng = random.Random(7)
    batch = [(LAN, udp_packet(host("a", 4), host("b", 4), payload=rng.randbytes(rng.randint(0, 1400)),
                              tos=rng.choice((0, 0xB8, 0x2A)), df=rng.random() < 0.5, sport=rng.randint(1, 65535)))
             for _ in range(300)]
    out_fast = fast.process(batch, 1.0)
    assert out_fast == general.process(batch, 1.0)
    assert fast.fast.packets == 300 and general.fast.packets == 0
    b_fast, b_general = peer("b"), peer("b", fast_path=False)
    back_fast = b_fast.process(out_fast, 2.0)
    assert back_fast == b_general.process(out_fast, 2.0)
    assert b_fast.fast.packets == 300
    assert back_fast == [(LAN, expected_forwarded(expected_forwarded(p))) for _, p in batch]
    for x, y in ((fast, general), (b_fast, b_general)):
        assert x.ipsec_statistics() == y.ipsec_statistics()
        assert x.interface_statistics() == y.interface_statistics()


def _mixed_batch(rng: random.Random, seq_start: int) -> list:
    """LAN traffic with oddities (TTL 1, oversize, IPv6, pings) and WAN ESP with replays and forgeries."""
    batch = []
    sender = scapy_sa("b")
    for i in range(120):
        kind = rng.random()
        if kind < 0.5:
            batch.append((LAN, udp_packet(host("a", 4), host("b", 4), payload=rng.randbytes(rng.randint(0, 1600)),
                                          ttl=rng.choice((64, 1, 2)), df=rng.random() < 0.3)))
        elif kind < 0.6:
            batch.append((LAN, udp_packet(host("a", 6), host("b", 6), payload=rng.randbytes(rng.randint(0, 200)))))
        elif kind < 0.65:
            batch.append((LAN, ip.icmp_echo_request(bytes((1, 1, 1, 2)), bytes((1, 1, 1, 1)), 1, i)))
        else:
            inner = expected_forwarded(udp_packet(host("b", 4), host("a", rng.choice((2, 3))),
                                                  payload=rng.randbytes(rng.randint(0, 900)),
                                                  ttl=rng.choice((64, 64, 1)), tos=rng.choice((0, 3, 1))))
            seq = seq_start + i if rng.random() < 0.8 else seq_start + rng.randint(0, i)
            esp = bytearray(scapy_encrypt(sender, inner, seq_num=max(seq, 1)))
            if rng.random() < 0.05:
                esp[-1] ^= 1
            if rng.random() < 0.1:
                esp[1] |= 3  # CE on the outer header
                esp[10:12] = b"\0\0"
                esp[10:12] = ip.checksum(bytes(esp[:20])).to_bytes(2, "big")
            batch.append((WAN, bytes(esp)))
    return batch


def _decrypt_all(packets):
    """Inner packets of ESP leaving a (hence comparable whatever the sequence numbers were)."""
    oracle = scapy_sa("a")
    result = []
    for egress, packet in packets:
        if egress == WAN and packet[9] == ip.PROTO_ESP:
            result.append(("esp", scapy_decrypt(oracle, packet)))
        else:
            result.append((egress, packet))
    return sorted(result)


def test_pfe_fast_and_general_agree_on_mixed_traffic():
    fast, general = peer("a", intent_kwargs={"tunnel_mtu": 1200}), peer("a", fast_path=False,
                                                                         intent_kwargs={"tunnel_mtu": 1200})
    rng = random.Random(11)
    for round_number in range(4):
        batch = _mixed_batch(rng, 1 + round_number * 200)
        out_fast = fast.process(batch, float(round_number))
        out_general = general.process(batch, float(round_number))
        assert _decrypt_all(out_fast) == _decrypt_all(out_general)
    assert fast.fast.packets > 80
    assert fast.ipsec_statistics() == general.ipsec_statistics()
    assert fast.interface_statistics() == general.interface_statistics()


def test_pfe_fast_path_nat_t_and_esn_identical():
    for kwargs in ({"encap": UdpEncap("nat-t", 4500, 4500)}, {"esn": True, "intent_kwargs": {"esn": True}}):
        fast, general = peer("a", **kwargs), peer("a", fast_path=False, **kwargs)
        batch = [(LAN, udp_packet(host("a", 4), host("b", 4), payload=bytes([n]) * n)) for n in range(50)]
        out = fast.process(batch, 1.0)
        assert out == general.process(batch, 1.0)
        assert fast.fast.packets == 50
        b_fast, b_general = peer("b", **kwargs), peer("b", fast_path=False, **kwargs)
        assert b_fast.process(out, 1.0) == b_general.process(out, 1.0)
        assert b_fast.fast.packets == 50
        assert b_fast.ipsec_statistics() == b_general.ipsec_statistics()
