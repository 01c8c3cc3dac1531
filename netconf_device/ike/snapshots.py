"""Immutable per-SA snapshots for the show commands (``../shared/reference/junos-xml.md`` §1.1-1.3, §1.8).

The RPC layer renders these into Junos XML; nothing here is formatted for one output format only, except the
few strings that Junos prints verbatim (algorithm names, ``Pre-shared-keys``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import auth, dh, selectors
from . import sa as sastate

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine
    from .sa import ChildSaState, IkeSa


@dataclass(frozen=True)
class IkeSaSnapshot:
    index: int
    gateway: str
    state: str  # "UP" | "DOWN" (Junos ike-sa-state)
    internal_state: str  # CONNECTING / ESTABLISHED / REKEYING / REKEYED / DELETING
    role: str  # "initiator" | "responder"
    initiator_cookie: str  # SPIi, 16 hex digits
    responder_cookie: str
    exchange_type: str
    authentication_method: str  # Junos text: Pre-shared-keys, RSA-signatures, ...
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    lifetime_seconds: int  # configured hard lifetime
    lifetime_remaining: int  # "Expires in N seconds"
    rekey_remaining: int | None
    reauth_remaining: int | None  # None: "Disabled"
    fragmentation: bool
    fragmentation_size: int
    local_id: str
    remote_id: str
    local_id_type: str
    remote_id_type: str
    encryption_algorithm: str  # aes256-cbc, aes256-gcm, ...
    integrity_algorithm: str  # hmac-sha256-128, none
    prf_algorithm: str  # hmac-sha256
    dh_group: int
    dh_group_name: str  # "DH-group-14"
    nat_local: bool
    nat_remote: bool
    established_seconds: int
    counters: dict = field(default_factory=dict)
    tunnel_indices: tuple[int, ...] = ()
    child_spis: tuple[int, ...] = ()
    dpd_mode: str | None = None
    dpd_interval: int | None = None
    dpd_threshold: int | None = None
    trusted_ca: str | None = None
    flags: str = "IKE SA is created"
    # child SA negotiations in flight that we started: (role, message ID) ("ike-sa-phase2-information")
    child_negotiations: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class ChildSaSnapshot:
    tunnel_index: int
    vpn_name: str
    gateway: str
    ike_sa_index: int
    state: str  # "up" | "rekeying" | "deleting" ...
    spi_in: int
    spi_out: int
    protocol: str
    encryption_algorithm: str  # Junos keyword (aes-256-gcm)
    esn: bool
    icv_length: int
    local_address: str
    remote_address: str
    local_port: int | None  # UDP encapsulation ports, None for plain ESP
    remote_port: int | None
    encapsulation: str | None  # "nat-t" | "service-set" | None
    local_ts: tuple[str, ...]
    remote_ts: tuple[str, ...]
    lifetime_seconds: int
    lifetime_remaining: int
    soft_lifetime_remaining: int | None
    lifetime_kilobytes: int | None
    pfs_group: int | None
    role: str  # "initiator" | "responder" (of the exchange that created it)
    created_at: float
    rekeys: int
    bind_interface: str | None
    anti_replay_window: int
    df_bit: str
    tunnel_mtu: int | None


@dataclass(frozen=True)
class IkeSaBrief:
    """What the brief listing (`show security ike security-associations`) needs of one IKE SA: cheap enough to
    build for 2000 SAs on every poll (a full ``IkeSaSnapshot`` also derives lifetimes, identities,
    algorithms and counters)."""

    index: int
    gateway: str
    state: str  # "UP" | "DOWN"
    role: str
    initiator_cookie: str
    responder_cookie: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    exchange_type: str = "IKEv2"


def brief_ike(sa: IkeSa) -> IkeSaBrief:
    gw = sa.gateway
    return IkeSaBrief(
        index=sa.index,
        gateway=gw.name if gw else "",
        state="UP" if sa.is_up or sa.state == sastate.REKEYED else "DOWN",
        role="initiator" if sa.initiator else "responder",
        initiator_cookie=sa.spi_i.hex(),
        responder_cookie=sa.spi_r.hex(),
        local_address=str(sa.local_addr),
        local_port=sa.local_port,
        remote_address=str(sa.remote_addr),
        remote_port=sa.remote_port,
    )


def _remaining(deadline: float | None, now: float) -> int | None:
    return None if deadline is None else max(int(deadline - now), 0)


def snapshot_ike(engine: Engine, sa: IkeSa, now: float) -> IkeSaSnapshot:
    gw = sa.gateway
    algs = sa.algs
    freq = gw.intent.policy.reauth_frequency if gw else None
    reauth = None
    if freq and sa.rekey_at is not None:
        # reauthentication happens at the rekey that reaches the configured count
        left = max(freq - sa.rekeys_since_auth - 1, 0)
        reauth = _remaining(sa.rekey_at, now) + left * int(sa.lifetime * engine.options.rekey_fraction)
    dpd = gw.dpd if gw else None
    limit = engine._fragment_limit(sa) if gw else None
    size = (gw.intent.fragmentation_size or (1280 if getattr(sa.remote_addr, "version", 4) == 6 else 576)) \
        if gw else 576
    children = [c for c in sa.children if c.state != sastate.CHILD_DELETED]
    return IkeSaSnapshot(
        index=sa.index,
        gateway=gw.name if gw else "",
        state="UP" if sa.is_up or sa.state == sastate.REKEYED else "DOWN",
        internal_state=sa.state,
        role="initiator" if sa.initiator else "responder",
        initiator_cookie=sa.spi_i.hex(),
        responder_cookie=sa.spi_r.hex(),
        exchange_type="IKEv2",
        authentication_method=_method_display(gw, sa),
        local_address=str(sa.local_addr),
        local_port=sa.local_port,
        remote_address=str(sa.remote_addr),
        remote_port=sa.remote_port,
        lifetime_seconds=sa.lifetime,
        lifetime_remaining=_remaining(sa.expire_at, now) if sa.expire_at is not None else sa.lifetime,
        rekey_remaining=_remaining(sa.rekey_at, now),
        reauth_remaining=reauth,
        fragmentation=bool(gw and gw.intent.fragmentation and sa.peer_frag and limit is not None),
        fragmentation_size=size,
        local_id=sa.local_id.display() if sa.local_id else "",
        remote_id=sa.remote_id.display() if sa.remote_id else "",
        local_id_type=sa.local_id.kind if sa.local_id else "",
        remote_id_type=sa.remote_id.kind if sa.remote_id else "",
        encryption_algorithm=algs.encryption_name if algs else "",
        integrity_algorithm=algs.integrity_name if algs else "",
        prf_algorithm=algs.prf_name if algs else "",
        dh_group=sa.dh_group or 0,
        dh_group_name=f"DH-group-{sa.dh_group}" if sa.dh_group else "",
        nat_local=sa.nat_local,
        nat_remote=sa.nat_remote,
        established_seconds=int(now - sa.established_at) if sa.established_at is not None else 0,
        counters=sa.counters.as_dict(),
        tunnel_indices=tuple(sorted({c.vpn.tunnel_index for c in children})),
        child_spis=tuple(c.spi_in for c in children),
        dpd_mode=dpd.mode if dpd else None,
        dpd_interval=dpd.interval if dpd else None,
        dpd_threshold=dpd.threshold if dpd else None,
        trusted_ca=gw.intent.ca_profile if gw else None,
        flags="IKE SA is created" if sa.was_up else "IKE SA negotiation in progress",
        child_negotiations=tuple(("initiator", sa.outstanding.msg_id) for t in
                                 (sa.outstanding.tasks if sa.outstanding else ())
                                 if t.name in ("child_create", "child_rekey")),
    )


_JUNOS_METHODS = {"pre-shared-keys": "Pre-shared-keys", "rsa-signatures": "RSA-signatures",
                  "ecdsa-signatures-256": "ECDSA-signatures-256", "ecdsa-signatures-384": "ECDSA-signatures-384",
                  "dsa-signatures": "DSA-signatures"}


def _method_display(gw, sa) -> str:
    """Junos prints the configured authentication-method of the proposal in use."""
    if gw is not None and sa.algs is not None:
        for p in gw.intent.policy.proposals:
            if gw.lifetime_key(p) == sa.algs:
                return _JUNOS_METHODS.get(p.authentication_method, p.authentication_method)
        if gw.intent.policy.proposals:
            method = gw.intent.policy.proposals[0].authentication_method
            return _JUNOS_METHODS.get(method, method)
    return auth.METHOD_DISPLAY.get(sa.local_auth_method or sa.remote_auth_method, "Pre-shared-keys")


def snapshot_child(engine: Engine, sa: IkeSa, c: ChildSaState, now: float) -> ChildSaSnapshot:
    vpn = c.vpn
    encap = c.encap
    state = {sastate.CHILD_INSTALLED: "up", sastate.CHILD_REKEYING: "rekeying", sastate.CHILD_REKEYED: "rekeyed",
             sastate.CHILD_DELETING: "deleting"}.get(c.state, c.state.lower())
    return ChildSaSnapshot(
        tunnel_index=vpn.tunnel_index,
        vpn_name=vpn.name,
        gateway=sa.gateway.name if sa.gateway else "",
        ike_sa_index=sa.index,
        state=state,
        spi_in=c.spi_in,
        spi_out=c.spi_out,
        protocol="ESP",
        encryption_algorithm=c.algorithms.junos_name,
        esn=c.algorithms.esn,
        icv_length=c.algorithms.icv_length,
        local_address=str(sa.local_addr),
        remote_address=str(sa.remote_addr),
        local_port=encap.source_port if encap else None,
        remote_port=encap.destination_port if encap else None,
        encapsulation=encap.kind if encap else None,
        local_ts=tuple(str(n) for n in selectors.to_networks(c.local_ts)),
        remote_ts=tuple(str(n) for n in selectors.to_networks(c.remote_ts)),
        lifetime_seconds=c.lifetime,
        lifetime_remaining=_remaining(c.expire_at, now) or 0,
        soft_lifetime_remaining=_remaining(c.rekey_at, now),
        lifetime_kilobytes=c.lifetime_bytes // 1024 if c.lifetime_bytes else None,
        pfs_group=c.pfs_group,
        role="initiator" if c.initiator else "responder",
        created_at=c.created_at,
        rekeys=c.rekeys,
        bind_interface=vpn.intent.bind_interface,
        anti_replay_window=vpn.intent.anti_replay_window,
        df_bit=vpn.intent.df_bit,
        tunnel_mtu=vpn.intent.tunnel_mtu,
    )


def group_name(group: int) -> str:
    return dh.GROUP_NAMES.get(group, str(group))
