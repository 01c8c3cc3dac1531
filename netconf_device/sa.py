"""The contract between the IKE daemon and the PFE: child SAs, and the events each side sends the other.

The IKE daemon emits ``ChildSaInstalled`` / ``ChildSaDeleted`` / ``IkeSaStateChanged`` and ``IkeDatagram``
(IKE packets to send); the PFE emits ``Acquire`` (first packet for a VPN with no SA), ``RekeyRequest``
(sequence counter or byte/packet lifetime nearly used up) and punts inbound IKE as ``IkeDatagram``.
Both sides are sans-IO: these are plain values passed by the device's event loop (``device.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from netconf_device.config.intent import IpAddress, IpNetwork


@dataclass(frozen=True)
class UdpEncap:
    """How ESP travels in UDP for this SA (None on the SA means plain IP protocol 50).

    ``kind`` "nat-t": RFC 3948 on the NAT-T port pair the IKE SA floated to (4500, or custom).
    ``kind`` "service-set": the seed's UDP encapsulation for multipath; ``source_port`` is then ignored and
    the PFE derives a per-flow source port in 49152-65535.
    """

    kind: Literal["nat-t", "service-set"]
    source_port: int
    destination_port: int


@dataclass(frozen=True)
class ChildSa:
    """One negotiated (or manual) ESP child SA pair, as the PFE installs it."""

    tunnel_index: int  # the VPN's tunnel index (500001 ...), shared by show commands of IKE and PFE
    vpn_name: str
    spi_in: int  # SPI we receive with (we chose it)
    spi_out: int  # SPI we send with (the peer chose it)
    encryption_algorithm: str  # "aes-128-gcm" | "aes-256-gcm"
    key_in: bytes = field(repr=False)  # key || 4-byte salt (RFC 4106) for inbound
    key_out: bytes = field(repr=False)
    local_address: IpAddress = None  # type: ignore[assignment]  # outer source
    remote_address: IpAddress = None  # type: ignore[assignment]  # outer destination
    local_ts: tuple[IpNetwork, ...] = ()
    remote_ts: tuple[IpNetwork, ...] = ()
    esn: bool = False
    encap: UdpEncap | None = None
    icv_length: int = 16
    lifetime_seconds: int = 3600  # hard lifetime; the IKE daemon rekeys before it
    lifetime_bytes: int | None = None
    lifetime_packets: int | None = None  # hard packet lifetime per direction (None: unlimited)
    ike_sa_index: int | None = None  # owning IKE SA (None for manual SAs)
    created_at: float = 0.0  # "now" of the engine that created it


# ----------------------------------------------------------------------------------------- IKE -> PFE
@dataclass(frozen=True)
class ChildSaInstalled:
    sa: ChildSa
    replaces_spi_in: int | None = None  # rekey: the old inbound SPI stays valid until ChildSaDeleted


@dataclass(frozen=True)
class ChildSaDeleted:
    tunnel_index: int
    spi_in: int
    spi_out: int


@dataclass(frozen=True)
class IkeSaStateChanged:
    gateway: str
    ike_sa_index: int
    state: Literal["up", "down"]
    reason: str = ""


@dataclass(frozen=True)
class IkeDatagram:
    """An IKE message on the wire (either direction). ``payload`` excludes the non-ESP marker."""

    src: IpAddress
    dst: IpAddress
    sport: int
    dport: int
    payload: bytes
    non_esp_marker: bool = False  # received with / to be sent with the 4-byte zero marker
    ingress_interface: str | None = None


# ----------------------------------------------------------------------------------------- PFE -> IKE
@dataclass(frozen=True)
class Acquire:
    """Outbound traffic for a VPN with no child SA (establish-tunnels on-traffic)."""

    tunnel_index: int
    vpn_name: str
    src: IpAddress
    dst: IpAddress


@dataclass(frozen=True)
class RekeyRequest:
    tunnel_index: int
    spi_in: int
    reason: Literal["sequence", "bytes", "packets"]


@dataclass(frozen=True)
class SaActivity:
    """Per-SA traffic timestamps the PFE keeps for DPD `optimized` / `probe-idle-tunnel`."""

    spi_in: int
    last_inbound: float | None
    last_outbound: float | None
