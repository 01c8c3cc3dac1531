"""Rekeying a child SA with CREATE_CHILD_SA + REKEY_SA (RFC 7296 §1.3.3, §2.8), with PFS when the IPsec policy
has a group. The old SA is deleted once the new one is installed (make-before-break); collisions are decided
by :mod:`.collisions`."""

from __future__ import annotations

from .. import message as m
from .. import sa as sastate
from . import collisions
from .base import FAILED, NEED_MORE, SUCCESS
from .child_create import ChildCreate


class ChildRekey(ChildCreate):
    name = "child_rekey"

    def __init__(self, engine, old=None):
        super().__init__(engine, old.vpn if old else None, old.ts_index if old else 0)
        self.old = old
        self.collision = None  # the peer's concurrent rekey of the same child (the other task)

    # ------------------------------------------------------------------------------------------ initiator
    def traffic_selectors(self):
        return self.old.local_ts, self.old.remote_ts

    def build_i(self, sa, exchange, payloads):
        old = self.old
        if old is None or old.state != sastate.CHILD_INSTALLED or old.ike_sa is not sa or old.vpn.removed:
            return SUCCESS  # deleted or already replaced meanwhile: nothing to do
        old.state = sastate.CHILD_REKEYING
        self.vpn = old.vpn
        self.ts_index = old.ts_index
        sa.counters.child_rekey_requests_out += 1
        return super().build_i(sa, exchange, payloads)

    def extra_payloads(self, sa, exchange, payloads):
        payloads.append(m.NotifyPayload(m.N_REKEY_SA, b"", m.PROTO_ESP, self.old.spi_in.to_bytes(4, "big")))

    def process_i(self, sa, msg):
        old = self.old
        err = msg.error_notify()
        if err is not None:
            self.release()
            if old.state == sastate.CHILD_REKEYING:
                old.state = sastate.CHILD_INSTALLED
            if err.notify_type == m.N_TEMPORARY_FAILURE:
                self.engine.retry_child_rekey(old, temporary=True)
                return FAILED
            if err.notify_type == m.N_CHILD_SA_NOT_FOUND:
                # the peer no longer has it: drop ours too; the tunnel is re-created as configured
                self.engine.log.info("peer does not know child SA %08x any more", old.spi_in)
                self.engine.queue_child_delete(sa, [old])
                return FAILED
            self.error = m.NOTIFY_NAMES.get(err.notify_type, str(err.notify_type))
            self.engine.child_failed(sa, self, f"rekey failed: {self.error}")
            self.engine.retry_child_rekey(old, temporary=False)
            return FAILED
        status = super().process_i(sa, msg)
        if status != SUCCESS and old.state == sastate.CHILD_REKEYING:
            old.state = sastate.CHILD_INSTALLED
        return status

    def installed(self, sa):
        old = self.old
        self.child.rekeys = old.rekeys + 1
        sa.counters.ipsec_rekeys += 1
        sa.counters.child_rekey_responses_in += 1
        self.engine.install_child(sa, self.child, replaces_spi_in=old.spi_in)
        collisions.active_child_rekey_done(self.engine, sa, self)

    def on_abort(self, sa):
        super().on_abort(sa)
        if self.old is not None and self.old.state == sastate.CHILD_REKEYING:
            self.old.state = sastate.CHILD_INSTALLED


class ChildRekeyResponder(ChildCreate):
    """The passive side of a child rekey (a CREATE_CHILD_SA request with REKEY_SA)."""

    name = "child_rekey_r"

    def __init__(self, engine):
        super().__init__(engine)
        self.old = None
        self.collision = None
        self.refusal = 0

    def responder_vpns(self, sa):
        return [self.old.vpn]

    def process_r(self, sa, msg):
        rekey = msg.notify(m.N_REKEY_SA)
        spi = int.from_bytes(rekey.spi, "big") if rekey is not None and len(rekey.spi) == 4 else None
        self.old = sa.child_by_spi_out(spi) if spi is not None and rekey.protocol == m.PROTO_ESP else None
        sa.counters.child_rekey_requests_in += 1
        self.refusal = collisions.child_rekey_refusal(sa, self.old)
        if self.refusal:
            return NEED_MORE
        status = super().process_r(sa, msg)
        if self.match is not None and not self.match.error and self.old.state == sastate.CHILD_REKEYING:
            collisions.note_child_rekey(sa, self.old, self)
        return status

    def build_r(self, sa, msg, payloads):
        if self.refusal:
            payloads.append(m.NotifyPayload(self.refusal))
            return FAILED
        return super().build_r(sa, msg, payloads)

    def installed(self, sa):
        self.child.rekeys = self.old.rekeys + 1
        sa.counters.ipsec_rekeys += 1
        sa.counters.child_rekey_responses_out += 1
        self.engine.install_child(sa, self.child, replaces_spi_in=self.old.spi_in)
        collisions.passive_child_rekey_done(self.engine, sa, self)
