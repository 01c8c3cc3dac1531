"""ESP tunnel mode with AES-GCM (RFC 4303, RFC 4106): per-SA state, encapsulation and decapsulation.

Wire format (RFC 4106): ``SPI(4) | seq low 32 bits(4) | IV(8) | ciphertext | ICV(16)``; the plaintext is
``inner packet | [TFC padding] | padding 1,2,3.. | pad length | next header``, 4-byte aligned. The nonce is
``salt(4) | IV(8)``, the IV is the 64-bit sequence counter (unique per SA, RFC 4106 section 3.1), and the
AAD is ``SPI | seq`` (8 bytes) or ``SPI | seq high | seq low`` (12 bytes) with ESN (RFC 4106 section 5).

Each SA precomputes what is fixed for its lifetime: one ``AESGCM`` object, the salt, the outer addresses
and header templates. The functions here are the general path (any inner/outer family, UDP encapsulation,
fragments); ``fastpath.py`` has the batched IPv4 loops that must produce identical bytes.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from collections.abc import Iterable
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from netconf_device.pfe import ip
from netconf_device.pfe.counters import IpsecCounters
from netconf_device.pfe.replay import Lifetime, ReplayWindow, sequence_limits
from netconf_device.pfe.udp_encap import flow_source_port

#: ESP encryption algorithms (Junos keywords) -> AES key length; the key material adds a 4-byte salt.
KEY_LENGTHS = {"aes-128-gcm": 16, "aes-256-gcm": 32}
SALT_LENGTH = 4
IV_LENGTH = 8
ICV_LENGTH = 16
ESP_HEADER_LENGTH = 8
#: ESP header + IV + ICV + the two trailer bytes: what every ESP packet adds besides padding and outer headers.
ESP_FIXED_OVERHEAD = ESP_HEADER_LENGTH + IV_LENGTH + ICV_LENGTH + 2
#: Smallest ESP payload that can hold a trailer: SPI, seq, IV, pad length + next header, ICV.
MIN_ESP_LENGTH = ESP_HEADER_LENGTH + IV_LENGTH + 2 + ICV_LENGTH
OUTER_TTL = 64

#: RFC 4303 2.4: the default padding is the monotonically increasing sequence 1, 2, 3, ...
PADDING = tuple(bytes(range(1, n + 1)) for n in range(256))
NEXT_HEADER_IPV4 = ip.PROTO_IPIP
NEXT_HEADER_IPV6 = ip.PROTO_IPV6
NEXT_HEADER_DUMMY = ip.PROTO_NONE  # RFC 4303 2.6: a TFC dummy packet, discarded silently

EncapKind = Literal["nat-t", "service-set"]
DfPolicy = Literal["clear", "set", "copy"]

_SPI_SEQ = struct.Struct("!II")
_SPI_SEQ_ESN = struct.Struct("!III")
_UDP = struct.Struct("!HHHH")


class Drop(Exception):
    """A packet is dropped; ``reason`` names the counter field it is counted under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def split_key(algorithm: str, key_with_salt: bytes) -> tuple[bytes, bytes]:
    """(AES key, salt) from RFC 4106 key material; rejects a wrong length for the algorithm."""
    try:
        key_length = KEY_LENGTHS[algorithm]
    except KeyError:
        raise ValueError(f"unsupported ESP algorithm {algorithm!r} (aes-128-gcm or aes-256-gcm)") from None
    if len(key_with_salt) != key_length + SALT_LENGTH:
        raise ValueError(f"{algorithm} needs {key_length + SALT_LENGTH} bytes of key material (key || salt)")
    return key_with_salt[:key_length], key_with_salt[key_length:]


def padding_length(inner_length: int) -> int:
    """Bytes of padding so that inner + padding + 2 trailer bytes is a multiple of 4."""
    return (2 - inner_length) & 3


def esp_overhead(inner_length: int, outer_v6: bool, udp: bool) -> int:
    """Bytes an ESP tunnel adds to an inner packet of ``inner_length``."""
    return (40 if outer_v6 else 20) + (8 if udp else 0) + ESP_FIXED_OVERHEAD + padding_length(inner_length)


def max_inner_length(outer_mtu: int, outer_v6: bool, udp: bool) -> int:
    """The largest inner packet whose ESP packet still fits in ``outer_mtu`` bytes."""
    room = outer_mtu - (40 if outer_v6 else 20) - (8 if udp else 0) - ESP_HEADER_LENGTH - IV_LENGTH - ICV_LENGTH
    return (room & ~3) - 2


def flow_label(inner: bytes) -> int:
    """IPv6 outer flow label from the inner flow (RFC 6438), so that ECMP can spread tunnelled flows."""
    return zlib.crc32(ip.flow_key(inner)) & 0xFFFFF or 1


def inner_tos(inner: bytes) -> int:
    """The inner packet's DSCP+ECN octet (IPv4 TOS or IPv6 traffic class)."""
    if inner[0] >> 4 == 4:
        return inner[1]
    return ((inner[0] & 0x0F) << 4) | (inner[1] >> 4)


# ----------------------------------------------------------------------------------- traffic selectors
class TrafficSelectors:
    """Prepared membership tests for a list of prefixes (empty list: everything)."""

    __slots__ = ("any4", "any6", "v4", "v6")

    def __init__(self, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        networks = tuple(networks)
        self.v4 = tuple((int(n.network_address), int(n.netmask)) for n in networks if n.version == 4)
        self.v6 = tuple((int(n.network_address), int(n.netmask)) for n in networks if n.version == 6)
        self.any4 = not networks or any(mask == 0 for _, mask in self.v4)
        self.any6 = not networks or any(mask == 0 for _, mask in self.v6)

    def contains(self, address: bytes) -> bool:
        if len(address) == 4:
            if self.any4:
                return True
            prefixes = self.v4
        else:
            if self.any6:
                return True
            prefixes = self.v6
        value = int.from_bytes(address, "big")
        return any(value & mask == network for network, mask in prefixes)


def parse_plaintext(plaintext: bytes) -> bytes | None:
    """The inner packet of a decrypted ESP payload (trailer checked, TFC padding removed), or None for a
    dummy packet. Raises ``Drop``: ``bad_trailers`` for wrong padding, ``esp_decryption_failures`` when
    the content is not the packet its next header announces."""
    end = len(plaintext) - 2
    pad, next_header = plaintext[end], plaintext[end + 1]
    if pad > end or plaintext[end - pad:end] != PADDING[pad]:
        raise Drop("bad_trailers")
    end -= pad
    if next_header == NEXT_HEADER_DUMMY:
        return None
    if next_header == NEXT_HEADER_IPV4:
        if end < 20 or plaintext[0] >> 4 != 4 or plaintext[0] & 0x0F < 5:
            raise Drop("esp_decryption_failures")
        total = (plaintext[2] << 8) | plaintext[3]
        if total < (plaintext[0] & 0x0F) * 4:
            raise Drop("esp_decryption_failures")
    elif next_header == NEXT_HEADER_IPV6:
        if end < 40 or plaintext[0] >> 4 != 6:
            raise Drop("esp_decryption_failures")
        total = 40 + ((plaintext[4] << 8) | plaintext[5])
    else:
        raise Drop("esp_decryption_failures")
    if total > end:
        raise Drop("esp_decryption_failures")
    # Bytes between the inner packet and the padding are TFC padding (RFC 4303 2.7): ignored.
    return plaintext[:total] if total != len(plaintext) else plaintext


# ----------------------------------------------------------------------------------- SAs
class OutboundSa:
    """One outbound ESP SA with everything precomputed for encapsulation."""

    __slots__ = (
        "spi", "spi_in", "tunnel_index", "vpn_name", "algorithm", "aead", "salt", "salt_high", "esn",
        "seq", "seq_limit", "seq_soft", "seq_rekey_sent", "local", "remote", "outer_v6", "encap",
        "sport", "dport", "df_policy", "outer_mtu", "max_inner", "egress", "counters", "lifetime",
        "local_ts", "remote_ts", "last_used", "header_cache", "ip_base_sum", "spi_high", "udp_length_base",
        "rekey_events_sent",
    )

    def __init__(
        self,
        *,
        spi: int,
        algorithm: str,
        key: bytes,
        local: bytes,
        remote: bytes,
        tunnel_index: int,
        counters: IpsecCounters,
        spi_in: int = 0,
        vpn_name: str = "",
        esn: bool = False,
        encap: EncapKind | None = None,
        sport: int = 4500,
        dport: int = 4500,
        df_policy: DfPolicy = "copy",
        outer_mtu: int = 1500,
        lifetime: Lifetime | None = None,
        local_ts: TrafficSelectors | None = None,
        remote_ts: TrafficSelectors | None = None,
    ) -> None:
        if len(local) != len(remote):
            raise ValueError("outer source and destination must be the same address family")
        aes_key, salt = split_key(algorithm, key)
        self.spi = spi
        self.spi_in = spi_in
        self.tunnel_index = tunnel_index
        self.vpn_name = vpn_name
        self.algorithm = algorithm
        self.aead = AESGCM(aes_key)
        self.salt = salt
        self.salt_high = int.from_bytes(salt, "big") << 64
        self.spi_high = spi << 32
        self.esn = esn
        self.seq = 0  # last sequence number used; the first packet carries 1
        self.seq_limit, self.seq_soft = sequence_limits(esn)
        self.seq_rekey_sent = False
        self.local = local
        self.remote = remote
        self.outer_v6 = len(local) == 16
        self.encap = encap
        self.sport = sport
        self.dport = dport
        self.df_policy = df_policy
        self.egress: str | None = None
        self.counters = counters
        self.lifetime = lifetime or Lifetime(None, None)
        self.local_ts = local_ts or TrafficSelectors(())
        self.remote_ts = remote_ts or TrafficSelectors(())
        self.last_used: float | None = None
        self.rekey_events_sent: set[str] = set()
        self.header_cache: dict[int, bytes] = {}
        self.set_outer_mtu(outer_mtu)
        # IPv4 outer header checksum over the fields that never change (RFC 1071 partial sum).
        proto = ip.PROTO_UDP if encap else ip.PROTO_ESP
        words = struct.unpack("!4H", local + remote) if not self.outer_v6 else (0,)
        self.ip_base_sum = 0x4500 + (OUTER_TTL << 8 | proto) + sum(words)
        self.udp_length_base = 8 + ESP_FIXED_OVERHEAD

    def set_outer_mtu(self, outer_mtu: int) -> None:
        self.outer_mtu = outer_mtu
        self.max_inner = max_inner_length(outer_mtu, self.outer_v6, self.encap is not None)
        self.header_cache = {}

    def next_sequence(self) -> int:
        """Allocate the next sequence number; raises ``Drop`` once the counter is exhausted."""
        seq = self.seq + 1
        if seq > self.seq_limit:
            raise Drop("discard_errors")
        self.seq = seq
        return seq

    def outer_df(self, inner: bytes) -> bool:
        policy = self.df_policy
        if policy == "set":
            return True
        if policy == "clear":
            return False
        return bool(inner[6] & 0x40) if inner[0] >> 4 == 4 else True

    def encapsulate(self, inner: bytes) -> bytes:
        """The complete outer packet (IP [+ UDP] + ESP) carrying ``inner``; allocates a sequence number."""
        seq = self.next_sequence()
        n = len(inner)
        pad = (2 - n) & 3
        next_header = NEXT_HEADER_IPV4 if inner[0] >> 4 == 4 else NEXT_HEADER_IPV6
        plaintext = b"".join((inner, PADDING[pad], bytes((pad, next_header))))
        seq_low = seq & 0xFFFFFFFF
        header = _SPI_SEQ.pack(self.spi, seq_low)
        aad = _SPI_SEQ_ESN.pack(self.spi, seq >> 32, seq_low) if self.esn else header
        iv = seq.to_bytes(8, "big")
        esp = b"".join((header, iv, self.aead.encrypt(self.salt + iv, plaintext, aad)))
        tos = inner_tos(inner)
        if self.encap is not None:
            sport = self.sport if self.encap == "nat-t" else flow_source_port(inner)
            if self.outer_v6:
                esp = ip.udp_datagram(self.local, self.remote, sport, self.dport, esp)
            else:  # RFC 3948 2.1: the IPv4 UDP checksum is transmitted as zero
                esp = _UDP.pack(sport, self.dport, 8 + len(esp), 0) + esp
            proto = ip.PROTO_UDP
        else:
            proto = ip.PROTO_ESP
        if self.outer_v6:
            return ip.ipv6_header(self.local, self.remote, proto, len(esp), traffic_class=tos,
                                  flow_label=flow_label(inner), hop_limit=OUTER_TTL) + esp
        # RFC 6864: an atomic datagram (DF set) may carry any ID, so it is 0 and the header cacheable;
        # without DF the ID must vary, and the low bits of the sequence number do.
        df = self.outer_df(inner)
        return ip.ipv4_header(self.local, self.remote, proto, len(esp), tos=tos, ident=0 if df else seq & 0xFFFF,
                              flags_fragment=0x4000 if df else 0, ttl=OUTER_TTL) + esp


class InboundSa:
    """One inbound ESP SA: decryption state, anti-replay window and what the inner packet may be."""

    __slots__ = (
        "spi", "tunnel_index", "vpn_name", "algorithm", "aead", "salt", "esn", "replay", "encap",
        "encap_port", "encap_port_configured", "local_ts", "remote_ts", "counters", "lifetime",
        "bind_interface", "last_used", "spi_out", "rekey_events_sent",
    )

    def __init__(
        self,
        *,
        spi: int,
        algorithm: str,
        key: bytes,
        tunnel_index: int,
        counters: IpsecCounters,
        vpn_name: str = "",
        esn: bool = False,
        replay_window: int = 64,
        encap: EncapKind | None = None,
        encap_port: int = 4500,
        encap_port_configured: bool = True,
        local_ts: TrafficSelectors | None = None,
        remote_ts: TrafficSelectors | None = None,
        lifetime: Lifetime | None = None,
        bind_interface: str | None = None,
        spi_out: int = 0,
    ) -> None:
        aes_key, salt = split_key(algorithm, key)
        self.spi = spi
        self.spi_out = spi_out
        self.tunnel_index = tunnel_index
        self.vpn_name = vpn_name
        self.algorithm = algorithm
        self.aead = AESGCM(aes_key)
        self.salt = salt
        self.esn = esn
        self.replay = ReplayWindow(replay_window, esn)
        self.encap = encap
        self.encap_port = encap_port  # the UDP destination port ESP must arrive on when encapsulated
        self.encap_port_configured = encap_port_configured
        self.local_ts = local_ts or TrafficSelectors(())
        self.remote_ts = remote_ts or TrafficSelectors(())
        self.counters = counters
        self.lifetime = lifetime or Lifetime(None, None)
        self.bind_interface = bind_interface
        self.last_used: float | None = None
        self.rekey_events_sent: set[str] = set()

    def decapsulate(self, esp: bytes) -> tuple[bytes, int] | None:
        """Verify and decrypt one ESP payload (starting at the SPI); returns (inner packet, sequence number)
        or None for a TFC dummy packet. Raises ``Drop`` naming the counter.

        The replay window moves only after the ICV verified; the caller does the traffic-selector check.
        """
        if len(esp) < MIN_ESP_LENGTH or (len(esp) - ESP_HEADER_LENGTH - IV_LENGTH - ICV_LENGTH) & 3:
            raise Drop("bad_headers")
        seq_low = (esp[4] << 24) | (esp[5] << 16) | (esp[6] << 8) | esp[7]
        replay = self.replay
        seq = replay.infer(seq_low)
        if not replay.check(seq):
            raise Drop("replay_errors")
        aad = esp[:8] if not self.esn else _SPI_SEQ_ESN.pack(self.spi, seq >> 32, seq_low)
        try:
            plaintext = self.aead.decrypt(self.salt + esp[8:16], esp[16:], aad)
        except InvalidTag:
            raise Drop("esp_authentication_failures") from None
        # Authenticated: the sequence number is genuine even if the content turns out to be unusable.
        replay.update(seq)
        inner = parse_plaintext(plaintext)
        return None if inner is None else (inner, seq)

    def permits(self, inner: bytes) -> bool:
        """Traffic-selector check after decryption: source in the remote TS, destination in the local TS."""
        if inner[0] >> 4 == 4:
            return self.remote_ts.contains(inner[12:16]) and self.local_ts.contains(inner[16:20])
        return self.remote_ts.contains(inner[8:24]) and self.local_ts.contains(inner[24:40])
