"""Differential fuzz of the C fast path: more than 100,000 random and mutated packets go through the C
path and, batch by batch, through the Python fast path. Nothing may raise or crash, every batch must
come out byte for byte the same, and the state (counters, events, sequence numbers, replay windows)
must match at the end.

Three kinds of input: mutated ESP as a peer sends it (outer headers, SPI, sequence number, ciphertext),
ESP whose ICV verifies around mutated plaintexts (forged with the SA's key, to reach the trailer and
inner-header checks that only run after decryption), and mutated inner packets on their way into the
tunnel."""

from __future__ import annotations

import random
import struct

import pytest
from pfe_testlib import (
    LAN,
    WAN,
    esp_trailer,
    expected_forwarded,
    forge_esp,
    host,
    needs_c_fast_path,
    peer,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.pfe import ip
from netconf_device.sa import UdpEncap

pytestmark = needs_c_fast_path

PACKETS = 102_400
BATCH = 256
NAT_T = UdpEncap("nat-t", 4500, 4500)

#: (side, peer() keyword arguments): the receiving configurations, each built once per implementation.
CONFIGS = (
    ("b", {}),
    ("b", {"encap": NAT_T}),
    ("b", {"esn": True, "intent_kwargs": {"esn": True, "anti_replay_window": 4096}}),
    ("b", {"intent_kwargs": {"anti_replay_window": 0, "tunnel_mtu": 1000}}),
    ("a", {}),
    ("a", {"encap": NAT_T, "intent_kwargs": {"df_bit": "set"}}),
    ("a", {"esn": True, "intent_kwargs": {"esn": True, "df_bit": "clear", "tunnel_mtu": 700}}),
)


def _fix_ipv4(data: bytearray) -> None:
    if len(data) >= 20 and data[0] >> 4 == 4:
        data[2:4] = struct.pack("!H", len(data))
        data[10:12] = b"\0\0"
        data[10:12] = struct.pack("!H", ip.checksum(bytes(data[:20])))


def _mutate(rng: random.Random, packet: bytes, fix_rate: float = 0.5) -> bytes:
    data = bytearray(packet)
    choice = rng.random()
    if choice < 0.4 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice < 0.55:
        data = data[: rng.randrange(len(data) + 1)]
    elif choice < 0.65:
        data += rng.randbytes(rng.randint(1, 64))
    elif choice < 0.8 and len(data) > 20:
        offset = rng.randrange(20, len(data))
        data[offset:] = rng.randbytes(len(data) - offset)
    elif choice < 0.9:
        pass  # unchanged: valid traffic keeps the fast loops busy between the oddities
    else:
        return rng.randbytes(rng.randint(0, 120))
    if rng.random() < fix_rate:
        _fix_ipv4(data)  # a consistent outer header lets the mutation reach the deeper layers
    return bytes(data)


def _inner_packets(rng: random.Random, toward: str) -> list[bytes]:
    src, dst = ("b", "a") if toward == "a" else ("a", "b")
    packets = []
    for n in (0, 1, 2, 3, 20, 61, 200, 900, 1372, 1400, 1600):
        packets.append(udp_packet(host(src, 4), host(dst, 4), payload=rng.randbytes(n), df=rng.random() < 0.3,
                                  tos=rng.choice((0, 1, 2, 3, 0xB8)), ttl=rng.choice((64, 2, 1))))
    packets.append(udp_packet(host(src, 6), host(dst, 6), payload=b"v6"))
    packets.append(ip.icmp_echo_request(ip.address_bytes(host(src, 4)), ip.address_bytes(host(dst, 4)), 1, 1))
    return packets


class _Feed:
    """Input for one configuration: what its side receives, valid or not."""

    def __init__(self, rng: random.Random, side: str, kwargs: dict) -> None:
        self.rng = rng
        self.side = side
        self.esn = kwargs.get("esn", False)
        self.udp = (4500, 4500) if "encap" in kwargs else None
        self.sender = "a" if side == "b" else "b"
        self.top = (1 << 32) - 20_000 if self.esn else 1
        self.inner = [expected_forwarded(p) for p in _inner_packets(rng, side)]
        oracle = scapy_sa(self.sender, nat_t=self.udp, esn=self.esn)
        self.esp = [scapy_encrypt(oracle, p, seq_num=n + 1, esn_high=0 if self.esn else None)
                    for n, p in enumerate(self.inner)]
        self.lan = _inner_packets(rng, "b" if side == "a" else "a")

    def _sequence(self) -> int:
        rng = self.rng
        if rng.random() < 0.7:
            self.top += rng.randint(0, 3)
            return self.top
        if rng.random() < 0.5:
            return max(0, self.top - rng.randint(0, 5000))
        self.top += rng.randint(0, 70_000)
        return self.top

    def _forged(self) -> bytes:
        rng = self.rng
        inner = rng.choice(self.inner)
        plaintext = bytearray(inner + esp_trailer(len(inner), rng.choice((4, 4, 4, 41, 59, 0))))
        if rng.random() < 0.6:
            for _ in range(rng.randint(1, 3)):  # header fields, trailer, padding ...
                spot = rng.choice((rng.randrange(20), len(plaintext) - 1 - rng.randrange(min(6, len(plaintext)))))
                plaintext[spot] = rng.randrange(256)
        if rng.random() < 0.2:
            plaintext = plaintext[: rng.randrange(len(plaintext) + 1)]
        return forge_esp(self.sender, bytes(plaintext), self._sequence(), esn=self.esn, udp=self.udp)

    def packet(self) -> tuple[str, bytes]:
        rng = self.rng
        choice = rng.random()
        if self.side == "a" and choice < 0.6:
            return LAN, _mutate(rng, rng.choice(self.lan), fix_rate=0.8)
        if choice < 0.8:
            forged = self._forged()
            return WAN, forged if rng.random() < 0.7 else _mutate(rng, forged)
        return WAN, _mutate(rng, rng.choice(self.esp))


def _well_formed(packet: bytes) -> bool:
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        return ip.checksum(packet[:ihl]) == 0 and (packet[2] << 8 | packet[3]) == len(packet)
    return packet[0] >> 4 == 6 and 40 + (packet[4] << 8 | packet[5]) == len(packet)


def _state(dp) -> tuple:
    usage = {spi: dp.sa_usage(spi) for spi in dp.sad.pairs}
    windows = {spi: (sa.replay.top, sa.replay.bitmap) for spi, sa in dp.sad.inbound.items()}
    return dp.ipsec_statistics(), dp.interface_statistics(), usage, windows


@pytest.mark.slow  # about 5 s: 102,400 packets through both implementations
def test_pfe_cfast_differential_fuzz():
    rng = random.Random(20260514)
    pairs = [(peer(side, fast_path_impl="c", **kwargs), peer(side, fast_path_impl="python", **kwargs))
             for side, kwargs in CONFIGS]
    feeds = [_Feed(rng, side, kwargs) for side, kwargs in CONFIGS]
    emitted = 0
    for number in range(PACKETS // BATCH):
        which = number % len(CONFIGS)
        batch = [feeds[which].packet() for _ in range(BATCH)]
        c, python = pairs[which]
        now = number / 100.0
        out_c = c.process(batch, now)
        assert out_c == python.process(batch, now), f"batch {number} ({CONFIGS[which]})"
        assert c.drain_events() == python.drain_events()
        for egress, packet in out_c:
            assert isinstance(egress, str) and _well_formed(packet)
        emitted += len(out_c)
    totals: dict[str, int] = {}
    fast = 0
    for c, python in pairs:
        assert _state(c) == _state(python)
        fast += c.fast.packets
        for name, value in c.ipsec_statistics().items():
            totals[name] = totals.get(name, 0) + value
    # The fuzz reaches every check of the loops, not only the first header test.
    for reason in ("esp_authentication_failures", "bad_headers", "bad_trailers", "esp_decryption_failures",
                   "replay_errors", "invalid_spi_errors", "esp_encrypted_packets", "esp_decrypted_packets"):
        assert totals[reason] > PACKETS // 2000, (reason, totals)
    assert fast > PACKETS // 20 and emitted > PACKETS // 20  # (about 10% pass every check)
