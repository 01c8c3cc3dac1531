"""ESP produced by a real strongSwan (charon 5.9.8, kernel-libipsec, ESP-in-UDP/NAT-T, AES-256-GCM),
captured with its keys by the project's strongSwan harness (``tests/pfe/data/strongswan-*``, copied
from ``shared/interop/strongswan/examples``): the PFE, standing in for either peer, decrypts every ESP
packet of the capture (also across the child-SA rekey) and punts the IKE messages."""

from __future__ import annotations

import ipaddress
import json
import os

import pytest
from scapy.layers.inet import IP
from scapy.utils import rdpcap

from netconf_device.config.intent import (
    Intent,
    IpsecVpn,
    LogicalInterface,
    PhysicalInterface,
    StaticRoute,
)
from netconf_device.pfe import Datapath, ip
from netconf_device.sa import ChildSa, ChildSaInstalled, IkeDatagram, UdpEncap

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SIDES = {  # WAN address -> (LAN prefix with our address, the remote LAN behind the tunnel)
    "10.200.0.1": ("1.1.1.254/24", "2.2.2.0/24"),
    "10.200.0.2": ("2.2.2.254/24", "1.1.1.0/24"),
}


def _receiver(wan: str, esp_sas: list[dict]) -> Datapath:
    lan, remote_lan = SIDES[wan]
    intent = Intent(
        interfaces={
            "et-0/1/8": PhysicalInterface("et-0/1/8", units=(
                LogicalInterface("et-0/1/8.0", 0, inet=(ipaddress.IPv4Interface(lan),)),)),
            "et-0/2/10": PhysicalInterface("et-0/2/10", units=(
                LogicalInterface("et-0/2/10.0", 0, inet=(ipaddress.IPv4Interface(wan + "/24"),)),)),
            "st0": PhysicalInterface("st0", units=(LogicalInterface("st0.1", 1, family_inet=True),)),
        },
        static_routes=(StaticRoute(ipaddress.ip_network(remote_lan), ("st0.1",)),),
        ipsec_vpns={"swan": IpsecVpn(name="swan", bind_interface="st0.1", tunnel_index=500001)},
    )
    dp = Datapath(f"pfe-{wan}")
    dp.apply_intent(intent)
    inbound = [sa for sa in esp_sas if sa["dst"] == wan]
    outbound = [sa for sa in esp_sas if sa["src"] == wan]
    for sa_in, sa_out in zip(inbound, outbound, strict=True):  # both lists in installation order
        peer = sa_in["src"]
        dp.install(ChildSaInstalled(ChildSa(
            tunnel_index=500001, vpn_name="swan", spi_in=int(sa_in["spi"], 16), spi_out=int(sa_out["spi"], 16),
            encryption_algorithm="aes-256-gcm", key_in=bytes.fromhex(sa_in["enc_key"]),
            key_out=bytes.fromhex(sa_out["enc_key"]), local_address=ipaddress.ip_address(wan),
            remote_address=ipaddress.ip_address(peer), encap=UdpEncap("nat-t", 4500, 4500))))
    return dp


def _complete_udp_checksum(packet: bytes) -> bytes:
    """The capture was taken on the sending veth before checksum offload finished the UDP checksums
    (they hold only the pseudo-header sum); on the wire they are complete. ESP-in-UDP checksums are not
    verified by the PFE (RFC 3948 3.1.2), so those packets are left exactly as captured."""
    if packet[9] != ip.PROTO_UDP or packet[28:32] != b"\0\0\0\0" and packet[22:24] == b"\x11\x94":
        return packet
    udp = bytearray(packet[20:])
    udp[6:8] = b"\0\0"
    udp[6:8] = (ip.checksum(ip.pseudo_header(packet[12:16], packet[16:20], ip.PROTO_UDP, len(udp)) + udp)
                or 0xFFFF).to_bytes(2, "big")
    return packet[:20] + bytes(udp)


@pytest.mark.parametrize("example", ("psk", "gcm-pfs"))
@pytest.mark.parametrize("wan", sorted(SIDES))
def test_pfe_decrypts_real_strongswan_esp(example, wan):
    folder = os.path.join(DATA, f"strongswan-{example}")
    with open(os.path.join(folder, "keys.json")) as f:
        esp_sas = [sa for sa in json.load(f)["esp_sas"] if sa["proposal"].startswith("ESP:AES_GCM_16_256")]
    packets = [_complete_udp_checksum(bytes(p[IP])) for p in rdpcap(os.path.join(folder, "capture.pcap"))
               if p.haslayer(IP)]
    to_us = [p for p in packets if ip.address_text(p[16:20]) == wan]
    esp = [p for p in to_us if p[9] == 17 and p[22:24] == b"\x11\x94" and p[28:32] != b"\0\0\0\0"
           and len(p) > 29]
    dp = _receiver(wan, esp_sas)
    out = dp.process([("et-0/2/10", p) for p in to_us], 1.0)
    stats = dp.ipsec_statistics()
    assert len(esp) >= 4
    assert stats["esp_decrypted_packets"] == len(esp)
    assert stats["discard_errors"] == 0 and stats["esp_authentication_failures"] == 0
    lan_prefix = ipaddress.ip_network(SIDES[wan][0], strict=False)
    forwarded = [p for egress, p in out if egress == "et-0/1/8"]
    assert len(forwarded) == len(esp)
    assert all(ipaddress.ip_address(p[16:20]) in lan_prefix and p[9] == ip.PROTO_ICMP for p in forwarded)
    ike = [e for e in dp.drain_events() if isinstance(e, IkeDatagram)]
    assert len(ike) == len(to_us) - len(esp) and ike
