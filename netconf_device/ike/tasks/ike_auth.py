"""IKE_AUTH: identities and the AUTH payload (PSK or signatures), the peer's certificate chain and its
remote-identity check; on success the IKE SA is established (RFC 7296 §1.2, §2.15)."""

from __future__ import annotations

from .. import auth
from .. import message as m
from ..auth import AuthError, Identity
from .base import FAILED, NEED_MORE, SUCCESS, Task


def verify_peer(engine, sa, gw, peer: Identity, authp: m.AuthPayload, octets: bytes) -> None:
    """Check the peer's AUTH against gateway ``gw``'s policy; raises AuthError with a reason."""
    if gw.uses_psk:
        if authp.method != m.AUTH_PSK:
            raise AuthError("peer authenticated with a signature, pre-shared key configured")
        if gw.psk is None or not auth.verify_psk(sa.prf, gw.psk, octets, authp.data):
            raise AuthError("pre-shared key mismatch")
        sa.peer_cert = None
    else:
        if authp.method == m.AUTH_PSK:
            raise AuthError("peer authenticated with a pre-shared key, certificates configured")
        if not sa.peer_certs:
            raise AuthError("peer sent no certificate")
        try:
            certs = [auth.load_certificate(d) for d in sa.peer_certs]
        except ValueError as exc:
            raise AuthError(f"unparsable peer certificate: {exc}") from exc
        end = certs[0]
        auth.validate_chain(end, certs[1:], gw.trusted_cas, engine.options.wall_clock())
        if not auth.identity_matches_cert(peer, end):
            raise AuthError(f"peer ID {peer.display()} does not match its certificate")
        auth.verify_signature(end.public_key(), authp.method, authp.data, octets)
        sa.peer_cert = end
    if not auth.remote_identity_ok(gw.intent.remote_identity, peer, sa.peer_cert):
        raise AuthError(f"peer ID {peer.display()} does not match the configured remote-identity")
    sa.remote_auth_method = authp.method


def local_auth(sa, gw, octets: bytes) -> m.AuthPayload:
    if gw.uses_psk:
        if gw.psk is None:
            raise AuthError("no pre-shared key configured")
        sa.local_auth_method = m.AUTH_PSK
        return m.AuthPayload(m.AUTH_PSK, auth.psk_auth(sa.prf, gw.psk, octets))
    if gw.local_key is None:
        raise AuthError("no local certificate/key configured for signature authentication")
    method, data = auth.sign(gw.local_key, octets, sa.peer_hashes or None)
    sa.local_auth_method = method
    return m.AuthPayload(method, data)


class IkeAuth(Task):
    exchange = m.IKE_SA_INIT
    name = "ike_auth"

    # ------------------------------------------------------------------------------------------ initiator
    def build_i(self, sa, exchange, payloads):
        if exchange == m.IKE_SA_INIT:
            return NEED_MORE
        if exchange != m.IKE_AUTH:
            return SUCCESS
        gw = sa.gateway
        if sa.send_initial_contact and any(s is not sa and s.state != "DESTROYED" for s in gw.sas):
            sa.send_initial_contact = False  # the peer initiated meanwhile
        sa.local_id = auth.local_identity(gw.intent.local_identity, sa.local_addr, gw.local_cert)
        payloads.append(sa.local_id.payload(m.PT_IDI))
        wanted = auth.configured_remote_identity(gw.intent.remote_identity)
        if wanted is not None:
            payloads.append(wanted.payload(m.PT_IDR))
        octets = auth.signed_octets(sa.init_request, sa.nr, sa.prf, sa.keys.sk_pi, sa.local_id)
        try:
            payloads.append(local_auth(sa, gw, octets))
        except AuthError as exc:
            sa.failure = str(exc)
            return FAILED
        if sa.send_initial_contact:
            payloads.append(m.NotifyPayload(m.N_INITIAL_CONTACT))
        return NEED_MORE

    def process_i(self, sa, msg):
        if msg.exchange == m.IKE_SA_INIT:
            return NEED_MORE
        idr, authp = msg.get(m.PT_IDR), msg.get(m.PT_AUTH)
        if idr is None or authp is None:
            err = msg.error_notify()
            sa.failure = m.NOTIFY_NAMES.get(err.notify_type, str(err.notify_type)) if err else \
                "IKE_AUTH response without IDr/AUTH"
            return FAILED
        peer = Identity.from_payload(idr)
        octets = auth.signed_octets(sa.init_response, sa.ni, sa.prf, sa.keys.sk_pr, peer)
        try:
            verify_peer(self.engine, sa, sa.gateway, peer, authp, octets)
        except AuthError as exc:
            sa.failure = f"AUTHENTICATION_FAILED: {exc}"
            sa.counters.auth_failures += 1
            # the responder considers the SA up: tell it in an INFORMATIONAL (RFC 7296 §2.21.2)
            sa.tell_peer = m.NotifyPayload(m.N_AUTHENTICATION_FAILED)
            return FAILED
        sa.remote_id = peer
        self.engine.ike_established(sa)
        return SUCCESS

    # ------------------------------------------------------------------------------------------ responder
    def process_r(self, sa, msg):
        if msg.exchange != m.IKE_AUTH:
            return NEED_MORE
        idi, authp = msg.get(m.PT_IDI), msg.get(m.PT_AUTH)
        if idi is None or authp is None:
            sa.fatal_notify = m.NotifyPayload(m.N_AUTHENTICATION_FAILED)
            sa.failure = "IKE_AUTH request without IDi/AUTH (EAP is not supported)"
            return FAILED
        peer = Identity.from_payload(idi)
        octets = auth.signed_octets(sa.init_request, sa.nr, sa.prf, sa.keys.sk_pi, peer)
        reasons = []
        for gw in [sa.gateway] + [g for g in sa.candidates if g is not sa.gateway]:
            try:
                verify_peer(self.engine, sa, gw, peer, authp, octets)
            except AuthError as exc:
                reasons.append(str(exc))
                continue
            self.engine.switch_gateway(sa, gw)
            sa.remote_id = peer
            sa.initial_contact = msg.notify(m.N_INITIAL_CONTACT) is not None
            return NEED_MORE
        sa.fatal_notify = m.NotifyPayload(m.N_AUTHENTICATION_FAILED)
        sa.failure = f"AUTHENTICATION_FAILED: {reasons[0] if reasons else 'no gateway'}"
        sa.counters.auth_failures += 1
        self.engine.note_gateway_failure(sa.gateway, sa.failure)
        return FAILED

    def build_r(self, sa, msg, payloads):
        if msg.exchange != m.IKE_AUTH:
            return NEED_MORE
        if sa.fatal_notify is not None:
            return FAILED
        gw = sa.gateway
        sa.local_id = auth.local_identity(gw.intent.local_identity, sa.local_addr, gw.local_cert)
        payloads.append(sa.local_id.payload(m.PT_IDR))
        octets = auth.signed_octets(sa.init_response, sa.ni, sa.prf, sa.keys.sk_pr, sa.local_id)
        try:
            payloads.append(local_auth(sa, gw, octets))
        except AuthError as exc:
            sa.failure = str(exc)
            sa.fatal_notify = m.NotifyPayload(m.N_AUTHENTICATION_FAILED)
            return FAILED
        self.engine.ike_established(sa)
        return SUCCESS
