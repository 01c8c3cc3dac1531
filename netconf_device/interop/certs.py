"""A throw-away test PKI for IKEv2 certificate authentication, built with ``cryptography``.

``TestCa("rsa")`` makes a self-signed CA; ``ca.issue("10.200.0.1")`` an end-entity certificate whose subject
CN and subjectAltName are that identity (IP address, FQDN or user@FQDN), which is what strongSwan and an MX
match the IKE ID against. Keys are PEM PKCS#8 without a password: test material only.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["rsa", "ecdsa"]
# id-kp-ipsecIKE (RFC 4945); strongSwan also accepts serverAuth, both are set
_IPSEC_IKE_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.17")


@dataclass(frozen=True)
class CertBundle:
    """One end entity's credentials as PEM: its certificate, private key and the CA chain to trust."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    ca_pems: tuple[bytes, ...] = ()
    identity: str = ""
    key_type: KeyType = "rsa"

    @property
    def subject_dn(self) -> str:
        """The subject DN in the RFC 4514 form strongSwan also accepts as an ID (``CN=...,O=...``)."""
        return x509.load_pem_x509_certificate(self.cert_pem).subject.rfc4514_string()


def _new_key(key_type: KeyType, rsa_bits: int, curve: ec.EllipticCurve):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if key_type == "ecdsa":
        return ec.generate_private_key(curve)
    raise ValueError(f"key type must be 'rsa' or 'ecdsa', not {key_type!r}")


def _san(identity: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        pass
    if "@" in identity:
        return x509.RFC822Name(identity)
    return x509.DNSName(identity)


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class TestCa:
    """A CA that issues end-entity certificates for IKE identities."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        key_type: KeyType = "rsa",
        *,
        name: str = "netconf-device test CA",
        rsa_bits: int = 2048,
        curve: ec.EllipticCurve | None = None,
        days: int = 3650,
    ) -> None:
        self.key_type = key_type
        self.rsa_bits = rsa_bits
        self.curve = curve or ec.SECP256R1()
        self._key = _new_key(key_type, rsa_bits, self.curve)
        self.subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netconf-device"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.subject)
            .issuer_name(self.subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, identity: str, *, key_type: KeyType | None = None, days: int = 1825) -> CertBundle:
        """Certificate for ``identity`` (CN and subjectAltName), signed by this CA."""
        kt = key_type or self.key_type
        key = _new_key(kt, self.rsa_bits, self.curve)
        now = datetime.datetime.now(datetime.UTC)
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netconf-device"),
            x509.NameAttribute(NameOID.COMMON_NAME, identity),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([_san(identity)]), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, _IPSEC_IKE_EKU]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        return CertBundle(
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=_pem_key(key),
            ca_pems=(self.cert_pem,),
            identity=identity,
            key_type=kt,
        )
