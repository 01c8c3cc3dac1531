"""Inbound ESP that must be dropped, each counted under its Junos error counter, and what must pass:
bad ICV, unknown SPI, truncated packets, bad padding, bad next header, traffic-selector mismatch,
outer fragments; TFC padding and dummy packets (RFC 4303 2.6/2.7) are tolerated.

The malformed packets are built here directly with ``cryptography``'s AESGCM (not with the PFE), so
that the trailer and content can be chosen freely while the ICV stays valid.
"""

from __future__ import annotations

import ipaddress
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pfe_testlib import (
    KEYS,
    LAN,
    SPI_A_TO_B,
    TUNNEL_INDEX,
    WAN,
    child_sa,
    expected_forwarded,
    host,
    make_intent,
    scapy_encrypt,
    scapy_sa,
    udp_packet,
)

from netconf_device.pfe import Datapath, ip
from netconf_device.sa import ChildSaInstalled

A_WAN = ipaddress.ip_address("16.1.1.1").packed
B_WAN = ipaddress.ip_address("16.1.1.2").packed


def _receiver(fast_path: bool, **sa_kwargs) -> Datapath:
    dp = Datapath("b", fast_path=fast_path)
    dp.apply_intent(make_intent("b"))
    dp.install(ChildSaInstalled(child_sa("b", **sa_kwargs)))
    return dp


def crafted_esp(plaintext: bytes, seq: int, *, spi: int = SPI_A_TO_B, key: bytes = KEYS[("aes-256-gcm", "a->b")],
                flags_fragment: int = 0) -> bytes:
    header = struct.pack("!II", spi, seq)
    iv = struct.pack("!Q", seq)
    body = header + iv + AESGCM(key[:-4]).encrypt(key[-4:] + iv, plaintext, header)
    return ip.ipv4_header(A_WAN, B_WAN, ip.PROTO_ESP, len(body), flags_fragment=flags_fragment) + body


def trailer(inner: bytes, next_header: int = 4, padding: bytes | None = None) -> bytes:
    pad = (2 - len(inner)) & 3
    if padding is None:
        padding = bytes(range(1, pad + 1))
    return inner + padding + bytes((len(padding), next_header))


INNER = expected_forwarded(udp_packet(host("a", 4), host("b", 4), payload=b"hello" * 7))


@pytest.fixture(params=(True, False), ids=("fast", "general"))
def fast_path(request):
    return request.param


def test_pfe_crafted_baseline_is_accepted(fast_path):
    dp = _receiver(fast_path)
    out = dp.process([(WAN, crafted_esp(trailer(INNER), 1))], 1.0)
    assert out == [(LAN, expected_forwarded(INNER))]


def test_pfe_bad_icv_dropped_and_counted(fast_path):
    dp = _receiver(fast_path)
    packet = bytearray(crafted_esp(trailer(INNER), 1))
    packet[40] ^= 0x80  # a ciphertext bit
    assert dp.process([(WAN, bytes(packet))], 1.0) == []
    wrong_key = crafted_esp(trailer(INNER), 2, key=KEYS[("aes-256-gcm", "b->a")])
    assert dp.process([(WAN, wrong_key)], 1.0) == []
    stats = dp.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_authentication_failures"] == 2
    assert stats["discard_errors"] == 2
    assert stats["esp_decrypted_packets"] == 0


def test_pfe_unknown_spi_dropped_and_counted_globally(fast_path):
    dp = _receiver(fast_path)
    assert dp.process([(WAN, crafted_esp(trailer(INNER), 1, spi=0x12345678))], 1.0) == []
    assert dp.ipsec_statistics()["invalid_spi_errors"] == 1
    assert dp.ipsec_statistics()["discard_errors"] == 1
    assert dp.ipsec_statistics(TUNNEL_INDEX)["invalid_spi_errors"] == 0


@pytest.mark.parametrize("keep", (20, 24, 28, 36, 40, 51))
def test_pfe_truncated_esp_dropped(fast_path, keep):
    dp = _receiver(fast_path)
    full = crafted_esp(trailer(INNER), 1)
    body = full[20:keep]
    packet = ip.ipv4_header(A_WAN, B_WAN, ip.PROTO_ESP, len(body)) + body
    assert dp.process([(WAN, packet)], 1.0) == []
    stats = dp.ipsec_statistics()
    assert stats["bad_headers"] == 1
    assert stats["discard_errors"] == 1


def test_pfe_truncated_ip_header_counted_as_input_error(fast_path):
    dp = _receiver(fast_path)
    full = crafted_esp(trailer(INNER), 1)
    assert dp.process([(WAN, full[:-5])], 1.0) == []  # total length says more than arrived
    assert dp.process([(WAN, full[:15])], 1.0) == []
    assert dp.interface_statistics("et-0/2/10.0")["et-0/2/10.0"]["input_errors"] == 2


@pytest.mark.parametrize("padding", [b"\x01\x02\x04", b"\x00", b"\x05\x06\x07\x08"], ids=("wrong", "zero", "long"))
def test_pfe_bad_padding_dropped_as_bad_trailer(fast_path, padding):
    dp = _receiver(fast_path)
    inner = INNER + b"\0" * ((-len(INNER) - 2 - len(padding)) % 4)  # keep 4-byte alignment
    inner = inner[:2] + struct.pack("!H", len(INNER)) + inner[4:]
    assert dp.process([(WAN, crafted_esp(trailer(inner, padding=padding), 1))], 1.0) == []
    stats = dp.ipsec_statistics(TUNNEL_INDEX)
    assert stats["bad_trailers"] == 1
    assert stats["discard_errors"] == 1


def test_pfe_pad_length_beyond_payload_is_bad_trailer(fast_path):
    dp = _receiver(fast_path)
    plaintext = b"\x01\x02" + bytes((250, 4))
    assert dp.process([(WAN, crafted_esp(plaintext, 1))], 1.0) == []
    assert dp.ipsec_statistics(TUNNEL_INDEX)["bad_trailers"] == 1


@pytest.mark.parametrize("next_header,content", [(6, INNER), (41, INNER), (4, b"\x60" + INNER[1:]),
                                                 (4, INNER[:2] + b"\x10\x00" + INNER[4:])],
                         ids=("tcp", "v6-mismatch", "version", "length"))
def test_pfe_unusable_inner_packet_is_decryption_failure(fast_path, next_header, content):
    dp = _receiver(fast_path)
    assert dp.process([(WAN, crafted_esp(trailer(content, next_header=next_header), 1))], 1.0) == []
    stats = dp.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_decryption_failures"] == 1
    assert stats["discard_errors"] == 1


def test_pfe_tfc_padding_and_dummy_packets_tolerated(fast_path):
    dp = _receiver(fast_path)
    tfc = INNER + b"\xaa" * 37  # TFC padding between the inner packet and the ESP padding
    dummy = trailer(b"\x00" * 30, next_header=59)
    out = dp.process([(WAN, crafted_esp(trailer(tfc), 1)), (WAN, crafted_esp(dummy, 2))], 1.0)
    assert out == [(LAN, expected_forwarded(INNER))]
    stats = dp.ipsec_statistics(TUNNEL_INDEX)
    assert stats["esp_decrypted_packets"] == 1
    assert stats["discard_errors"] == 0


def test_pfe_traffic_selector_check_after_decrypt(fast_path):
    dp = _receiver(fast_path, local_ts=(ipaddress.ip_network("2.2.2.0/24"),),
                   remote_ts=(ipaddress.ip_network("1.1.1.0/24"),))
    sender = scapy_sa("a")
    good = expected_forwarded(udp_packet(host("a", 4), host("b", 4)))
    spoofed = expected_forwarded(udp_packet("9.9.9.9", host("b", 4)))
    wrong_dst = expected_forwarded(udp_packet(host("a", 4), "2.2.3.3"))
    v6 = expected_forwarded(udp_packet(host("a", 6), host("b", 6)))
    wire = [(WAN, scapy_encrypt(sender, p, seq_num=n)) for n, p in enumerate((good, spoofed, wrong_dst, v6), 1)]
    out = dp.process(wire, 1.0)
    assert out == [(LAN, expected_forwarded(good))]
    stats = dp.ipsec_statistics(TUNNEL_INDEX)
    assert stats["ts_check_fail_errors"] == 3
    assert stats["discard_errors"] == 3


def test_pfe_outer_fragments_are_not_reassembled(fast_path):
    dp = _receiver(fast_path)
    first = crafted_esp(trailer(INNER), 1, flags_fragment=0x2000)
    later = crafted_esp(trailer(INNER), 2, flags_fragment=0x0010)
    assert dp.process([(WAN, first), (WAN, later)], 1.0) == []
    assert dp.ipsec_statistics()["bad_headers"] == 2


def test_pfe_ciphertext_not_multiple_of_four_is_bad_header(fast_path):
    dp = _receiver(fast_path)
    packet = crafted_esp(INNER + bytes((0, 4)), 1)  # 2 + len(INNER) is not 4-aligned on purpose
    if (len(INNER) + 2) % 4 == 0:
        packet = crafted_esp(INNER + b"\0" + bytes((0, 4)), 1)
    assert dp.process([(WAN, packet)], 1.0) == []
    assert dp.ipsec_statistics(TUNNEL_INDEX)["bad_headers"] == 1
