"""Liveness checks (RFC 7296 §2.4): an empty INFORMATIONAL request, retransmitted every DPD interval up to
the threshold; no answer means the peer is dead (the engine then deletes the SAs and re-initiates)."""

from __future__ import annotations

from .. import message as m
from .base import NEED_MORE, SUCCESS, Task


class IkeDpd(Task):
    exchange = m.INFORMATIONAL
    name = "ike_dpd"

    def build_i(self, sa, exchange, payloads):
        if not sa.is_up:
            return SUCCESS
        sa.counters.dpd_sent += 1
        sa.dpd_outstanding = True
        self.retransmit_interval = sa.gateway.dpd.interval if sa.gateway.dpd else None
        self.retransmit_tries = max(sa.gateway.dpd.threshold - 1, 0) if sa.gateway.dpd else None
        return NEED_MORE

    def process_i(self, sa, msg):
        sa.counters.dpd_responses_received += 1
        sa.dpd_outstanding = False
        return SUCCESS

    def on_abort(self, sa):
        sa.dpd_outstanding = False


class IkeDpdResponder(Task):
    name = "ike_dpd_r"

    def process_r(self, sa, msg):
        sa.counters.dpd_received += 1
        return NEED_MORE

    def build_r(self, sa, msg, payloads):
        sa.counters.dpd_responses_sent += 1
        return SUCCESS
