"""Creating a child SA: in IKE_AUTH (the first child, never with KE) or in CREATE_CHILD_SA (with PFS when the
IPsec policy has a group). Covers proposal selection, ESN negotiation, traffic-selector matching and narrowing
(RFC 7296 §1.3.1, §2.9, §2.17). The helpers here are shared with :mod:`.child_rekey`."""

from __future__ import annotations

import os

from .. import message as m
from .. import proposals, selectors
from ..crypto import derive_child_keys
from ..dh import KeyExchange, KeyExchangeError
from ..proposals import EspAlgorithms
from .base import FAILED, NEED_MORE, SUCCESS, Task


def offer_proposals(vpn, spi_in: int, exchange: int, pfs_group: int | None) -> list[m.Proposal]:
    pol = vpn.intent.ipsec_policy
    props = proposals.esp_proposals(pol.proposals, spi_in.to_bytes(4, "big"), pfs_group,
                                    vpn.intent.extended_sequence_number)
    return proposals.strip_dh(props) if exchange == m.IKE_AUTH else props


def accept_proposals(vpn, exchange: int) -> list[m.Proposal]:
    pol = vpn.intent.ipsec_policy
    pfs = vpn.pfs_group if exchange == m.CREATE_CHILD_SA else None
    return proposals.esp_proposals(pol.proposals, b"", pfs, vpn.intent.extended_sequence_number, accept=True)


def lifetime_for(vpn, algs: EspAlgorithms) -> tuple[int, int | None]:
    """The lifetime (seconds, kilobytes->bytes) of our proposal matching the negotiated algorithm."""
    for p in vpn.intent.ipsec_policy.proposals:
        if proposals.ESP_ENCRYPTION.get(p.encryption_algorithm, (None, None))[1] == algs.encr_bits:
            kb = p.lifetime_kilobytes
            return p.lifetime_seconds, kb * 1024 if kb else None
    first = vpn.intent.ipsec_policy.proposals[0]
    return first.lifetime_seconds, None


class ResponderMatch:
    __slots__ = ("vpn", "ts_index", "chosen", "remote_ts", "local_ts", "error")

    def __init__(self):
        self.vpn = None
        self.ts_index = 0
        self.chosen: m.Proposal | None = None
        self.remote_ts: list = []
        self.local_ts: list = []
        self.error = 0


def match_request(engine, sa, msg: m.Message, exchange: int, vpns) -> ResponderMatch:
    """Find the VPN and traffic-selector pair a peer's child request fits, and our proposal choice."""
    res = ResponderMatch()
    sa_p, tsi, tsr = msg.get(m.PT_SA), msg.get(m.PT_TSI), msg.get(m.PT_TSR)
    if sa_p is None or tsi is None or tsr is None:
        res.error = m.N_INVALID_SYNTAX
        return res
    ts_matched = False
    for vpn in vpns:
        if vpn.intent.ipsec_policy is None:
            continue
        for idx, (local, remote) in enumerate(vpn.ts_pairs):
            n_remote = selectors.narrow(tsi.selectors, remote)
            n_local = selectors.narrow(tsr.selectors, local)
            if not n_remote or not n_local:
                continue
            ts_matched = True
            chosen = proposals.select(sa_p.proposals, accept_proposals(vpn, exchange), m.PROTO_ESP,
                                      ignore_dh=exchange == m.IKE_AUTH)
            if chosen is None or len(chosen.spi) != 4:
                continue
            res.vpn, res.ts_index, res.chosen = vpn, idx, chosen
            res.remote_ts, res.local_ts = n_remote, n_local
            return res
    res.error = m.N_NO_PROPOSAL_CHOSEN if ts_matched else m.N_TS_UNACCEPTABLE
    return res


class ChildCreate(Task):
    exchange = m.CREATE_CHILD_SA
    name = "child_create"

    def __init__(self, engine, vpn=None, ts_index: int = 0, replaces_spi_in: int | None = None):
        super().__init__(engine)
        self.vpn = vpn
        self.ts_index = ts_index
        self.replaces_spi_in = replaces_spi_in  # reauthentication: the old child this one takes over
        self.spi_in = 0
        self.ni = b""
        self.nr = b""
        self.dh: KeyExchange | None = None
        self.offered: list[m.Proposal] = []
        self.local_ts: list = []
        self.remote_ts: list = []
        self.match: ResponderMatch | None = None
        self.child = None  # the ChildSaState created
        self.error = ""

    # ------------------------------------------------------------------------------------------ initiator
    def pfs_group(self, exchange: int) -> int | None:
        return self.vpn.pfs_group if exchange == m.CREATE_CHILD_SA else None

    def traffic_selectors(self) -> tuple[list, list]:
        return self.vpn.ts_pairs[self.ts_index]

    def build_i(self, sa, exchange, payloads):
        if exchange == m.IKE_SA_INIT:
            return NEED_MORE
        if self.vpn is None or self.vpn.removed:
            return SUCCESS
        engine = self.engine
        if not self.spi_in:
            self.spi_in = engine.allocate_child_spi()
        group = self.pfs_group(exchange)
        self.offered = offer_proposals(self.vpn, self.spi_in, exchange, group)
        self.extra_payloads(sa, exchange, payloads)
        payloads.append(m.SaPayload(self.offered))
        if exchange == m.CREATE_CHILD_SA:
            self.ni = os.urandom(engine.options.nonce_length)
            payloads.append(m.NoncePayload(self.ni))
            if group is not None:
                self.dh = KeyExchange(group)
                payloads.append(m.KePayload(group, self.dh.public))
        self.local_ts, self.remote_ts = self.traffic_selectors()
        payloads.append(m.TsPayload(m.PT_TSI, list(self.local_ts)))
        payloads.append(m.TsPayload(m.PT_TSR, list(self.remote_ts)))
        sa.counters.phase2_negotiations += 1
        return NEED_MORE

    def extra_payloads(self, sa, exchange, payloads) -> None:
        """Hook for child_rekey (the REKEY_SA notify)."""

    def process_i(self, sa, msg):
        if msg.exchange == m.IKE_SA_INIT:
            return NEED_MORE
        if self.vpn is None or not self.offered:
            return SUCCESS
        if not sa.is_up:
            return FAILED
        err = msg.error_notify()
        if err is not None:
            self.error = m.NOTIFY_NAMES.get(err.notify_type, f"notify {err.notify_type}")
            self.release()
            self.engine.child_failed(sa, self, self.error)
            return FAILED
        sa_p, tsi, tsr = msg.get(m.PT_SA), msg.get(m.PT_TSI), msg.get(m.PT_TSR)
        if sa_p is None or tsi is None or tsr is None:
            # a childless IKE_AUTH response: the peer did not create the child
            return self._fail(sa, "no child SA in response")
        if len(sa_p.proposals) != 1:
            return self._fail(sa, "responder returned more than one ESP proposal")
        theirs = sa_p.proposals[0]
        chosen = proposals.select([theirs], self.offered, m.PROTO_ESP, ignore_dh=msg.exchange == m.IKE_AUTH)
        if chosen is None or len(theirs.spi) != 4:
            return self._fail(sa, "responder chose an ESP proposal we did not offer")
        if not selectors.covers(self.local_ts, tsi.selectors) or not selectors.covers(self.remote_ts, tsr.selectors):
            return self._fail(sa, "responder widened the traffic selectors")
        algs = EspAlgorithms.from_proposal(chosen)
        shared = None
        if msg.exchange == m.CREATE_CHILD_SA:
            nonce = msg.get(m.PT_NONCE)
            if nonce is None:
                return self._fail(sa, "CREATE_CHILD_SA response without nonce")
            self.nr = nonce.data
            if self.dh is not None:
                ke = msg.get(m.PT_KE)
                if ke is None or ke.group != self.dh.group or algs.dh_group != self.dh.group:
                    return self._fail(sa, "PFS key exchange missing or with the wrong group")
                try:
                    shared = self.dh.shared_secret(ke.data)
                except KeyExchangeError as exc:
                    return self._fail(sa, f"invalid KE: {exc}")
            ni, nr = self.ni, self.nr
        else:
            ni, nr = sa.ni, sa.nr
        keys = derive_child_keys(sa.prf, sa.keys.sk_d, ni, nr, algs.encr, algs.encr_bits, 0, shared)
        self.child = self.engine.make_child(
            sa, self.vpn, self.ts_index, algs, spi_in=self.spi_in, spi_out=int.from_bytes(theirs.spi, "big"),
            key_in=keys.encr_r2i, key_out=keys.encr_i2r, local_ts=tsi.selectors, remote_ts=tsr.selectors,
            initiator=True, ni=ni, nr=nr, pfs_group=self.dh.group if self.dh else None)
        self.dh = None
        self.installed(sa)
        return SUCCESS

    def installed(self, sa) -> None:
        """Hook: the new child exists; child_create installs it, child_rekey also resolves collisions."""
        self.engine.install_child(sa, self.child, replaces_spi_in=self.replaces_spi_in)

    def _fail(self, sa, reason: str) -> int:
        self.error = reason
        self.release()
        self.engine.child_failed(sa, self, reason)
        return FAILED

    def release(self) -> None:
        """Give back the inbound SPI we reserved for a child that will not exist."""
        if self.spi_in and self.child is None:
            self.engine.release_child_spi(self.spi_in)

    def on_abort(self, sa) -> None:
        self.release()

    # ------------------------------------------------------------------------------------------ responder
    def responder_vpns(self, sa):
        return sa.gateway.vpns.values()

    def process_r(self, sa, msg):
        if msg.exchange == m.IKE_SA_INIT:
            return NEED_MORE
        if sa.fatal_notify is not None:
            return FAILED
        if msg.exchange == m.IKE_AUTH and msg.get(m.PT_SA) is None:
            return SUCCESS  # childless IKE_AUTH
        self.match = match_request(self.engine, sa, msg, msg.exchange, self.responder_vpns(sa))
        if self.match.error:
            return NEED_MORE
        if msg.exchange == m.CREATE_CHILD_SA:
            nonce = msg.get(m.PT_NONCE)
            if nonce is None:
                self.match.error = m.N_INVALID_SYNTAX
                return NEED_MORE
            self.ni = nonce.data
            algs = EspAlgorithms.from_proposal(self.match.chosen)
            if algs.dh_group is not None:
                ke = msg.get(m.PT_KE)
                if ke is None or ke.group != algs.dh_group:
                    self.match.error = m.N_INVALID_KE_PAYLOAD
                    return NEED_MORE
                try:
                    self.dh = KeyExchange(algs.dh_group)
                    self.shared = self.dh.shared_secret(ke.data)
                except KeyExchangeError:
                    self.match.error = m.N_INVALID_SYNTAX
                    return NEED_MORE
        return NEED_MORE

    def build_r(self, sa, msg, payloads):
        if msg.exchange == m.IKE_SA_INIT:
            return NEED_MORE
        match = self.match
        if match is None or sa.fatal_notify is not None or not sa.is_up:
            return SUCCESS
        if match.error:
            data = b""
            if match.error == m.N_INVALID_KE_PAYLOAD and match.chosen is not None:
                data = EspAlgorithms.from_proposal(match.chosen).dh_group.to_bytes(2, "big")
            payloads.append(m.NotifyPayload(match.error, data))
            name = m.NOTIFY_NAMES.get(match.error, str(match.error))
            self.error = name
            self.engine.note_gateway_failure(sa.gateway, f"{name} (child SA request from peer)", "IPSec SA")
            return FAILED
        engine = self.engine
        self.vpn = match.vpn
        self.ts_index = match.ts_index
        self.spi_in = engine.allocate_child_spi()
        algs = EspAlgorithms.from_proposal(match.chosen)
        chosen = m.Proposal(match.chosen.num, m.PROTO_ESP, self.spi_in.to_bytes(4, "big"), match.chosen.transforms)
        self.extra_response_payloads(sa, payloads)
        payloads.append(m.SaPayload([chosen]))
        shared = None
        if msg.exchange == m.CREATE_CHILD_SA:
            self.nr = os.urandom(engine.options.nonce_length)
            payloads.append(m.NoncePayload(self.nr))
            if self.dh is not None:
                payloads.append(m.KePayload(self.dh.group, self.dh.public))
                shared = self.shared
            ni, nr = self.ni, self.nr
        else:
            ni, nr = sa.ni, sa.nr
        payloads.append(m.TsPayload(m.PT_TSI, match.remote_ts))
        payloads.append(m.TsPayload(m.PT_TSR, match.local_ts))
        keys = derive_child_keys(sa.prf, sa.keys.sk_d, ni, nr, algs.encr, algs.encr_bits, 0, shared)
        self.child = engine.make_child(
            sa, self.vpn, self.ts_index, algs, spi_in=self.spi_in,
            spi_out=int.from_bytes(match.chosen.spi, "big"), key_in=keys.encr_i2r, key_out=keys.encr_r2i,
            local_ts=match.local_ts, remote_ts=match.remote_ts, initiator=False, ni=ni, nr=nr,
            pfs_group=self.dh.group if self.dh else None)
        self.dh = None
        sa.counters.phase2_negotiations += 1
        self.installed(sa)
        return SUCCESS

    def extra_response_payloads(self, sa, payloads) -> None:
        """Hook for child_rekey."""
