"""Sequence numbers: the inbound anti-replay window, ESN inference and the outbound counter's limits.

RFC 4303 section 3.4.3 and appendix A: a sliding window of ``size`` packets below the highest sequence
number authenticated so far (``top``); with extended sequence numbers only the low 32 bits travel, and
the high 32 bits are inferred from the window (appendix A2.2). The window is checked before decryption
(cheap rejection of duplicates) and moved only after the ICV verified (section 3.4.3).

Outbound, the counter must never cycle: a rekey is requested when it passes ``soft`` and packets are
dropped once it reaches the limit. Byte and packet lifetimes follow the same soft/hard pattern.
"""

from __future__ import annotations

from typing import Literal

SEQ32_LIMIT = (1 << 32) - 1
SEQ64_LIMIT = (1 << 64) - 1
#: The largest anti-replay window we accept (Junos allows up to 4096 on MX; bigger is harmless here).
MAX_WINDOW = 1 << 16
#: ESN inference still needs a window when anti-replay is off (RFC 4303 A2.2 assumes one): half the space.
ESN_INFERENCE_WINDOW = 1 << 31
#: Fraction of a lifetime after which a rekey is requested (strongSwan's default margin is about 10%).
SOFT_LIFETIME_FRACTION = 0.9


def sequence_limits(esn: bool) -> tuple[int, int]:
    """(hard limit, soft threshold) of an outbound sequence counter."""
    limit = SEQ64_LIMIT if esn else SEQ32_LIMIT
    # Ask for a rekey with 1/16 of the space left: ~268 million packets for 32-bit counters.
    return limit, limit - (limit >> 4)


class ReplayWindow:
    """Anti-replay state of one inbound SA. ``size`` 0 turns the check off (ESN inference still works)."""

    __slots__ = ("size", "esn", "top", "bitmap", "mask")

    def __init__(self, size: int, esn: bool) -> None:
        if not 0 <= size <= MAX_WINDOW:
            raise ValueError(f"anti-replay window {size} out of range 0..{MAX_WINDOW}")
        self.size = size
        self.esn = esn
        self.top = 0  # highest sequence number authenticated so far (64-bit with ESN)
        self.bitmap = 0  # bit i set: top - i was received
        self.mask = (1 << size) - 1 if size else 0

    def infer(self, seq_low: int) -> int:
        """The full sequence number of a packet carrying ``seq_low`` (RFC 4303 A2.2)."""
        if not self.esn:
            return seq_low
        window = self.size or ESN_INFERENCE_WINDOW
        top_high, top_low = self.top >> 32, self.top & 0xFFFFFFFF
        bottom = (top_low - window + 1) & 0xFFFFFFFF
        if top_low >= window - 1:  # case A: the window lies within one 2^32 subspace
            high = top_high if seq_low >= bottom else top_high + 1
        elif seq_low >= bottom:  # case B, the part of the window in the previous subspace
            # Before any wrap there is no previous subspace: the packet is simply ahead in subspace 0.
            high = top_high - 1 if top_high else 0
        else:
            high = top_high
        return min(high, SEQ32_LIMIT) << 32 | seq_low

    def check(self, seq: int) -> bool:
        """Whether ``seq`` may be accepted (not seen and not left of the window)."""
        if not self.size:
            return True
        if seq == 0:  # never sent (RFC 4303 3.3.3: the first packet has sequence number 1)
            return False
        top = self.top
        if seq > top:
            return True
        offset = top - seq
        return offset < self.size and not (self.bitmap >> offset) & 1

    def update(self, seq: int) -> None:
        """Record an authenticated ``seq`` (call only after the ICV verified)."""
        top = self.top
        if seq > top:
            shift = seq - top
            # Guard the shift: a jump of 2^40 must not build a 2^40-bit integer.
            self.bitmap = ((self.bitmap << shift) | 1) & self.mask if shift < self.size else 1
            self.top = seq
        elif self.size:
            self.bitmap |= 1 << (top - seq)


class Lifetime:
    """Soft/hard byte and packet lifetime of one SA direction. ``None`` limits mean unlimited."""

    __slots__ = ("bytes_hard", "bytes_soft", "packets_hard", "packets_soft", "bytes", "packets", "soft_fired")

    def __init__(self, bytes_limit: int | None, packets_limit: int | None) -> None:
        self.bytes_hard = bytes_limit
        self.packets_hard = packets_limit
        self.bytes_soft = int(bytes_limit * SOFT_LIFETIME_FRACTION) if bytes_limit else None
        self.packets_soft = int(packets_limit * SOFT_LIFETIME_FRACTION) if packets_limit else None
        self.bytes = 0
        self.packets = 0
        self.soft_fired = False

    @property
    def limited(self) -> bool:
        return self.bytes_hard is not None or self.packets_hard is not None

    def exceeded_by(self, packets: int, nbytes: int) -> Literal["bytes", "packets"] | None:
        """Which hard limit ``packets`` more packets of ``nbytes`` in total would pass, if any."""
        if self.packets_hard is not None and self.packets + packets > self.packets_hard:
            return "packets"
        if self.bytes_hard is not None and self.bytes + nbytes > self.bytes_hard:
            return "bytes"
        return None

    def consume(self, packets: int, nbytes: int) -> Literal["bytes", "packets"] | None:
        """Account traffic; returns the reason the first time a soft limit is crossed."""
        self.packets += packets
        self.bytes += nbytes
        if self.soft_fired:
            return None
        if self.packets_soft is not None and self.packets >= self.packets_soft:
            self.soft_fired = True
            return "packets"
        if self.bytes_soft is not None and self.bytes >= self.bytes_soft:
            self.soft_fired = True
            return "bytes"
        return None
