"""Rekeying the IKE SA with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18): a new IKE SA with fresh SPIs, nonces and
D-H, keys from the old SK_d; the children move to the new SA and the old one is deleted. Collisions are decided
by :mod:`.collisions`."""

from __future__ import annotations

import os

from .. import message as m
from .. import proposals
from .. import sa as sastate
from ..dh import KeyExchange, KeyExchangeError
from ..proposals import IkeAlgorithms, ProposalError
from . import collisions
from .base import FAILED, NEED_MORE, RETRY, SUCCESS, Task


class IkeRekey(Task):
    exchange = m.CREATE_CHILD_SA
    name = "ike_rekey"

    def __init__(self, engine):
        super().__init__(engine)
        self.new_spi = b""
        self.group: int | None = None
        self.dh: KeyExchange | None = None
        self.ni = b""
        self.nr = b""
        self.offered: list[m.Proposal] = []
        self.retries = 0
        # responder side
        self.refusal = 0
        self.chosen: m.Proposal | None = None
        self.shared = b""
        self.peer_spi = b""

    # ------------------------------------------------------------------------------------------ initiator
    def build_i(self, sa, exchange, payloads):
        if sa.state not in (sastate.ESTABLISHED, sastate.REKEYING) or (sa.state == sastate.REKEYING
                                                                         and not self.retries):
            return SUCCESS  # replaced or going away meanwhile
        engine = self.engine
        gw = sa.gateway
        if not self.new_spi:
            self.new_spi = engine.allocate_ike_spi()
        self.group = self.group or sa.dh_group or gw.dh_groups[0]
        self.dh = KeyExchange(self.group)
        self.ni = os.urandom(engine.options.nonce_length)
        self.offered = proposals.ike_proposals(gw.intent.policy.proposals, self.new_spi)
        payloads.append(m.SaPayload(self.offered))
        payloads.append(m.NoncePayload(self.ni))
        payloads.append(m.KePayload(self.group, self.dh.public))
        sa.state = sastate.REKEYING
        return NEED_MORE

    def process_i(self, sa, msg):
        engine = self.engine
        err = msg.error_notify()
        if err is not None:
            if err.notify_type == m.N_INVALID_KE_PAYLOAD and self.retries < 2 and len(err.data) >= 2:
                group = int.from_bytes(err.data[:2], "big")
                if group in sa.gateway.dh_groups and group != self.group:
                    self.group = group
                    self.retries += 1
                    return RETRY
            collisions.active_ike_rekey_failed(engine, sa)
            if err.notify_type == m.N_TEMPORARY_FAILURE:
                engine.retry_ike_rekey(sa, temporary=True)
            else:
                engine.log.warning("IKE SA #%d rekey failed: %s", sa.index,
                                   m.NOTIFY_NAMES.get(err.notify_type, err.notify_type))
                engine.retry_ike_rekey(sa, temporary=False)
            return FAILED
        sa_p, nonce, ke = msg.get(m.PT_SA), msg.get(m.PT_NONCE), msg.get(m.PT_KE)
        reason = ""
        if sa_p is None or nonce is None or ke is None or len(sa_p.proposals) != 1:
            reason = "incomplete IKE rekey response"
        else:
            theirs = sa_p.proposals[0]
            chosen = proposals.select([theirs], self.offered, m.PROTO_IKE)
            try:
                algs = IkeAlgorithms.from_proposal(chosen) if chosen else None
            except ProposalError:
                algs = None
            if algs is None or len(theirs.spi) != 8 or algs.dh_group != self.group or ke.group != self.group:
                reason = "unacceptable IKE rekey response"
            else:
                try:
                    shared = self.dh.shared_secret(ke.data)
                except KeyExchangeError:
                    reason = "invalid KE in IKE rekey response"
        if reason:
            engine.log.warning("IKE SA #%d: %s", sa.index, reason)
            collisions.active_ike_rekey_failed(engine, sa)
            engine.retry_ike_rekey(sa, temporary=False)
            return FAILED
        self.nr = nonce.data
        new_sa = engine.rekeyed_ike_sa(sa, initiator=True, spi_i=self.new_spi, spi_r=theirs.spi, algs=algs,
                                       ni=self.ni, nr=self.nr, shared=shared)
        self.dh = None
        collisions.active_ike_rekey_done(engine, sa, self, new_sa)
        return SUCCESS

    def on_abort(self, sa):
        if sa.state == sastate.REKEYING:
            sa.state = sastate.ESTABLISHED


class IkeRekeyResponder(IkeRekey):
    name = "ike_rekey_r"

    def process_r(self, sa, msg):
        self.refusal = collisions.ike_rekey_refusal(sa)
        if self.refusal:
            return NEED_MORE
        sa_p, nonce, ke = msg.get(m.PT_SA), msg.get(m.PT_NONCE), msg.get(m.PT_KE)
        if nonce is None or ke is None:
            self.refusal = m.N_INVALID_SYNTAX
            return NEED_MORE
        chosen = proposals.select(sa_p.proposals, sa.gateway.accept_proposals, m.PROTO_IKE)
        if chosen is None or len(chosen.spi) != 8:
            self.refusal = m.N_NO_PROPOSAL_CHOSEN
            return NEED_MORE
        algs = IkeAlgorithms.from_proposal(chosen)
        if ke.group != algs.dh_group:
            self.refusal = m.N_INVALID_KE_PAYLOAD
            self.group = algs.dh_group
            return NEED_MORE
        try:
            self.dh = KeyExchange(algs.dh_group)
            self.shared = self.dh.shared_secret(ke.data)
        except KeyExchangeError:
            self.refusal = m.N_INVALID_SYNTAX
            return NEED_MORE
        self.chosen = chosen
        self.algs = algs
        self.peer_spi = chosen.spi
        self.ni = nonce.data
        return NEED_MORE

    def build_r(self, sa, msg, payloads):
        if self.refusal:
            data = self.group.to_bytes(2, "big") if self.refusal == m.N_INVALID_KE_PAYLOAD else b""
            payloads.append(m.NotifyPayload(self.refusal, data))
            return FAILED
        engine = self.engine
        self.new_spi = engine.allocate_ike_spi()
        self.nr = os.urandom(engine.options.nonce_length)
        payloads.append(m.SaPayload([m.Proposal(self.chosen.num, m.PROTO_IKE, self.new_spi,
                                                self.chosen.transforms)]))
        payloads.append(m.NoncePayload(self.nr))
        payloads.append(m.KePayload(self.dh.group, self.dh.public))
        new_sa = engine.rekeyed_ike_sa(sa, initiator=False, spi_i=self.peer_spi, spi_r=self.new_spi,
                                       algs=self.algs, ni=self.ni, nr=self.nr, shared=self.shared)
        self.dh = None
        if not collisions.note_ike_rekey(sa, new_sa):
            engine.adopt(sa, new_sa)  # the peer deletes the old SA
        return SUCCESS
