"""Typed, immutable intent compiled from the committed configuration.

This is the only view of the configuration that the IKE daemon and the PFE read (DESIGN.md, principle 3).
Objects reference each other *resolved* (a VPN holds its gateway, which holds its IKE policy, which holds
its proposals), so deep equality of a VPN answers "did anything that this VPN depends on change?".
Algorithm and option names are Junos' configuration keywords (``aes-256-gcm``, ``group19``, ``sha-256``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

TUNNEL_INDEX_BASE = 500000  # Junos inline IPsec numbers tunnels 500001, 500002, ... (seed: st0.1 -> 500001)


# --------------------------------------------------------------------------------------------- system
@dataclass(frozen=True)
class LoginUser:
    name: str
    login_class: str  # super-user | operator | read-only | unauthorized
    encrypted_password: str | None = None  # "$6$..." crypt hash
    ssh_public_keys: tuple[str, ...] = ()  # OpenSSH one-line public keys
    uid: int | None = None


@dataclass(frozen=True)
class SystemIntent:
    host_name: str = "mx304"
    domain_name: str | None = None
    users: tuple[LoginUser, ...] = ()
    netconf_ssh_port: int | None = None  # None: NETCONF over SSH not enabled in config


# --------------------------------------------------------------------------------------------- chassis
@dataclass(frozen=True)
class InlineServicesPic:
    fpc: int
    pic: int
    bandwidth: str | None = None


# --------------------------------------------------------------------------------------------- interfaces
@dataclass(frozen=True)
class LogicalInterface:
    name: str  # "et-0/1/8.0", "st0.1", "si-0/0/0.1"
    unit: int
    description: str | None = None
    mtu: int | None = None  # family inet mtu, when configured
    inet: tuple[ipaddress.IPv4Interface, ...] = ()
    inet6: tuple[ipaddress.IPv6Interface, ...] = ()
    family_inet: bool = False  # "family inet" present (possibly without addresses)
    family_inet6: bool = False
    service_domain: Literal["inside", "outside"] | None = None
    disabled: bool = False


@dataclass(frozen=True)
class PhysicalInterface:
    name: str  # "et-0/1/8", "st0", "si-0/0/0", "lo0", "fxp0"
    description: str | None = None
    mtu: int | None = None
    disabled: bool = False
    units: tuple[LogicalInterface, ...] = ()


# --------------------------------------------------------------------------------------------- routing
@dataclass(frozen=True)
class StaticRoute:
    prefix: IpNetwork
    next_hops: tuple[str, ...] = ()  # IP addresses ("16.1.1.1") or logical interfaces ("st0.1")
    discard: bool = False
    reject: bool = False


# --------------------------------------------------------------------------------------------- IKE
@dataclass(frozen=True)
class IkeProposal:
    name: str
    authentication_method: str = "pre-shared-keys"  # | rsa-signatures | ecdsa-signatures-256 | -384
    dh_group: str = "group2"  # group1|2|5|14|15|16|19|20|21|24|31
    authentication_algorithm: str | None = "sha1"  # md5|sha1|sha-256|sha-384|sha-512; None with AES-GCM
    encryption_algorithm: str = "aes-128-cbc"  # aes-128/192/256-cbc|aes-128/256-gcm|3des-cbc|des-cbc
    lifetime_seconds: int = 28800


@dataclass(frozen=True)
class IkePolicy:
    name: str
    mode: Literal["main", "aggressive"] = "main"
    proposals: tuple[IkeProposal, ...] = ()
    pre_shared_key: bytes | None = field(default=None, repr=False)  # decoded secret, never logged
    local_certificate: str | None = None  # name of a LocalCertificate
    reauth_frequency: int | None = None  # reauthenticate every N IKE rekeys (None: never)


@dataclass(frozen=True)
class DeadPeerDetection:
    mode: Literal["optimized", "always-send", "probe-idle-tunnel"] = "optimized"
    interval: int = 10
    threshold: int = 5


@dataclass(frozen=True)
class IkeIdentity:
    kind: Literal["inet", "inet6", "hostname", "user-at-hostname", "distinguished-name"]
    value: str | None = None  # None for distinguished-name taken from the certificate
    # remote-identity distinguished-name { container <s>; wildcard <s> }: the peer's DN must contain all
    # RDNs of ``dn_container`` (in order) / match ``dn_wildcard`` (each given RDN, any order).
    dn_container: str | None = None
    dn_wildcard: str | None = None


@dataclass(frozen=True)
class IkeGateway:
    name: str
    policy: IkePolicy
    addresses: tuple[str, ...] = ()  # remote peer addresses (first is primary)
    external_interface: str | None = None  # logical interface, e.g. "et-0/2/10.0"
    local_address: IpAddress | None = None  # resolved from external-interface (or local-address)
    version: Literal["v1-only", "v2-only"] = "v2-only"
    dead_peer_detection: DeadPeerDetection | None = None
    nat_keepalive: int = 5
    no_nat_traversal: bool = False
    local_identity: IkeIdentity | None = None
    remote_identity: IkeIdentity | None = None
    fragmentation: bool = True  # IKEv2 fragmentation (RFC 7383) enabled
    fragmentation_size: int | None = None
    ca_profile: str | None = None  # trusted CA for certificate authentication


# --------------------------------------------------------------------------------------------- IPsec
@dataclass(frozen=True)
class IpsecProposal:
    name: str
    protocol: Literal["esp"] = "esp"
    encryption_algorithm: str = "aes-256-gcm"  # aes-128-gcm | aes-256-gcm
    authentication_algorithm: str | None = None
    lifetime_seconds: int = 3600
    lifetime_kilobytes: int | None = None


@dataclass(frozen=True)
class IpsecPolicy:
    name: str
    proposals: tuple[IpsecProposal, ...] = ()
    pfs_group: str | None = None  # "group19" ...


@dataclass(frozen=True)
class TrafficSelector:
    name: str
    local: IpNetwork
    remote: IpNetwork


@dataclass(frozen=True)
class ManualSa:
    gateway: IpAddress  # remote tunnel endpoint
    external_interface: str | None
    local_address: IpAddress | None
    spi: int  # 256..16639 on Junos; the same SPI is used in both directions
    encryption_algorithm: str  # aes-128-gcm | aes-256-gcm
    key: bytes = field(repr=False)  # key || 4-byte salt, decoded


@dataclass(frozen=True)
class UdpEncapsulation:
    """Service-set UDP encapsulation of ESP (seed: "UDP encapsulation for multipath forwarding")."""

    destination_port: int = 500


@dataclass(frozen=True)
class IpsecVpn:
    name: str
    bind_interface: str | None  # "st0.1"
    tunnel_index: int  # 500001 ... stable: TUNNEL_INDEX_BASE + st0 unit where possible
    gateway: IkeGateway | None = None  # None for a manual SA
    ipsec_policy: IpsecPolicy | None = None
    manual: ManualSa | None = None
    establish_tunnels: Literal["immediately", "on-traffic", "responder-only"] = "on-traffic"
    traffic_selectors: tuple[TrafficSelector, ...] = ()  # empty: 0.0.0.0/0 <-> 0.0.0.0/0
    df_bit: Literal["clear", "set", "copy"] = "copy"
    tunnel_mtu: int | None = None
    anti_replay_window: int = 64  # 0 when no-anti-replay
    extended_sequence_number: bool = False
    udp_encapsulation: UdpEncapsulation | None = None  # from the service set naming this VPN
    service_set: str | None = None


@dataclass(frozen=True)
class ServiceSet:
    name: str
    inside_service_interface: str | None = None  # "si-0/0/0.0"
    outside_service_interface: str | None = None  # "si-0/0/0.1"
    ipsec_vpn: str | None = None
    udp_encapsulation: UdpEncapsulation | None = None


# --------------------------------------------------------------------------------------------- PKI
@dataclass(frozen=True)
class CaProfile:
    name: str
    ca_identity: str
    certificate_pem: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LocalCertificate:
    name: str
    certificate_pem: bytes = field(repr=False)
    private_key_pem: bytes = field(repr=False)


# --------------------------------------------------------------------------------------------- whole
@dataclass(frozen=True)
class Intent:
    """Everything the engines need, keyed by name. Built only by ``config.compile``."""

    system: SystemIntent = SystemIntent()
    inline_services: tuple[InlineServicesPic, ...] = ()
    interfaces: dict[str, PhysicalInterface] = field(default_factory=dict)
    static_routes: tuple[StaticRoute, ...] = ()
    service_sets: dict[str, ServiceSet] = field(default_factory=dict)
    ike_proposals: dict[str, IkeProposal] = field(default_factory=dict)
    ike_policies: dict[str, IkePolicy] = field(default_factory=dict)
    ike_gateways: dict[str, IkeGateway] = field(default_factory=dict)
    ipsec_proposals: dict[str, IpsecProposal] = field(default_factory=dict)
    ipsec_policies: dict[str, IpsecPolicy] = field(default_factory=dict)
    ipsec_vpns: dict[str, IpsecVpn] = field(default_factory=dict)
    ca_profiles: dict[str, CaProfile] = field(default_factory=dict)
    local_certificates: dict[str, LocalCertificate] = field(default_factory=dict)

    def logical_interfaces(self) -> dict[str, LogicalInterface]:
        return {u.name: u for ifd in self.interfaces.values() for u in ifd.units}

    def __hash__(self) -> int:  # dict fields make the generated hash unusable; identity is enough
        return id(self)


@dataclass(frozen=True)
class ObjectDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True)
class IntentDiff:
    old: Intent
    new: Intent
    interfaces: ObjectDiff = ObjectDiff()
    static_routes_changed: bool = False
    service_sets: ObjectDiff = ObjectDiff()
    ike_gateways: ObjectDiff = ObjectDiff()
    ipsec_vpns: ObjectDiff = ObjectDiff()
    system_changed: bool = False

    @property
    def is_empty(self) -> bool:
        """Nothing any engine reads changed (a commit that only touched comments or inactive statements)."""
        return not (self.interfaces or self.static_routes_changed or self.service_sets or self.ike_gateways
                    or self.ipsec_vpns or self.system_changed or self.old.inline_services != self.new.inline_services
                    or self.old.local_certificates != self.new.local_certificates
                    or self.old.ca_profiles != self.new.ca_profiles)


def diff_objects(old: dict, new: dict) -> ObjectDiff:
    """Added / removed / changed names between two name -> frozen-object maps (deep equality)."""
    return ObjectDiff(
        added=tuple(n for n in new if n not in old),
        removed=tuple(n for n in old if n not in new),
        changed=tuple(n for n in new if n in old and new[n] != old[n]),
    )


def diff_intent(old: Intent, new: Intent) -> IntentDiff:
    return IntentDiff(
        old=old,
        new=new,
        interfaces=diff_objects(old.interfaces, new.interfaces),
        static_routes_changed=old.static_routes != new.static_routes,
        service_sets=diff_objects(old.service_sets, new.service_sets),
        ike_gateways=diff_objects(old.ike_gateways, new.ike_gateways),
        ipsec_vpns=diff_objects(old.ipsec_vpns, new.ipsec_vpns),
        system_changed=old.system != new.system,
    )
