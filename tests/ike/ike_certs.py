"""Test PKI for the IKE tests: a CA (optionally with an intermediate) issuing RSA and ECDSA certificates."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from netconf_device.config.intent import LocalCertificate

NOW = dt.datetime.now(dt.UTC)


def new_key(kind: str):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    curve = {"ecdsa": ec.SECP256R1, "ecdsa-256": ec.SECP256R1, "ecdsa-384": ec.SECP384R1,
             "ecdsa-521": ec.SECP521R1}[kind]
    return ec.generate_private_key(curve())


def _name(cn: str, org: str = "netconf-device") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Ca:
    def __init__(self, kind: str = "ecdsa", name: str = "Test CA", issuer: Ca | None = None,
                 not_after: dt.datetime | None = None):
        self.key = new_key(kind)
        self.name = _name(name)
        signer = issuer.key if issuer else self.key
        builder = (x509.CertificateBuilder().subject_name(self.name)
                   .issuer_name(issuer.name if issuer else self.name)
                   .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - dt.timedelta(days=1))
                   .not_valid_after(not_after or NOW + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True))
        self.cert = builder.sign(signer, hashes.SHA256())
        self.issuer = issuer

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, identity: str, kind: str = "ecdsa", not_after: dt.datetime | None = None,
              name: str = "local") -> tuple[LocalCertificate, x509.Certificate]:
        key = new_key(kind)
        sans: list = []
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(identity)))
        except ValueError:
            if "@" in identity:
                sans.append(x509.RFC822Name(identity))
            else:
                sans.append(x509.DNSName(identity))
        cert = (x509.CertificateBuilder().subject_name(_name(identity)).issuer_name(self.name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(NOW - dt.timedelta(days=1))
                .not_valid_after(not_after or NOW + dt.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        if self.issuer is not None:  # send the intermediate along (our CERT payload is the leaf only)
            pass
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return LocalCertificate(name=name, certificate_pem=pem, private_key_pem=key_pem), cert
