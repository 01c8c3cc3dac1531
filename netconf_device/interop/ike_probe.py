"""A minimal IKE_SA_INIT sender: is a peer there, and which framing does it want?

It sends one IKE_SA_INIT (ENCR_AES_CBC-256, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, a real group-19 or
group-14 KE, a nonce, optionally NAT_DETECTION_*) and parses the header and payload chain of the reply.
The framing rule it demonstrates: on any UDP port pair where neither port is 500, every IKE message is
preceded by the 4-byte non-ESP marker (RFC 3948); without it strongSwan takes the packet for ESP and drops it.

    sock = ns.socket()                      # optionally a socket inside a namespace (netns.Netns.socket)
    reply = probe_ike_sa_init("127.0.0.1", 15500, sock=sock, marker=True)

This is a test probe, not an IKE implementation: it never completes an exchange.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

NON_ESP_MARKER = b"\x00\x00\x00\x00"
IKE_SA_INIT = 34
_PAYLOAD_NAMES = {33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ", 39: "AUTH", 40: "Nonce",
                  41: "N", 42: "D", 43: "V", 44: "TSi", 45: "TSr", 46: "SK", 47: "CP", 53: "SKF"}
NOTIFY_NAMES = {
    14: "NO_PROPOSAL_CHOSEN", 17: "INVALID_KE_PAYLOAD", 7: "INVALID_SYNTAX", 16390: "COOKIE",
    16388: "NAT_DETECTION_SOURCE_IP", 16389: "NAT_DETECTION_DESTINATION_IP", 16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS", 16404: "MULTIPLE_AUTH_SUPPORTED", 16406: "REDIRECT_SUPPORTED",
    16433: "CHILDLESS_IKEV2_SUPPORTED",
}
# RFC 3526 group 14 prime, for a valid (1 < y < p-1) KE value
_MODP2048_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)


@dataclass(frozen=True)
class IkeProbeReply:
    spi_i: int
    spi_r: int
    exchange: int
    flags: int
    message_id: int
    non_esp_marker: bool
    payloads: tuple[str, ...]  # e.g. ("SA", "KE", "Nonce", "N(NAT_DETECTION_SOURCE_IP)", ...)
    notify_types: tuple[int, ...]
    source: tuple[str, int]

    @property
    def is_ike_sa_init_response(self) -> bool:
        return self.exchange == IKE_SA_INIT and bool(self.flags & 0x20)


def _transform(ttype: int, tid: int, last: bool = False, keylen: int | None = None) -> bytes:
    attrs = struct.pack("!HH", 0x800E, keylen) if keylen else b""
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs


def _ke_data(group: int) -> bytes:
    if group == 19:
        pub = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
        return pub.x.to_bytes(32, "big") + pub.y.to_bytes(32, "big")
    if group == 14:
        x = int.from_bytes(os.urandom(32), "big")
        return pow(2, x, _MODP2048_P).to_bytes(256, "big")
    raise ValueError("probe supports DH groups 19 and 14")


def natd_hash(spi_i: bytes, spi_r: bytes, ip: str, port: int) -> bytes:
    """RFC 7296 2.23: SHA-1(SPIi | SPIr | IP | port)."""
    return hashlib.sha1(spi_i + spi_r + ipaddress.ip_address(ip).packed + struct.pack("!H", port)).digest()


def build_ike_sa_init(
    spi_i: bytes,
    *,
    group: int = 19,
    natd: tuple[tuple[str, int], tuple[str, int]] | None = None,
) -> bytes:
    """An IKE_SA_INIT request (no marker). ``natd`` = ((src_ip, src_port), (dst_ip, dst_port))."""
    if len(spi_i) != 8:
        raise ValueError("SPIi must be 8 bytes")
    transforms = (_transform(1, 12, keylen=256) + _transform(2, 5) + _transform(3, 12)
                  + _transform(4, group, last=True))
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transforms), 1, 1, 0, 4) + transforms
    payloads: list[tuple[int, bytes]] = [
        (33, proposal),
        (34, struct.pack("!HH", group, 0) + _ke_data(group)),
        (40, os.urandom(32)),
    ]
    if natd:
        (sip, sport), (dip, dport) = natd
        zero = bytes(8)
        payloads.append((41, struct.pack("!BBH", 0, 0, 16388) + natd_hash(spi_i, zero, sip, sport)))
        payloads.append((41, struct.pack("!BBH", 0, 0, 16389) + natd_hash(spi_i, zero, dip, dport)))
    body = b""
    for i, (_, data) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        body += struct.pack("!BBH", nxt, 0, 4 + len(data)) + data
    header = struct.pack("!8s8sBBBBII", spi_i, bytes(8), payloads[0][0], 0x20, IKE_SA_INIT, 0x08, 0, 28 + len(body))
    return header + body


def parse_reply(data: bytes, source: tuple[str, int] = ("", 0)) -> IkeProbeReply | None:
    """Parse an IKE message (with or without marker); None if it is not a well-formed IKE header."""
    marker = data[:4] == NON_ESP_MARKER
    if marker:
        data = data[4:]
    if len(data) < 28:
        return None
    spi_i, spi_r, nxt, version, exch, flags, mid, length = struct.unpack("!8s8sBBBBII", data[:28])
    if version >> 4 != 2 or length > len(data) or length < 28:
        return None
    names: list[str] = []
    notifies: list[int] = []
    off = 28
    while nxt and off + 4 <= length and len(names) < 64:
        following, _, plen = struct.unpack("!BBH", data[off:off + 4])
        if plen < 4 or off + plen > length:
            break
        name = _PAYLOAD_NAMES.get(nxt, str(nxt))
        if nxt == 41 and plen >= 8:
            ntype = struct.unpack("!H", data[off + 6:off + 8])[0]
            notifies.append(ntype)
            name = f"N({NOTIFY_NAMES.get(ntype, ntype)})"
        names.append(name)
        nxt, off = following, off + plen
    return IkeProbeReply(
        spi_i=int.from_bytes(spi_i, "big"), spi_r=int.from_bytes(spi_r, "big"), exchange=exch, flags=flags,
        message_id=mid, non_esp_marker=marker, payloads=tuple(names), notify_types=tuple(notifies),
        source=source,
    )


def probe_ike_sa_init(
    host: str,
    port: int,
    *,
    marker: bool | None = None,
    sock: socket.socket | None = None,
    source: tuple[str, int] = ("", 0),
    group: int = 19,
    natd: bool = True,
    timeout: float = 2.0,
) -> IkeProbeReply | None:
    """Send one IKE_SA_INIT to host:port and return the reply for our SPI, or None after ``timeout``.

    ``marker`` None = the RFC rule (marker unless one of the ports is 500). ``sock``: an unconnected UDP
    socket to use (e.g. one created in a namespace); it is bound to ``source`` if not bound yet.
    """
    own = sock is None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = sock or socket.socket(family, socket.SOCK_DGRAM)
    try:
        if s.getsockname()[1] == 0:
            s.bind(source)
        s.connect((host, port))
        lip, lport = s.getsockname()[:2]
        use_marker = marker if marker is not None else (port != 500 and lport != 500)
        spi_i = os.urandom(8)
        msg = build_ike_sa_init(spi_i, group=group, natd=((lip, lport), (host, port)) if natd else None)
        s.send((NON_ESP_MARKER if use_marker else b"") + msg)
        s.settimeout(timeout)
        while True:
            try:
                data, src = s.recvfrom(65535)
            except TimeoutError:
                return None
            reply = parse_reply(data, src[:2])
            if reply is not None and reply.spi_i == int.from_bytes(spi_i, "big"):
                return reply
    finally:
        if own:
            s.close()
