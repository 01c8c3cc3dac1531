"""Which unauthenticated SSH connections the device keeps: OpenSSH's MaxStartups, plus eviction of idle ones.

A TCP connection that never speaks holds its slot until the login timeout (30 s). With one plain bound on
connections, 144 such connections (the bound) stopped every login for that long. Here unauthenticated
connections are counted apart from the established ones (those are bounded by ``max_sessions``) and admitted
by :class:`StartupGate`:

* **per source** (peer address) at most ``per_source`` pending connections;
* from ``start`` pending connections on, a new one is refused with a probability that grows from ``rate``
  percent to 100 % at ``full`` (OpenSSH ``MaxStartups start:rate:full``: random early drop, which spreads a
  storm of handshakes instead of letting it use the device's one event loop);
* but before anything is refused, a connection that has made no progress for ``grace`` seconds (no key
  exchange finished, no authentication attempt) is closed to make room: the oldest one of the source that
  holds the most. An idle flood therefore only recycles its own slots, and a client that logs in (which
  takes milliseconds of progress after each step) gets through; only a sustained rate of more than
  ``full`` new connections per ``grace`` seconds from many sources can still crowd logins out.

The gate is sans-IO: it takes the time and a connection key and answers what to admit and whom to close.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger("netconf_device.netconf")


@dataclass(frozen=True)
class MaxStartups:
    """``start:rate:full`` as OpenSSH's ``MaxStartups``; ``start == full`` means no random early drop."""

    start: int = 128
    rate: int = 30
    full: int = 256

    def __post_init__(self) -> None:
        if not (1 <= self.start <= self.full and 0 <= self.rate <= 100):
            raise ValueError(f"max-startups {self}: needs 1 <= start <= full and 0 <= rate <= 100")

    @classmethod
    def parse(cls, text: str) -> MaxStartups:
        """``"10:30:100"`` (OpenSSH's form) or ``"100"`` (a plain bound)."""
        parts = text.split(":")
        try:
            if len(parts) == 1:
                full = int(parts[0])
                return cls(full, 100, full)
            if len(parts) == 3:
                return cls(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            pass
        raise ValueError(f"max-startups must be START:RATE:FULL or a number, not {text!r}")

    def __str__(self) -> str:
        return f"{self.start}:{self.rate}:{self.full}"

    def drop_probability(self, pending: int) -> float:
        """Chance of refusing a new connection while ``pending`` are unauthenticated."""
        if pending < self.start:
            return 0.0
        if pending >= self.full:
            return 1.0
        return (self.rate + (100 - self.rate) * (pending - self.start) / (self.full - self.start)) / 100


@dataclass
class _Pending:
    source: str
    last_progress: float


@dataclass
class StartupCounters:
    admitted: int = 0
    evicted: int = 0  # idle connections closed to make room
    refused_per_source: int = 0
    refused_early: int = 0  # random early drop, or full


@dataclass
class StartupGate:
    limits: MaxStartups = field(default_factory=MaxStartups)
    per_source: int = 128
    grace: float = 1.0
    random: Callable[[], float] = random.random
    counters: StartupCounters = field(default_factory=StartupCounters)

    def __post_init__(self) -> None:
        if self.per_source < 1:
            raise ValueError("per-source-max-startups must be at least 1")
        self._pending: dict[Hashable, _Pending] = {}
        self._by_source: dict[str, int] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_from(self, source: str) -> int:
        return self._by_source.get(source, 0)

    def admit(self, key: Hashable, source: str, now: float) -> tuple[bool, list[Hashable]]:
        """Whether to keep the new connection ``key`` from ``source``, and the idle connections to close
        (already forgotten here) to make room for it."""
        evict: list[Hashable] = []
        if self.pending_from(source) >= self.per_source:
            victim = self._idle_victim(now, only_source=source)
            if victim is None:
                self.counters.refused_per_source += 1
                return False, evict
            evict.append(victim)
        elif self.pending >= self.limits.start:
            victim = self._idle_victim(now)
            if victim is not None:
                evict.append(victim)
            elif self.random() < self.limits.drop_probability(self.pending):
                self.counters.refused_early += 1
                return False, evict
        for victim in evict:
            self.leave(victim)
            self.counters.evicted += 1
        self._pending[key] = _Pending(source, now)
        self._by_source[source] = self.pending_from(source) + 1
        self.counters.admitted += 1
        return True, evict

    def progress(self, key: Hashable, now: float) -> None:
        """The connection did something a login needs (key exchange done, an authentication attempt)."""
        entry = self._pending.get(key)
        if entry is not None:
            entry.last_progress = now

    def leave(self, key: Hashable) -> None:
        """The connection authenticated or closed (idempotent)."""
        entry = self._pending.pop(key, None)
        if entry is None:
            return
        left = self._by_source[entry.source] - 1
        if left:
            self._by_source[entry.source] = left
        else:
            del self._by_source[entry.source]

    def _idle_victim(self, now: float, only_source: str | None = None) -> Hashable | None:
        """The idle connection to close: of ``only_source``, or of the source that holds the most pending
        connections; the one idle for longest. None when no connection has been idle for ``grace``."""
        best: tuple[int, float] | None = None
        victim = None
        for key, entry in self._pending.items():
            if only_source is not None and entry.source != only_source:
                continue
            if now - entry.last_progress < self.grace:
                continue
            rank = (self._by_source[entry.source], -entry.last_progress)
            if best is None or rank > best:
                best, victim = rank, key
        return victim
