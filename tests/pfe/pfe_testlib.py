"""Shared builders for the PFE tests: the seed's two-peer topology as intent, child SAs, scapy oracles.

Peer "a" (seed Peer1): LAN et-0/1/8 1.1.1.1/24 + 2001:db8:1::1/64, WAN et-0/2/10 16.1.1.1/24 +
2001:db8:16::1/64, lo0 10.255.0.1/32, st0.1 unnumbered, routes 2.2.2.0/24 and 2001:db8:2::/64 into
st0.1. Peer "b" mirrors it (LAN 2.2.2.1 / 2001:db8:2::1, WAN .2, lo0 10.255.0.2).
"""

from __future__ import annotations

import ipaddress
import os
import struct

import pytest

from netconf_device.config.intent import (
    Intent,
    IpsecVpn,
    LogicalInterface,
    ManualSa,
    PhysicalInterface,
    StaticRoute,
    UdpEncapsulation,
)
from netconf_device.pfe import Datapath, fastpath, ip
from netconf_device.sa import ChildSa, ChildSaInstalled, UdpEncap

LAN = "et-0/1/8"
WAN = "et-0/2/10"
TUNNEL_INDEX = 500001
SPI_A_TO_B = 0xA0001001  # the SPI B chose (a sends with it, b receives with it)
SPI_B_TO_A = 0xB0002002

SIDES = {
    "a": dict(lan4="1.1.1.1/24", lan6="2001:db8:1::1/64", wan4="16.1.1.1/24", wan6="2001:db8:16::1/64",
              lo="10.255.0.1/32", remote_lan4="2.2.2.0/24", remote_lan6="2001:db8:2::/64",
              peer4="16.1.1.2", peer6="2001:db8:16::2"),
    "b": dict(lan4="2.2.2.1/24", lan6="2001:db8:2::1/64", wan4="16.1.1.2/24", wan6="2001:db8:16::2/64",
              lo="10.255.0.2/32", remote_lan4="1.1.1.0/24", remote_lan6="2001:db8:1::/64",
              peer4="16.1.1.1", peer6="2001:db8:16::1"),
}

KEYS = {
    ("aes-256-gcm", "a->b"): bytes(range(1, 37)),
    ("aes-256-gcm", "b->a"): bytes(range(101, 137)),
    ("aes-128-gcm", "a->b"): bytes(range(1, 21)),
    ("aes-128-gcm", "b->a"): bytes(range(101, 121)),
}


def host(side: str, version: int, n: int = 2) -> str:
    """An address of a host on a side's LAN (n=2: Host1 1.1.1.2 / Host2 2.2.2.2)."""
    base = SIDES[side]["lan4" if version == 4 else "lan6"].split("/")[0]
    return str(ipaddress.ip_address(base) + (n - 1))


def make_intent(
    side: str,
    *,
    df_bit: str = "copy",
    tunnel_mtu: int | None = None,
    anti_replay_window: int = 64,
    esn: bool = False,
    udp_encapsulation: UdpEncapsulation | None = None,
    manual: ManualSa | None = None,
    wan_mtu: int | None = None,
    extra_routes: tuple[StaticRoute, ...] = (),
    st0_inet: tuple[str, ...] = (),
) -> Intent:
    s = SIDES[side]
    interfaces = {
        LAN: PhysicalInterface(LAN, units=(LogicalInterface(
            f"{LAN}.0", 0, inet=(ipaddress.IPv4Interface(s["lan4"]),),
            inet6=(ipaddress.IPv6Interface(s["lan6"]),), family_inet=True, family_inet6=True),)),
        WAN: PhysicalInterface(WAN, mtu=wan_mtu, units=(LogicalInterface(
            f"{WAN}.0", 0, inet=(ipaddress.IPv4Interface(s["wan4"]),),
            inet6=(ipaddress.IPv6Interface(s["wan6"]),), family_inet=True, family_inet6=True),)),
        "lo0": PhysicalInterface("lo0", units=(LogicalInterface(
            "lo0.0", 0, inet=(ipaddress.IPv4Interface(s["lo"]),), family_inet=True),)),
        "st0": PhysicalInterface("st0", units=(LogicalInterface(
            "st0.1", 1, inet=tuple(ipaddress.IPv4Interface(a) for a in st0_inet), family_inet=True,
            family_inet6=True),)),
        "si-0/0/0": PhysicalInterface("si-0/0/0", units=(
            LogicalInterface("si-0/0/0.0", 0, family_inet=True, service_domain="inside"),
            LogicalInterface("si-0/0/0.1", 1, family_inet=True, service_domain="outside"))),
    }
    routes = (
        StaticRoute(ipaddress.ip_network(s["remote_lan4"]), ("st0.1",)),
        StaticRoute(ipaddress.ip_network(s["remote_lan6"]), ("st0.1",)),
    ) + extra_routes
    vpn = IpsecVpn(
        name="ipsec_vpn", bind_interface="st0.1", tunnel_index=TUNNEL_INDEX, df_bit=df_bit,
        tunnel_mtu=tunnel_mtu, anti_replay_window=anti_replay_window, extended_sequence_number=esn,
        udp_encapsulation=udp_encapsulation, manual=manual, service_set="SS1",
    )
    return Intent(interfaces=interfaces, static_routes=routes, ipsec_vpns={vpn.name: vpn})


def child_sa(
    side: str,
    *,
    outer_version: int = 4,
    algorithm: str = "aes-256-gcm",
    esn: bool = False,
    encap: UdpEncap | None = None,
    local_ts: tuple = (),
    remote_ts: tuple = (),
    lifetime_bytes: int | None = None,
    lifetime_packets: int | None = None,
    spi_offset: int = 0,
) -> ChildSa:
    """The child SA as side ``side``'s IKE daemon would install it."""
    s = SIDES[side]
    local = ipaddress.ip_interface(s["wan4" if outer_version == 4 else "wan6"]).ip
    remote = ipaddress.ip_address(s["peer4" if outer_version == 4 else "peer6"])
    out_dir, in_dir = ("a->b", "b->a") if side == "a" else ("b->a", "a->b")
    spi_out, spi_in = (SPI_A_TO_B, SPI_B_TO_A) if side == "a" else (SPI_B_TO_A, SPI_A_TO_B)
    return ChildSa(
        tunnel_index=TUNNEL_INDEX, vpn_name="ipsec_vpn", spi_in=spi_in + spi_offset, spi_out=spi_out + spi_offset,
        encryption_algorithm=algorithm, key_in=KEYS[(algorithm, in_dir)], key_out=KEYS[(algorithm, out_dir)],
        local_address=local, remote_address=remote, local_ts=local_ts, remote_ts=remote_ts, esn=esn,
        encap=encap, lifetime_bytes=lifetime_bytes, lifetime_packets=lifetime_packets,
    )


#: Skips a test (or one parameter) of the C fast path when the extension is not built.
needs_c_fast_path = pytest.mark.skipif(
    not fastpath.native_available(),
    reason="the C fast path (netconf_device/pfe/_espfast) is not built: needs a C compiler and Python headers",
)
#: The two fast-path implementations, for ``pytest.mark.parametrize`` / fixture params.
FAST_PATHS = (pytest.param("c", marks=needs_c_fast_path), "python")
#: Every way through the PFE: the two fast paths, and the general path alone (the reference).
ALL_PATHS = (*FAST_PATHS, "general")


def path_options(path: str) -> dict:
    """``Datapath`` keyword arguments for a member of ``ALL_PATHS``."""
    return {"fast_path": path != "general", "fast_path_impl": None if path == "general" else path}


def peer(side: str, *, fast_path: bool = True, fast_path_impl: str | None = None, intent_kwargs: dict | None = None,
         **sa_kwargs) -> Datapath:
    """A configured datapath with its child SA installed (``fast_path_impl``: "c", "python" or the default)."""
    dp = Datapath(f"peer-{side}", fast_path=fast_path, fast_path_impl=fast_path_impl)
    dp.apply_intent(make_intent(side, **(intent_kwargs or {})))
    dp.install(ChildSaInstalled(child_sa(side, **sa_kwargs)))
    return dp


def udp_packet(src: str, dst: str, payload: bytes = b"x" * 32, sport: int = 1234, dport: int = 5678,
               ttl: int = 64, tos: int = 0, df: bool = False, ident: int = 7) -> bytes:
    s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    udp = ip.udp_datagram(s, d, sport, dport, payload)
    if len(s) == 4:
        return ip.ipv4_header(s, d, ip.PROTO_UDP, len(udp), tos=tos, ident=ident,
                              flags_fragment=0x4000 if df else 0, ttl=ttl) + udp
    return ip.ipv6_header(s, d, ip.PROTO_UDP, len(udp), traffic_class=tos, hop_limit=ttl) + udp


def expected_forwarded(packet: bytes) -> bytes:
    """What a router emits after forwarding ``packet`` once (TTL/hop limit - 1)."""
    return ip.decrement_ttl(packet)


def scapy_sa(side_sending: str, *, outer_version: int = 4, algorithm: str = "aes-256-gcm", esn: bool = False,
             nat_t: tuple[int, int] | None = None, seq_num: int = 1, esn_high: int = 0):
    """scapy's independent ESP implementation for the direction ``side_sending`` -> other side."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.ipsec import ESP, SecurityAssociation

    s = SIDES[side_sending]
    local = str(ipaddress.ip_interface(s["wan4" if outer_version == 4 else "wan6"]).ip)
    remote = s["peer4" if outer_version == 4 else "peer6"]
    spi = SPI_A_TO_B if side_sending == "a" else SPI_B_TO_A
    direction = "a->b" if side_sending == "a" else "b->a"
    header = IP(src=local, dst=remote) if outer_version == 4 else IPv6(src=local, dst=remote)
    return SecurityAssociation(
        ESP, spi=spi, seq_num=seq_num, crypt_algo="AES-GCM", crypt_key=KEYS[(algorithm, direction)],
        tunnel_header=header, nat_t_header=UDP(sport=nat_t[0], dport=nat_t[1]) if nat_t else None,
        esn_en=esn, esn=esn_high,
    )


def scapy_decrypt(sa, packet: bytes, esn_high: int = 0) -> bytes:
    """Decrypt one of our ESP packets with scapy; returns the inner packet bytes (raises on a bad ICV)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.ipsec import ESP

    parsed = IP(packet) if packet[0] >> 4 == 4 else IPv6(packet)
    if parsed.haslayer(UDP) and not parsed.haslayer(ESP):
        # scapy dissects ESP-in-UDP only on port 4500; the service-set port is configurable.
        udp = parsed[UDP]
        udp.remove_payload()
        udp.add_payload(ESP(packet[len(packet) - (udp.len - 8):]))
    if sa.esn_en:
        inner = sa.decrypt(parsed, esn_en=True, esn=esn_high)
    else:
        inner = sa.decrypt(parsed)
    return bytes(inner)


def scapy_encrypt(sa, inner: bytes, seq_num: int | None = None, esn_high: int | None = None) -> bytes:
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    parsed = IP(inner) if inner[0] >> 4 == 4 else IPv6(inner)
    kwargs = {}
    if seq_num == 0:
        sa.seq_num = 0  # scapy treats seq_num=0 as "not given" (``seq_num or self.seq_num``)
    elif seq_num is not None:
        kwargs["seq_num"] = seq_num
    if esn_high is not None:
        kwargs["esn_en"] = True
        kwargs["esn"] = esn_high
    # A fixed IV keeps the test deterministic; our side must not care what the IV is.
    kwargs["iv"] = os.urandom(8)
    return bytes(sa.encrypt(parsed, **kwargs))


def esp_fields(packet: bytes) -> tuple[int, int, int]:
    """(outer protocol, SPI, sequence low) of an outer packet (skips a UDP header)."""
    if packet[0] >> 4 == 4:
        offset, proto = (packet[0] & 0x0F) * 4, packet[9]
    else:
        offset, proto = 40, packet[6]
    if proto == 17:
        offset += 8
    spi, seq = struct.unpack_from("!II", packet, offset)
    return proto, spi, seq


def forge_esp(side_sending: str, plaintext: bytes, seq: int, *, esn: bool = False, udp: tuple[int, int] | None = None,
              algorithm: str = "aes-256-gcm") -> bytes:
    """An outer IPv4 ESP packet whose ICV verifies, around any ``plaintext`` (trailer included or not): it
    reaches the checks that run after decryption. ``seq`` is the full (ESN) sequence number."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    s = SIDES[side_sending]
    src = ipaddress.ip_interface(s["wan4"]).ip.packed
    dst = ipaddress.ip_address(s["peer4"]).packed
    spi = SPI_A_TO_B if side_sending == "a" else SPI_B_TO_A
    material = KEYS[(algorithm, "a->b" if side_sending == "a" else "b->a")]
    key, salt = material[:-4], material[-4:]
    header = struct.pack("!II", spi, seq & 0xFFFFFFFF)
    aad = struct.pack("!III", spi, seq >> 32, seq & 0xFFFFFFFF) if esn else header
    iv = seq.to_bytes(8, "big")
    esp = header + iv + AESGCM(key).encrypt(salt + iv, plaintext, aad)
    if udp is not None:
        esp = ip.udp_datagram(src, dst, udp[0], udp[1], esp, with_checksum=False)
        return ip.ipv4_header(src, dst, ip.PROTO_UDP, len(esp)) + esp
    return ip.ipv4_header(src, dst, ip.PROTO_ESP, len(esp)) + esp


def esp_trailer(inner_length: int, next_header: int = 4) -> bytes:
    """RFC 4303 padding 1, 2, .. + pad length + next header for an inner packet of ``inner_length``."""
    pad = (2 - inner_length) & 3
    return bytes(range(1, pad + 1)) + bytes((pad, next_header))
