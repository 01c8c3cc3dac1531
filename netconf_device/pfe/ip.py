"""IP-level helpers for the PFE: checksums, header builders and the ICMP/ICMPv6 messages a router sends.

Addresses inside the datapath are raw ``bytes`` (4 or 16 long); ``ipaddress`` objects appear only at the
API edges. Everything here is pure and allocation-light: the per-packet hot path lives in ``esp.py`` and
``datapath.py`` and only calls into this module on slow paths (errors, ICMP, IKE).
"""

from __future__ import annotations

import ipaddress
import struct

PROTO_ICMP = 1
PROTO_IPIP = 4
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_IPV6 = 41
PROTO_IPV6_FRAG = 44
PROTO_ESP = 50
PROTO_ICMPV6 = 58
PROTO_NONE = 59
PROTO_SCTP = 132

#: Extension headers we walk over when looking for an IPv6 packet's upper layer (all share the
#: "next header, length in 8-octet units" layout except the fragment header, which is fixed 8 bytes).
IPV6_EXTENSION_HEADERS = frozenset((0, 43, 60))

DEFAULT_TTL = 64

ICMP_ECHO_REPLY = 0
ICMP_UNREACHABLE = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11
ICMP_UNREACH_NET = 0
ICMP_UNREACH_PORT = 3
ICMP_UNREACH_NEEDFRAG = 4

ICMP6_UNREACHABLE = 1
ICMP6_PACKET_TOO_BIG = 2
ICMP6_TIME_EXCEEDED = 3
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
ICMP6_UNREACH_NO_ROUTE = 0
ICMP6_UNREACH_PORT = 4

_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_IPV6_HEADER = struct.Struct("!IHBB16s16s")
_UDP_HEADER = struct.Struct("!HHHH")
_U16 = struct.Struct("!H")

#: RFC 1812 4.3.2.3: an ICMPv4 error carries as much of the offending packet as fits in 576 bytes.
ICMP_ERROR_MAX = 576
#: RFC 4443 2.4 (c): an ICMPv6 error must not exceed the minimum IPv6 MTU.
ICMP6_ERROR_MAX = 1280


def checksum(data: bytes | bytearray | memoryview) -> int:
    """RFC 1071 Internet checksum of ``data`` (the value to store in a header, already complemented).

    The one's complement sum of 16-bit words equals the data read as one big integer modulo 0xFFFF
    (2**16 is 1 modulo 0xFFFF), which CPython computes in C; a non-zero multiple is "negative zero".
    """
    if len(data) & 1:
        data = bytes(data) + b"\0"
    value = int.from_bytes(data, "big")
    total = value % 0xFFFF
    if total == 0 and value:
        total = 0xFFFF
    return 0xFFFF - total


def pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    """The pseudo-header of TCP/UDP/ICMPv6 checksums (RFC 768 for IPv4, RFC 8200 8.1 for IPv6)."""
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def ipv4_header(
    src: bytes,
    dst: bytes,
    proto: int,
    payload_length: int,
    *,
    tos: int = 0,
    ident: int = 0,
    flags_fragment: int = 0,
    ttl: int = DEFAULT_TTL,
) -> bytes:
    """A 20-byte IPv4 header with a correct checksum."""
    header = bytearray(
        _IPV4_HEADER.pack(0x45, tos, 20 + payload_length, ident, flags_fragment, ttl, proto, 0, src, dst)
    )
    _U16.pack_into(header, 10, checksum(header))
    return bytes(header)


def ipv6_header(
    src: bytes, dst: bytes, next_header: int, payload_length: int, *, traffic_class: int = 0,
    flow_label: int = 0, hop_limit: int = DEFAULT_TTL,
) -> bytes:
    """A 40-byte IPv6 header."""
    first = (6 << 28) | (traffic_class << 20) | (flow_label & 0xFFFFF)
    return _IPV6_HEADER.pack(first, payload_length, next_header, hop_limit, src, dst)


def ip_packet(src: bytes, dst: bytes, proto: int, payload: bytes, *, ttl: int = DEFAULT_TTL, tos: int = 0,
              ident: int = 0, dont_fragment: bool = False) -> bytes:
    """An IPv4 or IPv6 packet (by address length) around ``payload``."""
    if len(src) == 4:
        flags = 0x4000 if dont_fragment else 0
        return ipv4_header(src, dst, proto, len(payload), tos=tos, ident=ident, flags_fragment=flags,
                           ttl=ttl) + payload
    return ipv6_header(src, dst, proto, len(payload), traffic_class=tos, hop_limit=ttl) + payload


def udp_datagram(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, *,
                 with_checksum: bool = True) -> bytes:
    """A UDP header + payload; the checksum is computed unless ``with_checksum`` is false (IPv4 only)."""
    length = 8 + len(payload)
    header = _UDP_HEADER.pack(sport, dport, length, 0)
    if not with_checksum and len(src) == 4:
        return header + payload
    value = checksum(pseudo_header(src, dst, PROTO_UDP, length) + header + payload) or 0xFFFF
    return header[:6] + _U16.pack(value) + payload


def udp_checksum_ok(src: bytes, dst: bytes, udp: bytes) -> bool:
    """Whether a received UDP datagram's checksum verifies (an IPv4 zero checksum means "none")."""
    if len(src) == 4 and udp[6:8] == b"\0\0":
        return True
    return checksum(pseudo_header(src, dst, PROTO_UDP, len(udp)) + udp) == 0


def address_bytes(address: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> bytes:
    if isinstance(address, str):
        address = ipaddress.ip_address(address)
    return address.packed


def address_text(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def address_object(raw: bytes) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(raw)


# ------------------------------------------------------------------------------------------ parsing
def ipv6_upper_layer(packet: bytes) -> tuple[int, int, bool] | None:
    """(protocol, offset, is_fragment) of an IPv6 packet's upper layer, walking extension headers.

    ``is_fragment`` is true when a fragment header was crossed; the offset then points after it (the
    upper-layer header is only present in the first fragment). None when the chain is truncated.
    """
    next_header = packet[6]
    offset = 40
    fragment = False
    end = len(packet)
    for _ in range(8):  # bounded: a hostile chain of extension headers must not spin
        if next_header in IPV6_EXTENSION_HEADERS:
            if offset + 8 > end:
                return None
            next_header, length = packet[offset], packet[offset + 1]
            offset += (length + 1) * 8
        elif next_header == PROTO_IPV6_FRAG:
            if offset + 8 > end:
                return None
            fragment = True
            next_header = packet[offset]
            offset += 8
        else:
            return (next_header, offset, fragment) if offset <= end else None
    return None


def flow_key(packet: bytes) -> bytes:
    """The bytes that identify a packet's flow: addresses, protocol and, when present, L4 ports.

    Fragments (IPv4 MF or offset, IPv6 fragment header) use addresses and protocol only, so that every
    fragment of a datagram maps to the same flow as its first fragment.
    """
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        proto = packet[9]
        key = packet[12:20] + bytes((proto,))
        if proto in (PROTO_TCP, PROTO_UDP, PROTO_SCTP) and not (packet[6] & 0x3F or packet[7]):
            key += packet[ihl:ihl + 4]
        return key
    upper = ipv6_upper_layer(packet)
    if upper is None:
        return packet[8:40]
    proto, offset, fragment = upper
    key = packet[8:40] + bytes((proto,))
    if proto in (PROTO_TCP, PROTO_UDP, PROTO_SCTP) and not fragment:
        key += packet[offset:offset + 4]
    return key


# ------------------------------------------------------------------------------------------ ICMP
def icmp_message(src: bytes, dst: bytes, icmp_type: int, code: int, rest: bytes, body: bytes) -> bytes:
    """An ICMPv4 (4-byte addresses) or ICMPv6 message in its IP packet."""
    if len(src) == 4:
        message = bytearray(struct.pack("!BBH", icmp_type, code, 0) + rest + body)
        _U16.pack_into(message, 2, checksum(message))
        return ipv4_header(src, dst, PROTO_ICMP, len(message)) + bytes(message)
    message = bytearray(struct.pack("!BBH", icmp_type, code, 0) + rest + body)
    _U16.pack_into(message, 2, checksum(pseudo_header(src, dst, PROTO_ICMPV6, len(message)) + message))
    return ipv6_header(src, dst, PROTO_ICMPV6, len(message), hop_limit=255) + bytes(message)


def may_send_error_about(packet: bytes) -> bool:
    """RFC 1812 4.3.2.7 / RFC 4443 2.4 (e): never answer an error, a non-first fragment, or a packet
    whose source is not a unicast address."""
    if len(packet) < 20:
        return False
    if packet[0] >> 4 == 4:
        if packet[6] & 0x1F or packet[7]:
            return False
        src = packet[12:16]
        if src[0] >= 224 or src[0] == 0 or src == b"\xff\xff\xff\xff" or src[0] == 127:
            return False
        ihl = (packet[0] & 0x0F) * 4
        if packet[9] == PROTO_ICMP and len(packet) > ihl:
            return packet[ihl] in (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY, 13, 14, 15, 16)
        return True
    if len(packet) < 40:
        return False
    src = packet[8:24]
    if src[0] == 0xFF or src == bytes(16):
        return False
    upper = ipv6_upper_layer(packet)
    if upper is not None and upper[0] == PROTO_ICMPV6 and not upper[2] and len(packet) > upper[1]:
        return packet[upper[1]] >= 128  # informational messages only
    return True


def icmp_error(router_address: bytes, offending: bytes, icmp_type: int, code: int, rest: bytes = b"\0" * 4) -> bytes:
    """An ICMP(v6) error from ``router_address`` about ``offending``, quoting as much as allowed."""
    if len(router_address) == 4:
        quote = offending[: ICMP_ERROR_MAX - 28]
        return icmp_message(router_address, offending[12:16], icmp_type, code, rest, quote)
    quote = offending[: ICMP6_ERROR_MAX - 48]
    return icmp_message(router_address, offending[8:24], icmp_type, code, rest, quote)


def icmp_echo_reply(packet: bytes) -> bytes | None:
    """The reply to an ICMP/ICMPv6 echo request addressed to us (source = the address pinged)."""
    if packet[0] >> 4 == 4:
        ihl = (packet[0] & 0x0F) * 4
        total = (packet[2] << 8) | packet[3]
        message = packet[ihl:total]
        if len(message) < 8 or packet[6] & 0x3F or packet[7] or checksum(message) != 0:
            return None
        return icmp_message(packet[16:20], packet[12:16], ICMP_ECHO_REPLY, 0, message[4:8], message[8:])
    upper = ipv6_upper_layer(packet)
    if upper is None or upper[2]:
        return None
    _proto, offset, _ = upper
    total = 40 + ((packet[4] << 8) | packet[5])
    message = packet[offset:total]
    src, dst = packet[8:24], packet[24:40]
    if len(message) < 8 or checksum(pseudo_header(src, dst, PROTO_ICMPV6, len(message)) + message) != 0:
        return None
    return icmp_message(dst, src, ICMP6_ECHO_REPLY, 0, message[4:8], message[8:])


def icmp_echo_request(src: bytes, dst: bytes, ident: int, sequence: int, payload: bytes = b"",
                      ttl: int = DEFAULT_TTL) -> bytes:
    """An echo request (used by the test/lab host helper)."""
    rest = struct.pack("!HH", ident, sequence)
    if len(src) == 4:
        message = bytearray(struct.pack("!BBH", ICMP_ECHO_REQUEST, 0, 0) + rest + payload)
        _U16.pack_into(message, 2, checksum(message))
        return ipv4_header(src, dst, PROTO_ICMP, len(message), ttl=ttl) + bytes(message)
    message = bytearray(struct.pack("!BBH", ICMP6_ECHO_REQUEST, 0, 0) + rest + payload)
    _U16.pack_into(message, 2, checksum(pseudo_header(src, dst, PROTO_ICMPV6, len(message)) + message))
    return ipv6_header(src, dst, PROTO_ICMPV6, len(message), hop_limit=ttl) + bytes(message)


def decrement_ttl(packet: bytes) -> bytes:
    """A copy of ``packet`` with TTL (IPv4, checksum updated per RFC 1624) or hop limit (IPv6) minus one."""
    if packet[0] >> 4 == 4:
        value = ((packet[10] << 8) | packet[11]) + 0x100
        value = (value & 0xFFFF) + (value >> 16)
        return b"".join((packet[:8], bytes((packet[8] - 1, packet[9], value >> 8, value & 0xFF)), packet[12:]))
    return b"".join((packet[:7], bytes((packet[7] - 1,)), packet[8:]))


def propagate_ecn(outer: bytes, inner: bytes) -> bytes:
    """RFC 6040 decapsulation: an outer CE mark is copied to an ECN-capable inner packet."""
    outer_ecn = outer[1] & 3 if outer[0] >> 4 == 4 else (outer[1] >> 4) & 3
    if outer_ecn != 3:
        return inner
    if inner[0] >> 4 == 4:
        if inner[1] & 3 in (1, 2):
            header = bytearray(inner[:(inner[0] & 0x0F) * 4])
            header[1] |= 3
            header[10:12] = b"\0\0"
            header[10:12] = checksum(header).to_bytes(2, "big")
            return bytes(header) + inner[len(header):]
        return inner
    if (inner[1] >> 4) & 3 in (1, 2):
        return inner[:1] + bytes((inner[1] | 0x30,)) + inner[2:]
    return inner
