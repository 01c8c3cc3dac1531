"""Fragmentation: IPv4 pre-fragmentation before ESP, and reassembly for packets addressed to the device.

The seed's rule: an IPv4 packet that would exceed the VPN's tunnel MTU after encapsulation is fragmented
*before* encryption, so every fragment travels in its own ESP packet and no outer fragment is ever
produced. With DF set the packet is dropped and the sender gets ICMP "fragmentation needed" with the
largest inner size that fits; IPv6 senders get ICMPv6 Packet Too Big (routers never fragment IPv6).

Reassembly is only for locally delivered non-ESP traffic (e.g. a large IKE message without IKE
fragmentation); ESP fragments are never reassembled (the seed lists that as unsupported). It is bounded
in datagrams, bytes and time so that a flood of fragments cannot exhaust memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from netconf_device.pfe import ip

_U16 = struct.Struct("!H")


def fragment_ipv4(packet: bytes, mtu: int) -> list[bytes] | None:
    """Split an IPv4 packet into fragments of at most ``mtu`` bytes (RFC 791 section 3.2).

    Options whose copy flag is set are repeated in every fragment, the others only in the first. An
    already fragmented packet keeps its offset and MF bit on the last piece. Returns None when ``mtu``
    leaves no room for 8 bytes of data.
    """
    ihl = (packet[0] & 0x0F) * 4
    total = (packet[2] << 8) | packet[3]
    if total <= mtu:
        return [packet]
    header, payload = packet[:ihl], packet[ihl:total]
    flags_offset = (packet[6] << 8) | packet[7]
    base_offset = flags_offset & 0x1FFF
    original_more = flags_offset & 0x2000
    later_header = _copied_options_header(header)
    fragments = []
    position = 0
    first = True
    while position < len(payload):
        head = header if first else later_header
        room = (mtu - len(head)) & ~7
        if room <= 0:
            return None
        chunk = payload[position:position + room]
        last = position + len(chunk) >= len(payload)
        more = 0 if last and not original_more else 0x2000
        word = (flags_offset & 0x4000) | more | (base_offset + position // 8)
        fragments.append(_with_fields(head, len(head) + len(chunk), word) + chunk)
        position += len(chunk)
        first = False
    return fragments


def _copied_options_header(header: bytes) -> bytes:
    """The header of non-first fragments: only options with the copy flag (RFC 791 3.1), padded to 4."""
    options = header[20:]
    kept = bytearray()
    i = 0
    while i < len(options):
        kind = options[i]
        if kind == 0:  # end of option list
            break
        if kind == 1:  # no-operation
            i += 1
            continue
        if i + 1 >= len(options) or options[i + 1] < 2:
            break  # malformed option: stop copying, the first fragment still has them
        length = options[i + 1]
        if kind & 0x80:
            kept += options[i:i + length]
        i += length
    kept += b"\0" * ((-len(kept)) & 3)
    ihl = (20 + len(kept)) // 4
    return bytes((0x40 | ihl,)) + header[1:20] + bytes(kept)


def _with_fields(header: bytes, total: int, flags_offset: int) -> bytes:
    out = bytearray(header)
    _U16.pack_into(out, 2, total)
    _U16.pack_into(out, 6, flags_offset)
    out[10:12] = b"\0\0"
    _U16.pack_into(out, 10, ip.checksum(out))
    return bytes(out)


def frag_needed(router_address: bytes, offending: bytes, mtu: int) -> bytes:
    """ICMP destination unreachable, fragmentation needed, with the next-hop MTU (RFC 1191)."""
    return ip.icmp_error(router_address, offending, ip.ICMP_UNREACHABLE, ip.ICMP_UNREACH_NEEDFRAG,
                         struct.pack("!HH", 0, max(mtu, 68)))


def packet_too_big(router_address: bytes, offending: bytes, mtu: int) -> bytes:
    """ICMPv6 Packet Too Big with the MTU that fits (RFC 4443 3.2)."""
    return ip.icmp_error(router_address, offending, ip.ICMP6_PACKET_TOO_BIG, 0, struct.pack("!I", mtu))


# ---------------------------------------------------------------------------------------- reassembly
@dataclass
class _Datagram:
    started: float
    header: bytes = b""
    pieces: dict[int, bytes] = field(default_factory=dict)
    total_length: int | None = None
    size: int = 0


class Reassembler:
    """Bounded reassembly of IPv4 and IPv6 fragments addressed to the device."""

    def __init__(self, max_datagrams: int = 64, max_bytes: int = 1 << 20, timeout: float = 30.0) -> None:
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._pending: dict[tuple, _Datagram] = {}
        self._bytes = 0
        self.dropped = 0

    def add(self, packet: bytes, now: float) -> bytes | None:
        """Feed one fragment; returns the reassembled packet when it is complete, else None."""
        self._expire(now)
        if packet[0] >> 4 == 4:
            parsed = self._parse_ipv4(packet)
        else:
            parsed = self._parse_ipv6(packet)
        if parsed is None:
            self.dropped += 1
            return None
        key, header, offset, more, data = parsed
        entry = self._pending.get(key)
        if entry is None:
            if len(self._pending) >= self.max_datagrams:
                self.dropped += 1
                return None
            entry = self._pending[key] = _Datagram(started=now)
        if offset + len(data) > 65535 or self._bytes + len(data) > self.max_bytes:
            self._discard(key)
            self.dropped += 1
            return None
        if offset in entry.pieces:
            return None  # duplicate fragment: keep the first copy
        entry.pieces[offset] = data
        entry.size += len(data)
        self._bytes += len(data)
        if offset == 0:
            entry.header = header
        if not more:
            entry.total_length = offset + len(data)
        if entry.total_length is None or not entry.header or entry.size < entry.total_length:
            return None
        payload = bytearray()
        for piece_offset in sorted(entry.pieces):
            piece = entry.pieces[piece_offset]
            if piece_offset > len(payload):
                return None  # a hole remains (overlaps made ``size`` look complete)
            payload[piece_offset:piece_offset + len(piece)] = piece
        self._discard(key)
        if len(payload) != entry.total_length:
            return None
        return self._rebuild(entry.header, bytes(payload))

    def _discard(self, key: tuple) -> None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def _expire(self, now: float) -> None:
        if not self._pending:
            return
        for key in [k for k, d in self._pending.items() if now - d.started > self.timeout]:
            self._discard(key)
            self.dropped += 1

    @staticmethod
    def _parse_ipv4(packet: bytes):
        if len(packet) < 20:
            return None
        ihl = (packet[0] & 0x0F) * 4
        total = (packet[2] << 8) | packet[3]
        if ihl < 20 or total > len(packet) or total < ihl:
            return None
        word = (packet[6] << 8) | packet[7]
        key = (4, packet[12:16], packet[16:20], packet[9], packet[4:6])
        return key, packet[:ihl], (word & 0x1FFF) * 8, bool(word & 0x2000), packet[ihl:total]

    @staticmethod
    def _parse_ipv6(packet: bytes):
        if len(packet) < 48:
            return None
        next_header = packet[6]
        offset = 40
        chain_start = 6
        for _ in range(8):
            if next_header in ip.IPV6_EXTENSION_HEADERS:
                if offset + 8 > len(packet):
                    return None
                chain_start = offset
                next_header, offset = packet[offset], offset + (packet[offset + 1] + 1) * 8
            elif next_header == ip.PROTO_IPV6_FRAG:
                break
            else:
                return None
        else:
            return None
        if offset + 8 > len(packet):
            return None
        frag = packet[offset:offset + 8]
        word = (frag[2] << 8) | frag[3]
        end = 40 + ((packet[4] << 8) | packet[5])
        # The unfragmentable part, with the fragment header removed from the next-header chain.
        header = bytearray(packet[:offset])
        header[chain_start] = frag[0]
        key = (6, packet[8:24], packet[24:40], frag[4:8])
        return key, bytes(header), word & 0xFFF8, bool(word & 1), packet[offset + 8:end]

    @staticmethod
    def _rebuild(header: bytes, payload: bytes) -> bytes:
        out = bytearray(header)
        if out[0] >> 4 == 4:
            _U16.pack_into(out, 2, len(header) + len(payload))
            out[6:8] = b"\0\0"
            out[10:12] = b"\0\0"
            _U16.pack_into(out, 10, ip.checksum(out))
        else:
            _U16.pack_into(out, 4, len(header) - 40 + len(payload))
        return bytes(out) + payload
