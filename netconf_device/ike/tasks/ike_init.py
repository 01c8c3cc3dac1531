"""IKE_SA_INIT: proposals, key exchange and nonces, COOKIE and INVALID_KE_PAYLOAD handling, fragmentation
support announcement; derives the IKE SA keys (RFC 7296 §1.2, §2.6, §2.7, §2.14; RFC 7383 §2.3)."""

from __future__ import annotations

import os

from .. import message as m
from .. import proposals
from ..crypto import Integrity, Prf, derive_ike_keys
from ..dh import KeyExchange, KeyExchangeError
from ..proposals import IkeAlgorithms, ProposalError
from .base import FAILED, NEED_MORE, RETRY, SUCCESS, Task

MAX_INIT_RETRIES = 3


class IkeInit(Task):
    exchange = m.IKE_SA_INIT
    name = "ike_init"

    def __init__(self, engine):
        super().__init__(engine)
        self.chosen: m.Proposal | None = None

    # ------------------------------------------------------------------------------------------ initiator
    def build_i(self, sa, exchange, payloads):
        if exchange != m.IKE_SA_INIT:
            return SUCCESS
        gw = sa.gateway
        if sa.dh_group is None:
            sa.dh_group = gw.dh_groups[0]
        if sa.dh is None or sa.dh.group != sa.dh_group:
            sa.dh = KeyExchange(sa.dh_group)
        if not sa.ni:
            sa.ni = os.urandom(self.engine.options.nonce_length)
        if sa.cookie is not None:
            payloads.append(m.NotifyPayload(m.N_COOKIE, sa.cookie))
        payloads.append(m.SaPayload(gw.offer_proposals))
        payloads.append(m.KePayload(sa.dh_group, sa.dh.public))
        payloads.append(m.NoncePayload(sa.ni))
        if gw.intent.fragmentation:
            payloads.append(m.NotifyPayload(m.N_IKEV2_FRAGMENTATION_SUPPORTED))
        return NEED_MORE

    def process_i(self, sa, msg):
        if msg.exchange != m.IKE_SA_INIT:
            return SUCCESS
        cookie = msg.notify(m.N_COOKIE)
        if cookie is not None:
            if sa.init_retries >= MAX_INIT_RETRIES or not 1 <= len(cookie.data) <= 64:
                sa.failure = "too many COOKIE requests"
                return FAILED
            sa.init_retries += 1
            sa.cookie = cookie.data
            return RETRY
        invalid_ke = msg.notify(m.N_INVALID_KE_PAYLOAD)
        if invalid_ke is not None:
            group = int.from_bytes(invalid_ke.data[:2], "big") if len(invalid_ke.data) >= 2 else 0
            if sa.init_retries >= MAX_INIT_RETRIES or group not in sa.gateway.dh_groups or group == sa.dh_group:
                sa.failure = "INVALID_KE_PAYLOAD for a group we do not offer"
                return FAILED
            sa.init_retries += 1
            sa.dh_group = group
            sa.dh = None
            return RETRY
        err = msg.error_notify()
        if err is not None:
            sa.failure = m.NOTIFY_NAMES.get(err.notify_type, f"notify {err.notify_type}")
            return FAILED
        sa_p, ke, nonce = msg.get(m.PT_SA), msg.get(m.PT_KE), msg.get(m.PT_NONCE)
        if sa_p is None or ke is None or nonce is None or msg.spi_r == b"\x00" * 8:
            sa.failure = "IKE_SA_INIT response incomplete"
            return FAILED
        if len(sa_p.proposals) != 1:
            sa.failure = "responder returned more than one proposal"
            return FAILED
        chosen = proposals.select(sa_p.proposals, sa.gateway.offer_proposals, m.PROTO_IKE)
        if chosen is None or len(chosen.transforms) != len(sa_p.proposals[0].transforms):
            sa.failure = "responder chose a proposal we did not offer"
            return FAILED
        try:
            algs = IkeAlgorithms.from_proposal(chosen)
        except ProposalError as exc:
            sa.failure = str(exc)
            return FAILED
        if algs.dh_group != sa.dh_group or ke.group != sa.dh_group:
            sa.failure = "responder's KE group does not match"
            return FAILED
        sa.spi_r = msg.spi_r
        sa.nr = nonce.data
        sa.init_response = msg.raw
        sa.peer_frag = msg.notify(m.N_IKEV2_FRAGMENTATION_SUPPORTED) is not None and sa.gateway.intent.fragmentation
        try:
            shared = sa.dh.shared_secret(ke.data)
        except KeyExchangeError as exc:
            sa.failure = f"invalid KE from responder: {exc}"
            return FAILED
        self._derive(sa, algs, shared)
        return SUCCESS

    # ------------------------------------------------------------------------------------------ responder
    def process_r(self, sa, msg):
        if msg.exchange != m.IKE_SA_INIT:
            return SUCCESS
        engine = self.engine
        sa_p, ke, nonce = msg.get(m.PT_SA), msg.get(m.PT_KE), msg.get(m.PT_NONCE)
        if sa_p is None or ke is None or nonce is None:
            sa.stateless_reply = [m.NotifyPayload(m.N_INVALID_SYNTAX)]
            return FAILED
        if engine.cookie_required():
            # too many half-open SAs: only an initiator that can receive at its address gets state
            expected = engine.make_cookie(nonce.data, sa.remote_addr, msg.spi_i)
            offered = msg.notify(m.N_COOKIE)
            if offered is None or not engine.cookie_matches(offered.data, expected):
                sa.stateless_reply = [m.NotifyPayload(m.N_COOKIE, expected)]
                return FAILED
        gw = sa.gateway
        chosen = proposals.select(sa_p.proposals, gw.accept_proposals, m.PROTO_IKE)
        if chosen is None:
            sa.failure = "NO_PROPOSAL_CHOSEN"
            engine.note_gateway_failure(gw, "NO_PROPOSAL_CHOSEN (IKE proposals do not match)")
            sa.stateless_reply = [m.NotifyPayload(m.N_NO_PROPOSAL_CHOSEN)]
            return FAILED
        algs = IkeAlgorithms.from_proposal(chosen)
        if ke.group != algs.dh_group:
            sa.stateless_reply = [m.NotifyPayload(m.N_INVALID_KE_PAYLOAD, algs.dh_group.to_bytes(2, "big"))]
            return FAILED
        try:
            sa.dh = KeyExchange(algs.dh_group)
            shared = sa.dh.shared_secret(ke.data)
        except KeyExchangeError:
            sa.stateless_reply = [m.NotifyPayload(m.N_INVALID_SYNTAX)]
            return FAILED
        sa.dh_group = algs.dh_group
        sa.ni = nonce.data
        sa.nr = os.urandom(engine.options.nonce_length)
        sa.init_request = msg.raw
        sa.peer_frag = msg.notify(m.N_IKEV2_FRAGMENTATION_SUPPORTED) is not None and gw.intent.fragmentation
        self.chosen = m.Proposal(chosen.num, m.PROTO_IKE, b"", chosen.transforms)
        self.public = sa.dh.public
        self._derive(sa, algs, shared)
        return SUCCESS

    def build_r(self, sa, msg, payloads):
        if msg.exchange != m.IKE_SA_INIT or self.chosen is None:
            return SUCCESS
        payloads.append(m.SaPayload([self.chosen]))
        payloads.append(m.KePayload(sa.dh_group, self.public))
        payloads.append(m.NoncePayload(sa.nr))
        if sa.peer_frag:
            payloads.append(m.NotifyPayload(m.N_IKEV2_FRAGMENTATION_SUPPORTED))
        return SUCCESS

    # ------------------------------------------------------------------------------------------ keys
    @staticmethod
    def _derive(sa, algs: IkeAlgorithms, shared: bytes) -> None:
        prf = Prf(algs.prf)
        integ = Integrity(algs.integ) if algs.integ != m.INTEG_NONE else None
        keys = derive_ike_keys(prf, integ, algs.encr, algs.encr_bits, sa.ni, sa.nr, sa.spi_i, sa.spi_r, shared)
        sa.set_keys(algs, prf, keys)
        sa.dh = None  # the private value is not needed any more
