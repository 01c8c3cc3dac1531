"""IKE_AUTH authentication: identities, pre-shared keys and X.509 signatures (RFC 7296 §2.15, §3.5, §3.8;
RFC 7427 digital signatures; RFC 4754 ECDSA), and certificate chain validation against the configured CA.

Everything here is pure: keys and certificates come from the intent, time from the caller.
"""

from __future__ import annotations

import hmac as _hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import ExtensionOID, NameOID

from netconf_device.config.intent import IkeIdentity

from . import message as m
from .addresses import ip
from .crypto import Prf, hash_digest

KEY_PAD = b"Key Pad for IKEv2"
MAX_CHAIN_DEPTH = 8


class AuthError(Exception):
    """Authentication failed (AUTHENTICATION_FAILED to the peer); the message says why, without secrets."""


# ------------------------------------------------------------------------------------------- identities
@dataclass(frozen=True)
class Identity:
    id_type: int
    data: bytes

    def body(self) -> bytes:
        """IDx' of RFC 7296 §2.15: ID type, three reserved bytes, identification data."""
        return bytes([self.id_type, 0, 0, 0]) + self.data

    def payload(self, ptype: int) -> m.IdPayload:
        return m.IdPayload(ptype, self.id_type, self.data)

    @classmethod
    def from_payload(cls, p: m.IdPayload) -> Identity:
        return cls(p.id_type, p.data)

    def display(self) -> str:
        """How Junos prints an IKE ID (show security ike ... ike-ike-id / remote-id)."""
        try:
            if self.id_type == m.ID_IPV4_ADDR and len(self.data) == 4:
                return str(ipaddress.IPv4Address(self.data))
            if self.id_type == m.ID_IPV6_ADDR and len(self.data) == 16:
                return str(ipaddress.IPv6Address(self.data))
            if self.id_type in (m.ID_FQDN, m.ID_RFC822_ADDR):
                return self.data.decode("ascii", "replace")
            if self.id_type == m.ID_DER_ASN1_DN:
                return dn_display(self.data)
        except ValueError:
            pass
        return self.data.hex()

    @property
    def kind(self) -> str:
        return {m.ID_IPV4_ADDR: "ipv4", m.ID_IPV6_ADDR: "ipv6", m.ID_FQDN: "fqdn", m.ID_RFC822_ADDR: "user-fqdn",
                m.ID_DER_ASN1_DN: "dn", m.ID_KEY_ID: "key-id"}.get(self.id_type, str(self.id_type))


def address_identity(addr) -> Identity:
    addr = ip(addr)
    return Identity(m.ID_IPV4_ADDR if addr.version == 4 else m.ID_IPV6_ADDR, addr.packed)


def name_from_junos_dn(text: str) -> x509.Name:
    """A Junos/X.500-ordered DN string ("C=US, O=Org, CN=host") as an x509.Name (same RDN order)."""
    parts, cur, esc = [], "", False
    for ch in text:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            cur += ch
            esc = True
        elif ch == ",":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    name = x509.Name.from_rfc4514_string(",".join(p for p in parts if p))
    # RFC 4514 strings list the most specific RDN first; Junos prints and configures the reverse.
    return x509.Name(list(reversed(list(name.rdns))))


def dn_display(der: bytes) -> str:
    """Junos-style DN text ("C=US, O=Org, CN=host") for DER, via a throwaway certificate-free parse."""
    name = _name_from_der(der)
    if name is None:
        return der.hex()
    return ", ".join(rdn.rfc4514_string() for rdn in name.rdns)


def _name_from_der(der: bytes) -> x509.Name | None:
    """Parse a DER Name. cryptography has no public Name loader, so wrap it in a minimal CSR-free walk."""
    try:
        return _parse_name(der)
    except (ValueError, IndexError):
        return None


def _der_read(data: bytes, off: int) -> tuple[int, int, int]:
    """(tag, value offset, value end) of the DER element at ``off``."""
    tag = data[off]
    ln = data[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7F
        if n == 0 or n > 3:
            raise ValueError("bad DER length")
        ln = int.from_bytes(data[off: off + n], "big")
        off += n
    if off + ln > len(data):
        raise ValueError("DER element overruns")
    return tag, off, off + ln


def _parse_oid(data: bytes) -> str:
    parts = [data[0] // 40, data[0] % 40]
    v = 0
    for b in data[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(v)
            v = 0
    return ".".join(map(str, parts))


def _parse_name(der: bytes) -> x509.Name:
    tag, off, end = _der_read(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a DN sequence")
    rdns = []
    while off < end:
        tag, soff, send = _der_read(der, off)
        if tag != 0x31:
            raise ValueError("not an RDN set")
        attrs = []
        while soff < send:
            tag, aoff, aend = _der_read(der, soff)
            if tag != 0x30:
                raise ValueError("not an attribute")
            otag, ooff, oend = _der_read(der, aoff)
            vtag, voff, vend = _der_read(der, oend)
            if otag != 0x06:
                raise ValueError("attribute without OID")
            value = der[voff:vend].decode("utf-8" if vtag == 0x0C else "latin-1")
            attrs.append(x509.NameAttribute(x509.ObjectIdentifier(_parse_oid(der[ooff:oend])), value))
            soff = aend
        rdns.append(x509.RelativeDistinguishedName(attrs))
        off = send
    return x509.Name(rdns)


def local_identity(configured: IkeIdentity | None, local_address, cert: x509.Certificate | None) -> Identity:
    """Our ID: configured, else the certificate's subject DN (certificate auth) or our address (PSK)."""
    if configured is not None:
        kind, value = configured.kind, configured.value
        if kind in ("inet", "inet6") and value:
            return address_identity(value)
        if kind == "hostname" and value:
            return Identity(m.ID_FQDN, value.encode())
        if kind == "user-at-hostname" and value:
            return Identity(m.ID_RFC822_ADDR, value.encode())
        if kind == "distinguished-name":
            if value:
                return Identity(m.ID_DER_ASN1_DN, name_from_junos_dn(value).public_bytes())
            if cert is not None:
                return Identity(m.ID_DER_ASN1_DN, cert.subject.public_bytes())
    if cert is not None:
        return Identity(m.ID_DER_ASN1_DN, cert.subject.public_bytes())
    return address_identity(local_address)


def configured_remote_identity(configured: IkeIdentity | None) -> Identity | None:
    """The IDr we request from the peer (sent in IKE_AUTH only when configured with a value)."""
    if configured is None or not configured.value:
        return None
    try:
        return local_identity(configured, None, None)
    except ValueError:
        return None


def remote_identity_ok(configured: IkeIdentity | None, peer: Identity, peer_cert: x509.Certificate | None) -> bool:
    """Does the peer's ID satisfy ``remote-identity``? Without one configured any authenticated ID is accepted."""
    if configured is None:
        return True
    kind, value = configured.kind, configured.value
    if kind in ("inet", "inet6"):
        if not value:
            return True
        try:
            return peer.id_type in (m.ID_IPV4_ADDR, m.ID_IPV6_ADDR) and \
                ipaddress.ip_address(peer.data) == ipaddress.ip_address(value)
        except ValueError:
            return False
    if kind == "hostname":
        return peer.id_type == m.ID_FQDN and (not value or peer.data.decode("ascii", "replace").lower().rstrip(".")
                                                 == value.lower().rstrip("."))
    if kind == "user-at-hostname":
        return peer.id_type == m.ID_RFC822_ADDR and (not value or peer.data.decode("ascii", "replace").lower()
                                                        == value.lower())
    if kind == "distinguished-name":
        if peer.id_type != m.ID_DER_ASN1_DN:
            return False
        container = getattr(configured, "dn_container", None)
        wildcard = getattr(configured, "dn_wildcard", None) or value
        if not container and not wildcard:
            return True  # any DN: the certificate chain already vouches for it
        peer_name = _name_from_der(peer.data)
        if peer_name is None:
            return False
        peer_attrs = [(a.oid.dotted_string, a.value) for rdn in peer_name.rdns for a in rdn]
        try:
            if wildcard:
                # every configured attribute must be in the peer's DN, in any order
                wanted = {(a.oid.dotted_string, a.value) for a in name_from_junos_dn(wildcard)}
                if not wanted <= set(peer_attrs):
                    return False
            if container:
                # the configured attributes must appear in the peer's DN in the same order
                wanted_seq = [(a.oid.dotted_string, a.value) for rdn in name_from_junos_dn(container).rdns
                              for a in rdn]
                it = iter(peer_attrs)
                if not all(w in it for w in wanted_seq):
                    return False
        except ValueError:
            return False
        return True
    return False


def identity_matches_cert(peer: Identity, cert: x509.Certificate) -> bool:
    """The ID the peer claims must be its certificate's subject DN or one of its subjectAltNames."""
    if peer.id_type == m.ID_DER_ASN1_DN:
        if peer.data == cert.subject.public_bytes():
            return True
        name = _name_from_der(peer.data)
        return name is not None and name == cert.subject
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        san = None
    if peer.id_type in (m.ID_IPV4_ADDR, m.ID_IPV6_ADDR):
        try:
            addr = ipaddress.ip_address(peer.data)
        except ValueError:
            return False
        if san is not None and addr in san.get_values_for_type(x509.IPAddress):
            return True
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return any(c.value == str(addr) for c in cns)
    if peer.id_type == m.ID_FQDN:
        text = peer.data.decode("ascii", "replace").lower()
        return san is not None and text in [d.lower() for d in san.get_values_for_type(x509.DNSName)]
    if peer.id_type == m.ID_RFC822_ADDR:
        text = peer.data.decode("ascii", "replace").lower()
        return san is not None and text in [d.lower() for d in san.get_values_for_type(x509.RFC822Name)]
    return False


# ------------------------------------------------------------------------------------------- octets
def signed_octets(real_message: bytes, peer_nonce: bytes, prf: Prf, sk_p: bytes, identity: Identity) -> bytes:
    """InitiatorSignedOctets / ResponderSignedOctets (RFC 7296 §2.15)."""
    return real_message + peer_nonce + prf(sk_p, identity.body())


def psk_auth(prf: Prf, psk: bytes, octets: bytes) -> bytes:
    return prf(prf(psk, KEY_PAD), octets)


def verify_psk(prf: Prf, psk: bytes, octets: bytes, received: bytes) -> bool:
    return _hmac.compare_digest(psk_auth(prf, psk, octets), received)


# ------------------------------------------------------------------------------------------- signatures
_HASH_OBJ = {m.HASH_SHA1: hashes.SHA1, m.HASH_SHA2_256: hashes.SHA256, m.HASH_SHA2_384: hashes.SHA384,
             m.HASH_SHA2_512: hashes.SHA512}
SUPPORTED_SIGNATURE_HASHES = (m.HASH_SHA2_256, m.HASH_SHA2_384, m.HASH_SHA2_512)

# RFC 7427 AlgorithmIdentifier DER encodings (§A.1 and §A.3)
_RSA_ALGID = {
    m.HASH_SHA1: bytes.fromhex("300d06092a864886f70d0101050500"),
    m.HASH_SHA2_256: bytes.fromhex("300d06092a864886f70d01010b0500"),
    m.HASH_SHA2_384: bytes.fromhex("300d06092a864886f70d01010c0500"),
    m.HASH_SHA2_512: bytes.fromhex("300d06092a864886f70d01010d0500"),
}
_ECDSA_ALGID = {
    m.HASH_SHA1: bytes.fromhex("300906072a8648ce3d0401"),
    m.HASH_SHA2_256: bytes.fromhex("300a06082a8648ce3d040302"),
    m.HASH_SHA2_384: bytes.fromhex("300a06082a8648ce3d040303"),
    m.HASH_SHA2_512: bytes.fromhex("300a06082a8648ce3d040304"),
}
_ALGID_LOOKUP = {v: ("rsa", h) for h, v in _RSA_ALGID.items()} | {v: ("ecdsa", h) for h, v in _ECDSA_ALGID.items()}
# a few encoders omit the NULL parameters of the RSA identifiers
_ALGID_LOOKUP |= {b"\x30\x0b" + v[2:-2]: ("rsa", h) for h, v in _RSA_ALGID.items()}

_ECDSA_CLASSIC = {m.AUTH_ECDSA_256: ("secp256r1", m.HASH_SHA2_256, 32),
                  m.AUTH_ECDSA_384: ("secp384r1", m.HASH_SHA2_384, 48),
                  m.AUTH_ECDSA_521: ("secp521r1", m.HASH_SHA2_512, 66)}
_CURVE_DEFAULT = {"secp256r1": (m.AUTH_ECDSA_256, m.HASH_SHA2_256), "secp384r1": (m.AUTH_ECDSA_384, m.HASH_SHA2_384),
                  "secp521r1": (m.AUTH_ECDSA_521, m.HASH_SHA2_512)}

METHOD_DISPLAY = {m.AUTH_PSK: "Pre-shared-keys", m.AUTH_RSA_SIG: "RSA-signatures",
                  m.AUTH_ECDSA_256: "ECDSA-signatures-256", m.AUTH_ECDSA_384: "ECDSA-signatures-384",
                  m.AUTH_ECDSA_521: "ECDSA-signatures-521", m.AUTH_DIGITAL_SIGNATURE: "Digital-signatures"}


def sign(private_key, octets: bytes, peer_hashes: tuple[int, ...] | None) -> tuple[int, bytes]:
    """(AUTH method, AUTH data) for our private key. RFC 7427 when the peer announced
    SIGNATURE_HASH_ALGORITHMS, else the classic method (RSA: PKCS#1 v1.5 SHA-1; ECDSA: RFC 4754).
    """
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        method, default_hash = _CURVE_DEFAULT.get(private_key.curve.name, (None, m.HASH_SHA2_256))
        if peer_hashes:
            h = default_hash if default_hash in peer_hashes else _pick_hash(peer_hashes)
            der = private_key.sign(octets, ec.ECDSA(_HASH_OBJ[h]()))
            algid = _ECDSA_ALGID[h]
            return m.AUTH_DIGITAL_SIGNATURE, bytes([len(algid)]) + algid + der
        if method is None:
            raise AuthError(f"no classic IKEv2 method for curve {private_key.curve.name}")
        _curve, h, size = _ECDSA_CLASSIC[method]
        r, s = decode_dss_signature(private_key.sign(octets, ec.ECDSA(_HASH_OBJ[h]())))
        return method, r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(private_key, rsa.RSAPrivateKey):
        if peer_hashes:
            h = m.HASH_SHA2_256 if m.HASH_SHA2_256 in peer_hashes else _pick_hash(peer_hashes)
            sig = private_key.sign(octets, padding.PKCS1v15(), _HASH_OBJ[h]())
            algid = _RSA_ALGID[h]
            return m.AUTH_DIGITAL_SIGNATURE, bytes([len(algid)]) + algid + sig
        return m.AUTH_RSA_SIG, private_key.sign(octets, padding.PKCS1v15(), hashes.SHA1())
    raise AuthError("unsupported private key type")


def _pick_hash(peer_hashes: tuple[int, ...]) -> int:
    for h in peer_hashes:
        if h in SUPPORTED_SIGNATURE_HASHES:
            return h
    return m.HASH_SHA2_256


def verify_signature(public_key, method: int, data: bytes, octets: bytes) -> None:
    """Raise AuthError unless ``data`` is a valid AUTH signature over ``octets`` by ``public_key``."""
    try:
        if method == m.AUTH_DIGITAL_SIGNATURE:
            if not data:
                raise AuthError("empty signature AUTH")
            alen = data[0]
            algid, sig = data[1: 1 + alen], data[1 + alen:]
            if len(algid) != alen:
                raise AuthError("truncated signature algorithm identifier")
            scheme = _ALGID_LOOKUP.get(algid)
            if scheme is None:
                raise AuthError("unsupported signature algorithm (RFC 7427 identifier not known)")
            kind, h = scheme
            if kind == "rsa":
                if not isinstance(public_key, rsa.RSAPublicKey):
                    raise AuthError("RSA signature but the certificate key is not RSA")
                public_key.verify(sig, octets, padding.PKCS1v15(), _HASH_OBJ[h]())
            else:
                if not isinstance(public_key, ec.EllipticCurvePublicKey):
                    raise AuthError("ECDSA signature but the certificate key is not EC")
                public_key.verify(sig, octets, ec.ECDSA(_HASH_OBJ[h]()))
            return
        if method == m.AUTH_RSA_SIG:
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise AuthError("RSA AUTH method but the certificate key is not RSA")
            public_key.verify(data, octets, padding.PKCS1v15(), hashes.SHA1())
            return
        if method in _ECDSA_CLASSIC:
            curve, h, size = _ECDSA_CLASSIC[method]
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != curve:
                raise AuthError("ECDSA AUTH method does not match the certificate's curve")
            if len(data) != 2 * size:
                raise AuthError("ECDSA signature has the wrong length")
            der = encode_dss_signature(int.from_bytes(data[:size], "big"), int.from_bytes(data[size:], "big"))
            public_key.verify(der, octets, ec.ECDSA(_HASH_OBJ[h]()))
            return
    except InvalidSignature as exc:
        raise AuthError("signature verification failed") from exc
    except ValueError as exc:
        raise AuthError(f"malformed signature: {exc}") from exc
    raise AuthError(f"unsupported AUTH method {method}")


def parse_signature_hashes(data: bytes) -> tuple[int, ...]:
    return tuple(int.from_bytes(data[i: i + 2], "big") for i in range(0, len(data) - 1, 2))


def signature_hashes_payload() -> m.NotifyPayload:
    data = b"".join(h.to_bytes(2, "big") for h in SUPPORTED_SIGNATURE_HASHES)
    return m.NotifyPayload(m.N_SIGNATURE_HASH_ALGORITHMS, data)


# ------------------------------------------------------------------------------------------- certificates
def load_certificate(pem_or_der: bytes) -> x509.Certificate:
    if pem_or_der.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_certificate(pem_or_der)
    return x509.load_der_x509_certificate(pem_or_der)


def load_certificate_chain(pem_or_der: bytes) -> list[x509.Certificate]:
    """Leaf first, then any intermediates that follow it in the same PEM file (sent as extra CERTs)."""
    if pem_or_der.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_certificates(pem_or_der)
    return [x509.load_der_x509_certificate(pem_or_der)]


def load_private_key(pem: bytes):
    return serialization.load_pem_private_key(pem, password=None)


def certreq_data(cas: list[x509.Certificate]) -> bytes:
    """CERTREQ content: SHA-1 hashes of the trusted CAs' SubjectPublicKeyInfo (RFC 7296 §3.7)."""
    return b"".join(hash_digest("sha1", ca.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)) for ca in cas)


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca)
    except x509.ExtensionNotFound:
        return False


def _issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    if child.issuer != issuer.subject:
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def validate_chain(end_entity: x509.Certificate, intermediates: list[x509.Certificate],
                   trusted: list[x509.Certificate], at: datetime) -> x509.Certificate:
    """Check that ``end_entity`` chains (through ``intermediates``) to one of ``trusted`` and that every
    certificate on the path is valid at ``at``. Returns the trust anchor used; raises AuthError.
    """
    if not trusted:
        raise AuthError("no trusted CA configured for certificate authentication")
    if not _valid_at(end_entity, at):
        raise AuthError("peer certificate is expired or not yet valid")
    current = end_entity
    pool = list(intermediates)
    for _depth in range(MAX_CHAIN_DEPTH):
        for ca in trusted:
            if _issued_by(current, ca):
                if not _valid_at(ca, at):
                    raise AuthError("trusted CA certificate is expired or not yet valid")
                if not _is_ca(ca) and ca is not current:
                    raise AuthError("trust anchor is not a CA certificate")
                return ca
        nxt = next((c for c in pool if _issued_by(current, c)), None)
        if nxt is None:
            raise AuthError("peer certificate does not chain to the configured CA")
        if not _is_ca(nxt) or not _valid_at(nxt, at):
            raise AuthError("intermediate certificate is not a valid CA")
        pool.remove(nxt)
        current = nxt
    raise AuthError("certificate chain too long")
