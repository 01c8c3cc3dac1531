"""Fuzz: random and mutated packets fed to the receiving side (decapsulation, IKE demux, local delivery)
must never raise, and whatever comes out must still be well-formed IP."""

from __future__ import annotations

import random
import struct

import pytest
from pfe_testlib import LAN, WAN, expected_forwarded, host, peer, scapy_encrypt, scapy_sa, udp_packet

from netconf_device.config.intent import UdpEncapsulation
from netconf_device.pfe import ip
from netconf_device.sa import UdpEncap

A_WAN4 = bytes((16, 1, 1, 1))
B_WAN4 = bytes((16, 1, 1, 2))


def _seeds() -> list[bytes]:
    """Valid packets of every inbound kind, as mutation starting points."""
    inner4 = expected_forwarded(udp_packet(host("a", 4), host("b", 4), payload=b"fuzz" * 20))
    inner6 = expected_forwarded(udp_packet(host("a", 6), host("b", 6), payload=b"zz" * 9))
    seeds = []
    for outer, nat_t in ((4, None), (4, (4500, 4500)), (6, None), (4, (50000, 5000)), (4, (50000, 500))):
        sender = scapy_sa("a", outer_version=outer, nat_t=nat_t)
        for n, inner in enumerate((inner4, inner6), 1):
            seeds.append(scapy_encrypt(sender, inner, seq_num=n))
    ike = bytes(range(1, 9)) + bytes(8) + bytes((33, 0x20, 34, 8)) + bytes(4) + struct.pack("!I", 36) + bytes(8)
    seeds.append(udp_packet(host("a", 4), "16.1.1.2", ike, sport=500, dport=500))
    seeds.append(udp_packet(host("a", 4), "16.1.1.2", b"\0\0\0\0" + ike, sport=4500, dport=4500))
    seeds.append(ip.icmp_echo_request(A_WAN4, B_WAN4, 1, 1, b"abc"))
    seeds.append(udp_packet(host("a", 4), host("b", 4)))
    return seeds


def _mutate(rng: random.Random, packet: bytes) -> bytes:
    data = bytearray(packet)
    choice = rng.random()
    if choice < 0.4:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice < 0.6:
        data = data[: rng.randrange(len(data) + 1)]
    elif choice < 0.7:
        data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    elif choice < 0.85:
        # Keep the outer header plausible so that the ESP/UDP parsers are reached.
        offset = rng.randrange(20, max(21, len(data)))
        data[offset:] = bytes(rng.randrange(256) for _ in range(len(data) - offset))
    else:
        return rng.randbytes(rng.randint(0, 120))
    if len(data) >= 20 and data[0] >> 4 == 4 and rng.random() < 0.5:
        data[2:4] = struct.pack("!H", len(data))  # fix the length so deeper layers are exercised
        data[10:12] = b"\0\0"
        data[10:12] = struct.pack("!H", ip.checksum(bytes(data[:20])))
    return bytes(data)


def _well_formed(packet: bytes) -> bool:
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        return ip.checksum(packet[:ihl]) == 0 and (packet[2] << 8 | packet[3]) == len(packet)
    return packet[0] >> 4 == 6 and 40 + (packet[4] << 8 | packet[5]) == len(packet)


@pytest.mark.parametrize("fast_path,count", ((True, 100_000), (False, 20_000)), ids=("fast", "general"))
def test_pfe_fuzz_decapsulation_never_raises(fast_path, count):
    receivers = [
        peer("b", fast_path=fast_path),
        peer("b", fast_path=fast_path, encap=UdpEncap("nat-t", 4500, 4500)),
        peer("b", fast_path=fast_path, esn=True, intent_kwargs={"esn": True, "anti_replay_window": 4096}),
        peer("b", fast_path=fast_path, outer_version=6),
        peer("b", fast_path=fast_path, encap=UdpEncap("service-set", 0, 5000),
             intent_kwargs={"udp_encapsulation": UdpEncapsulation(5000)}),
        peer("b", fast_path=fast_path, encap=UdpEncap("service-set", 0, 500),
             intent_kwargs={"udp_encapsulation": UdpEncapsulation(500)}),
    ]
    rng = random.Random(20260101)
    seeds = _seeds()
    batch = []
    emitted = 0
    batches = 0
    for i in range(count):
        batch.append((WAN if rng.random() < 0.9 else LAN, _mutate(rng, rng.choice(seeds))))
        if len(batch) == 256 or i == count - 1:
            receiver = receivers[batches % len(receivers)]  # each packet goes to one receiver
            batches += 1
            for egress, packet in receiver.process(batch, i / 1000.0):
                assert isinstance(egress, str) and _well_formed(packet)
                emitted += 1
            receiver.drain_events()
            batch = []
    totals: dict[str, int] = {}
    for receiver in receivers:
        stats = receiver.ipsec_statistics()
        assert stats["discard_errors"] > 0
        for name, value in stats.items():
            totals[name] = totals.get(name, 0) + value
    # The mutations really reach the ESP parser and the ICV check, not only the IP header checks.
    for reason in ("esp_authentication_failures", "bad_headers", "invalid_spi_errors", "replay_errors"):
        assert totals[reason] > count // 1000, reason
    assert emitted > 0  # some mutations keep the packet valid (e.g. outer TTL), and pass
