"""Engine settings that are not part of the Junos configuration (ports, timers, limits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class EngineOptions:
    # UDP ports we listen on and expect the peer on (500/4500, or custom for side-by-side tests)
    ike_port: int = 500
    natt_port: int = 4500
    remote_ike_port: int | None = None  # None: same as ike_port
    remote_natt_port: int | None = None  # None: same as natt_port
    # retransmission of requests: timeout * base**n, n = 0..tries
    retransmit_timeout: float = 2.0
    retransmit_base: float = 2.0
    retransmit_tries: int = 5
    # responder protection
    cookie_threshold: int = 1000  # half-open IKE SAs above which IKE_SA_INIT must carry a COOKIE
    half_open_limit: int = 20000  # hard bound on half-open SAs (further IKE_SA_INITs are dropped)
    half_open_timeout: float = 30.0
    max_ike_sas: int = 20000
    # at most this many IKE SAs we initiate may be negotiating at once; further gateways wait their turn
    # (thousands of simultaneous IKE_SA_INITs only cause retransmission storms)
    initiation_window: int = 500
    # rekeying: soft lifetime = lifetime * (rekey_fraction - random(0, rekey_jitter))
    rekey_fraction: float = 0.9
    rekey_jitter: float = 0.05
    # re-initiation after a failure or a dead peer: reinit_min * 2**n, capped
    reinit_min: float = 5.0
    reinit_max: float = 60.0
    # after TEMPORARY_FAILURE, retry a rekey after this many seconds (plus jitter)
    temporary_failure_retry: float = 2.0
    # IKE fragmentation (RFC 7383)
    max_fragments: int = 64
    max_reassembly_bytes: int = 65535
    # the nonce length we send
    nonce_length: int = 32
    # wall-clock time for certificate validity and tunnel event timestamps (the engine reads no clock itself)
    wall_clock: Callable[[], datetime] = field(default=_utc_now)
    # kinds of tunnel events kept per VPN, merged by kind with a count (show security ipsec
    # security-associations detail: "Tunnel events")
    tunnel_events: int = 10
    # source address for a gateway without local-address/external-interface (the daemon resolves it)
    local_address_for: Callable[[object], object | None] | None = None
    # deterministic tests may seed the jitter
    random_seed: int | None = None
    device_name: str = ""

    @property
    def peer_ike_port(self) -> int:
        return self.remote_ike_port if self.remote_ike_port is not None else self.ike_port

    @property
    def peer_natt_port(self) -> int:
        return self.remote_natt_port if self.remote_natt_port is not None else self.natt_port
