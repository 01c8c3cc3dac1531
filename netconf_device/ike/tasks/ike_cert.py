"""Certificates around authentication: SIGNATURE_HASH_ALGORITHMS in IKE_SA_INIT (RFC 7427 §4), CERTREQ for
our trusted CAs and our CERT in IKE_AUTH, and collecting the peer's CERT payloads for :mod:`.ike_auth`."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding

from .. import auth
from .. import message as m
from .base import NEED_MORE, SUCCESS, Task


class IkeCert(Task):
    exchange = m.IKE_SA_INIT
    name = "ike_cert"

    # ------------------------------------------------------------------------------------------ helpers
    @staticmethod
    def _collect(sa, msg) -> None:
        if msg.exchange == m.IKE_SA_INIT:
            sig = msg.notify(m.N_SIGNATURE_HASH_ALGORITHMS)
            if sig is not None:
                sa.peer_hashes = auth.parse_signature_hashes(sig.data)
            sa.peer_certreq = sa.peer_certreq or msg.get(m.PT_CERTREQ) is not None
        else:
            sa.peer_certs = [c.data for c in msg.get_all(m.PT_CERT) if c.encoding == m.CERT_X509_SIGNATURE][:8]
            sa.peer_certreq = sa.peer_certreq or msg.get(m.PT_CERTREQ) is not None

    @staticmethod
    def _add_cert(sa, payloads) -> None:
        for cert in sa.gateway.local_chain:
            payloads.append(m.CertPayload(m.CERT_X509_SIGNATURE, cert.public_bytes(Encoding.DER)))

    @staticmethod
    def _add_certreq(sa, payloads) -> None:
        gw = sa.gateway
        if gw.uses_certificates and gw.trusted_cas:
            payloads.append(m.CertReqPayload(m.CERT_X509_SIGNATURE, auth.certreq_data(gw.trusted_cas)))

    # ------------------------------------------------------------------------------------------ initiator
    def build_i(self, sa, exchange, payloads):
        if exchange == m.IKE_SA_INIT:
            payloads.append(auth.signature_hashes_payload())
            return NEED_MORE
        if exchange == m.IKE_AUTH:
            self._add_cert(sa, payloads)
            self._add_certreq(sa, payloads)
            return NEED_MORE
        return SUCCESS

    def process_i(self, sa, msg):
        self._collect(sa, msg)
        return NEED_MORE if msg.exchange == m.IKE_SA_INIT else SUCCESS

    # ------------------------------------------------------------------------------------------ responder
    def process_r(self, sa, msg):
        self._collect(sa, msg)
        return SUCCESS

    def build_r(self, sa, msg, payloads):
        if msg.exchange == m.IKE_SA_INIT:
            if sa.peer_hashes:
                payloads.append(auth.signature_hashes_payload())
            self._add_certreq(sa, payloads)
            return NEED_MORE
        if msg.exchange == m.IKE_AUTH and sa.fatal_notify is None:
            self._add_cert(sa, payloads)
        return SUCCESS
