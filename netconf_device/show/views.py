"""Typed, immutable views of live state: what the `show` commands display.

The integration fills these from the IKE daemon's and the PFE's snapshots (one snapshot per command, so a
reply is consistent); the builders in ``security_xml`` / ``chassis_xml`` turn them into Junos XML and the
renderers in ``security_text`` / ``chassis_text`` turn that XML into CLI text.

Conventions: numbers stay numbers (SPIs as ``int``, lifetimes in seconds), and strings that Junos prints
verbatim (algorithm names, identities) are stored as Junos prints them; ``junos_names`` converts from the
configuration keywords of the intent (``aes-256-gcm`` -> ``aes-gcm-256`` ...). Addresses are strings so that
IPv4 and IPv6 print as given.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Literal

# ============================================================================================ IKE SAs


@dataclass(frozen=True)
class IkeAlgorithms:
    """As Junos prints them: ``hmac-sha256-128``, ``aes256-cbc``, ``hmac-sha256``, ``DH-group-19``."""

    authentication: str  # integrity ("None" for an AES-GCM IKE proposal)
    encryption: str
    prf: str
    dh_group: str


@dataclass(frozen=True)
class IkeTrafficStatistics:
    """IKE messages on this IKE SA (not ESP traffic)."""

    input_bytes: int = 0
    output_bytes: int = 0
    input_packets: int = 0
    output_packets: int = 0
    input_fragmented_packets: int = 0
    output_fragmented_packets: int = 0


@dataclass(frozen=True)
class IkeChildNegotiation:
    """A phase-2 (child SA) negotiation in progress on an IKE SA."""

    role: Literal["initiator", "responder"]
    message_id: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    local_identity: str
    remote_identity: str
    negotiation_type: str = "Quick mode"  # Junos prints "Quick mode" for IKEv2 child SAs too (captured)
    flags: str = "IKE SA is created"


@dataclass(frozen=True)
class IkeSaView:
    """One IKE SA (IKEv2), as `show security ike security-associations [detail]` shows it."""

    index: int  # Junos' IKE SA index (the number `... index N detail` takes)
    gateway_name: str
    state: Literal["UP", "DOWN"]
    role: Literal["initiator", "responder"]
    remote_address: str
    local_address: str
    initiator_spi: int  # printed as a 16-hex-digit "cookie"
    responder_spi: int  # 0 until the responder answered
    algorithms: IkeAlgorithms
    lifetime_remaining_seconds: int  # "Expires in N seconds"
    remote_port: int = 500  # 4500 (or the custom NAT-T port) after NAT-T port floating
    local_port: int = 500
    exchange_type: str = "IKEv2"
    authentication_method: str = "Pre-shared-keys"
    local_gateway_interface: str | None = None  # the gateway's external interface, "et-0/2/10.0"
    routing_instance: str = "default"
    reauth_lifetime_remaining_seconds: int | None = None  # None: "Disabled"
    fragmentation_enabled: bool = True
    fragmentation_size: int = 576
    remote_identity: str = ""  # the peer's IKE ID as printed ("16.1.1.2", "C=US, O=...", "peer.example")
    traffic: IkeTrafficStatistics = IkeTrafficStatistics()
    ipsec_sas_created: int = 0
    ipsec_sas_deleted: int = 0
    ipsec_tunnel_ids: tuple[int, ...] = ()  # tunnel indexes (500001 ...) negotiated by this IKE SA
    phase2_negotiations: tuple[IkeChildNegotiation, ...] = ()


# ====================================================================================== active peers


@dataclass(frozen=True)
class DpdView:
    """Dead peer detection as configured on the gateway, and its counters for this peer."""

    mode: Literal["optimized", "always-send", "probe-idle-tunnel"] = "optimized"
    interval: int = 10
    threshold: int = 5
    requests_sent: int = 0
    responses_received: int = 0


@dataclass(frozen=True)
class IkeActivePeerView:
    """A peer with at least one IKE SA, as `show security ike active-peer [detail]` shows it."""

    remote_address: str
    remote_port: int = 500
    remote_identity: str = ""
    xauth_username: str = "not available"  # value captured in Toby's docstring
    assigned_ip: str = "0.0.0.0"
    local_address: str = ""
    local_port: int = 500
    local_identity: str = ""
    local_gateway_interface: str | None = None
    routing_instance: str = "default"
    ike_sa_indexes: tuple[int, ...] = ()
    ipsec_tunnel_ids: tuple[int, ...] = ()
    ike_sas_negotiated: int = 0
    active_ipsec_sas: int = 0
    dpd: DpdView | None = None


# ========================================================================================= IPsec SAs


@dataclass(frozen=True)
class IpsecSaPair:
    """One inbound/outbound pair of ESP SAs of a tunnel (two pairs coexist briefly during a rekey)."""

    inbound_spi: int  # SPI we receive with (we chose it)
    outbound_spi: int  # SPI we send with (the peer chose it)
    hard_lifetime_remaining_seconds: int | None  # None: no time limit (manual SA)
    soft_lifetime_remaining_seconds: int | None = None  # when the rekey starts; None: none scheduled
    lifesize_remaining_kilobytes: int | None = None  # None: "unlim" / "Unlimited"
    sa_type: Literal["dynamic", "manual"] = "dynamic"
    state: str = "installed"
    mode: str = "Tunnel(0 0)"  # captured spelling for tunnel mode on vSRX 24.4
    anti_replay_window: int = 64  # 0: anti-replay disabled
    extended_sequence_number: bool = False
    aux_spi: int = 0


@dataclass(frozen=True)
class UdpEncapsulationView:
    """ESP in UDP: ``nat-t`` (RFC 3948, port 4500) or the seed's service-set encapsulation for multipath."""

    kind: Literal["nat-t", "service-set"]
    destination_port: int


@dataclass(frozen=True)
class TunnelEvent:
    """A line of `Tunnel events:` (``<time>: <description> (<count> times)``); newest first in views. The texts
    are Junos' (the IKE daemon's ``ike/gateways.py`` holds the ones it records)."""

    time: _dt.datetime  # aware datetimes print their offset ("-0800"); naive ones are taken as UTC
    description: str
    count: int = 1


@dataclass(frozen=True)
class IpsecTunnelView:
    """One IPsec VPN tunnel (a tunnel index such as 500001) with its SA pairs."""

    tunnel_index: int  # 500000 + st0 unit (docs/architecture.md)
    vpn_name: str
    local_gateway: str
    remote_gateway: str
    encryption_algorithm: str  # configuration keyword: "aes-256-gcm"
    sa_pairs: tuple[IpsecSaPair, ...] = ()  # oldest first; empty: no SA (tunnel not in the SA listing)
    authentication_algorithm: str | None = None  # configuration keyword; None with AES-GCM
    port: int = 500  # IKE port of the gateway: 500, or 4500 after NAT-T floating
    protocol: str = "ESP"
    vpn_monitoring: Literal["up", "down"] | None = None  # None: VPN monitoring not enabled ("-")
    virtual_system: str = "root"
    traffic_selector_name: str = ""
    local_identity: str = "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"  # junos_names.proxy_identity()
    remote_identity: str = "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"
    ike_version: str = "IKEv2"
    df_bit: Literal["clear", "set", "copy"] = "clear"
    copy_outer_dscp: bool = False
    bind_interface: str = ""  # "st0.1"
    tunnel_mtu: int | None = None  # per-VPN tunnel MTU when configured
    pfs_group: str | None = None  # "DH-group-19" when the IPsec policy has perfect-forward-secrecy
    service_set: str | None = None  # the MX service set that carries the VPN ("SS1")
    udp_encapsulation: UdpEncapsulationView | None = None
    negotiations: int = 0  # Nego#
    negotiation_failures: int = 0  # Fail#
    deletions: int = 0  # Def-Del#
    flags: int = 0x600A21  # Junos' internal tunnel flags; captured value of an up IKEv2 route-based VPN
    configured_sas: int = 1  # "Multi-sa, Configured SAs# 1, Negotiated SAs#: 1"
    negotiated_sas: int = 1
    events: tuple[TunnelEvent, ...] = ()


# ======================================================================================= statistics


@dataclass(frozen=True)
class IpsecStatisticsView:
    """The counters of ``usp-ipsec-total-statistics-information`` (global, or of one tunnel index)."""

    encrypted_bytes: int = 0
    decrypted_bytes: int = 0
    encrypted_packets: int = 0
    decrypted_packets: int = 0
    ah_input_bytes: int = 0  # AH is not supported inline; kept because the reply carries it
    ah_output_bytes: int = 0
    ah_input_packets: int = 0
    ah_output_packets: int = 0
    ah_authentication_failures: int = 0
    replay_errors: int = 0
    esp_authentication_failures: int = 0
    esp_decryption_failures: int = 0
    bad_headers: int = 0
    bad_trailers: int = 0
    invalid_spi: int = 0
    ts_check_failures: int = 0
    exceeds_tunnel_mtu: int = 0
    discarded: int = 0

    @classmethod
    def total(cls, parts: Iterable[IpsecStatisticsView]) -> IpsecStatisticsView:
        """Field-wise sum, e.g. the global counters from per-tunnel ones."""
        sums = {f.name: 0 for f in fields(cls)}
        for part in parts:
            for name in sums:
                sums[name] += getattr(part, name)
        return cls(**sums)


# ========================================================================================== chassis


@dataclass(frozen=True)
class TransceiverView:
    """The optics of a port, as `PIC port information` lists them."""

    cable_type: str = "100GBASE LR4"
    fiber_mode: str = "SM"
    vendor_name: str = "JUNIPER-EMUL"
    vendor_part_number: str = "EMULATED"
    wavelength: str = "1310 nm"
    firmware_version: str = "0.0"
    jnpr_revision: str = "REV 01"
    msa_version: str = "SFF-8636 ver 2.7"


@dataclass(frozen=True)
class PortView:
    """One physical port of a PIC and where it sits in the PFE's port groups."""

    port_number: int
    interface_name: str  # "et-0/2/10"
    pfe_number: int  # PFE slice number on the FPC
    port_group: int  # port group within the PFE slice (0 or 1)
    ipsec_capable: bool  # the port group can carry IPsec (port group 0 of each slice)
    ipsec_wan: bool = False  # external interface of an IKE gateway
    speed: str = "100G"
    transceiver: TransceiverView | None = TransceiverView()


@dataclass(frozen=True)
class PortGroupView:
    """A port group of a PFE slice with its bandwidth split (seed: 300 Gbps IPsec + 100 Gbps other)."""

    pfe_number: int
    port_group: int
    ports: tuple[int, ...]
    ipsec_capable: bool
    ipsec_bandwidth_gbps: int
    other_bandwidth_gbps: int


@dataclass(frozen=True)
class PicDetailView:
    """`show chassis pic fpc-slot F pic-slot P` / `show chassis fpc F pic P` for one PIC."""

    fpc_slot: int
    pic_slot: int
    pic_type: str
    state: str = "Online"
    pic_version: str = "1.0"
    uptime_seconds: int = 0
    ports: tuple[PortView, ...] = ()
    port_groups: tuple[PortGroupView, ...] = ()
