"""IKE_AUTH: pre-shared keys, X.509 certificates (RSA and ECDSA, RFC 7427 and the classic methods), chain
validation against the configured CA, identities and remote-identity checks."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography.hazmat.primitives import serialization
from ike_certs import NOW, Ca
from ike_harness import (
    A_ADDR,
    B_ADDR,
    assert_tunnel_pairs,
    ike_proposal,
    installed,
    make_intent,
    pair,
    symmetric,
)

from netconf_device.config.intent import IkeIdentity
from netconf_device.ike import auth
from netconf_device.ike import message as m


def _auth_messages(net, sender):
    return [m.parse_header(d.payload) for _t, n, d in net.log if n == sender]


def test_psk_mismatch_is_authentication_failed():
    a, b = symmetric(a_psk=b"one secret", b_psk=b"another secret")
    net, ea, eb = pair(a, b)
    assert installed(net, "a") == [] and installed(net, "b") == []
    assert "AUTHENTICATION_FAILED" in eb.gateway_status("gw")["last_error"]
    assert "pre-shared key mismatch" in eb.gateway_status("gw")["last_error"]
    assert ea.gateway_status("gw")["last_error"] == "AUTHENTICATION_FAILED"
    assert ea.sas == {} and eb.sas == {}


def _cert_intents(kind_a: str, kind_b: str, ca: Ca | None = None, ca_b: Ca | None = None, id_a=None, id_b=None,
                  cert_a=None, cert_b=None, **kw):
    ca = ca or Ca("ecdsa")
    ca_b = ca_b or ca
    method = {"rsa": "rsa-signatures", "ecdsa": "ecdsa-signatures-256"}
    ca_a_pem = ca.pem  # both trust only the first CA
    la, _ = cert_a or ca.issue(id_a or str(A_ADDR), kind_a)
    lb, _ = cert_b or ca_b.issue(id_b or str(B_ADDR), kind_b)
    a = make_intent(A_ADDR, B_ADDR, psk=None, ike=ike_proposal(method=method[kind_a]), cert=la, ca_pem=ca_a_pem,
                    **{k[2:]: v for k, v in kw.items() if k.startswith("a_")})
    b = make_intent(B_ADDR, A_ADDR, psk=None, ike=ike_proposal(method=method[kind_b]), cert=lb, ca_pem=ca.pem,
                    establish="responder-only", **{k[2:]: v for k, v in kw.items() if k.startswith("b_")})
    return a, b


@pytest.mark.parametrize("kind_a,kind_b", [("rsa", "rsa"), ("ecdsa", "ecdsa"), ("rsa", "ecdsa")])
def test_certificates_rfc7427(kind_a, kind_b):
    a, b = _cert_intents(kind_a, kind_b)
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    sa_a = next(iter(ea.sas.values()))
    sa_b = next(iter(eb.sas.values()))
    # both announced SIGNATURE_HASH_ALGORITHMS, so both used RFC 7427 digital signatures
    assert sa_a.local_auth_method == sa_b.local_auth_method == m.AUTH_DIGITAL_SIGNATURE
    assert sa_a.remote_id.display() == f"C=US, O=netconf-device, CN={B_ADDR}"
    snap = ea.ike_sa_snapshots()[0]
    assert snap.remote_id_type == "dn"
    assert snap.authentication_method == {"rsa": "RSA-signatures", "ecdsa": "ECDSA-signatures-256"}[kind_a]


def test_untrusted_ca_is_authentication_failed():
    other = Ca("rsa", "Other CA")
    a, b = _cert_intents("ecdsa", "ecdsa", ca_b=other)  # B's cert is issued by a CA that A does not trust...
    # ...and B trusts only the first CA, which did issue A's certificate; so only A rejects B
    net, ea, eb = pair(a, b)
    assert installed(net, "a") == [] and installed(net, "b") == []
    assert "does not chain to the configured CA" in ea.gateway_status("gw")["last_error"]


def test_expired_certificate_is_rejected():
    ca = Ca("ecdsa")
    expired = ca.issue(str(A_ADDR), "ecdsa", not_after=NOW - dt.timedelta(hours=1))
    a, b = _cert_intents("ecdsa", "ecdsa", ca=ca, cert_a=expired)
    net, ea, eb = pair(a, b)
    assert installed(net, "b") == []
    assert "expired" in eb.gateway_status("gw")["last_error"]


def test_intermediate_ca_chain():
    root = Ca("rsa", "Root CA")
    inter = Ca("ecdsa", "Intermediate CA", issuer=root)
    leaf, _ = inter.issue(str(A_ADDR), "ecdsa")
    chained = leaf.__class__(leaf.name, leaf.certificate_pem + inter.pem, leaf.private_key_pem)
    lb, _ = root.issue(str(B_ADDR), "rsa")
    a = make_intent(A_ADDR, B_ADDR, psk=None, ike=ike_proposal(method="ecdsa-signatures-256"), cert=chained,
                    ca_pem=root.pem)
    b = make_intent(B_ADDR, A_ADDR, psk=None, ike=ike_proposal(method="rsa-signatures"), cert=lb, ca_pem=root.pem,
                    establish="responder-only")
    net, *_ = pair(a, b)
    assert_tunnel_pairs(net)


@pytest.mark.parametrize("identity,kind", [("vpn-a.example.org", "hostname"), ("ipsec@example.org",
                                                                                  "user-at-hostname")])
def test_certificate_with_fqdn_and_email_identities(identity, kind):
    a, b = _cert_intents("rsa", "ecdsa", id_a=identity, a_local_id=IkeIdentity(kind, identity),
                         b_remote_id=IkeIdentity(kind, identity))
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    assert next(iter(eb.sas.values())).remote_id.display() == identity


def test_certificate_id_must_match_the_certificate():
    # A claims an FQDN its certificate does not carry
    a, b = _cert_intents("ecdsa", "ecdsa", a_local_id=IkeIdentity("hostname", "not-in-cert.example.org"))
    net, ea, eb = pair(a, b)
    assert installed(net, "b") == []
    assert "does not match its certificate" in eb.gateway_status("gw")["last_error"]


def test_distinguished_name_remote_identity_wildcard_match_and_mismatch():
    a, b = _cert_intents("ecdsa", "ecdsa", b_remote_id=IkeIdentity("distinguished-name", "O=netconf-device"))
    net, *_ = pair(a, b)
    assert_tunnel_pairs(net)
    a2, b2 = _cert_intents("ecdsa", "ecdsa", b_remote_id=IkeIdentity("distinguished-name", "O=Somebody Else"))
    net2, _ea, eb2 = pair(a2, b2)
    assert installed(net2, "b") == []
    assert "remote-identity" in eb2.gateway_status("gw")["last_error"]


def test_psk_with_fqdn_identities_and_remote_identity_check():
    a, b = symmetric(a_local_id=IkeIdentity("hostname", "a.example.org"),
                     b_remote_id=IkeIdentity("hostname", "a.example.org"))
    net, ea, eb = pair(a, b)
    assert_tunnel_pairs(net)
    assert eb.ike_sa_snapshots()[0].remote_id == "a.example.org"
    a2, b2 = symmetric(a_local_id=IkeIdentity("hostname", "a.example.org"),
                       b_remote_id=IkeIdentity("hostname", "z.example.org"))
    net2, _ea2, eb2 = pair(a2, b2)
    assert installed(net2, "b") == []
    assert "AUTHENTICATION_FAILED" in eb2.gateway_status("gw")["last_error"]


def test_ipv6_peers_and_identities():
    a6, b6 = ipaddress.ip_address("2001:db8::1"), ipaddress.ip_address("2001:db8::2")
    a = make_intent(a6, b6, remote_id=IkeIdentity("inet6", str(b6)))
    b = make_intent(b6, a6, establish="responder-only", remote_id=IkeIdentity("inet6", str(a6)))
    from ike_harness import Network

    from netconf_device.config.intent import Intent, diff_intent
    from netconf_device.ike.engine import Engine
    from netconf_device.ike.options import EngineOptions

    net = Network()
    ea = net.add("a", Engine(EngineOptions(device_name="a")), a6)
    eb = net.add("b", Engine(EngineOptions(device_name="b")), b6)
    eb.apply(diff_intent(Intent(), b), 0)
    ea.apply(diff_intent(Intent(), a), 0)
    net.settle()
    ((x, _),) = assert_tunnel_pairs(net)
    assert x.local_ts == (ipaddress.ip_network("::/0"),)
    assert eb.ike_sa_snapshots()[0].remote_id == str(a6)


@pytest.mark.parametrize("kind", ["rsa", "ecdsa-256", "ecdsa-384", "ecdsa-521"])
@pytest.mark.parametrize("peer_hashes", [None, (m.HASH_SHA2_256, m.HASH_SHA2_384, m.HASH_SHA2_512)])
def test_signature_methods(kind, peer_hashes):
    ca = Ca("ecdsa")
    lc, cert = ca.issue("x.example.org", kind)
    key = serialization.load_pem_private_key(lc.private_key_pem, None)
    octets = b"signed octets " * 10
    method, data = auth.sign(key, octets, peer_hashes)
    if peer_hashes:
        assert method == m.AUTH_DIGITAL_SIGNATURE
    else:
        assert method == {"rsa": m.AUTH_RSA_SIG, "ecdsa-256": m.AUTH_ECDSA_256, "ecdsa-384": m.AUTH_ECDSA_384,
                          "ecdsa-521": m.AUTH_ECDSA_521}[kind]
    auth.verify_signature(cert.public_key(), method, data, octets)
    with pytest.raises(auth.AuthError):
        auth.verify_signature(cert.public_key(), method, data, octets + b"!")
    with pytest.raises(auth.AuthError):
        auth.verify_signature(cert.public_key(), method, data[:-1] + bytes([data[-1] ^ 1]), octets)


def test_rfc7427_rsa_identifier_without_null_parameters_is_accepted():
    ca = Ca("rsa")
    lc, cert = ca.issue("x.example.org", "rsa")
    key = serialization.load_pem_private_key(lc.private_key_pem, None)
    method, data = auth.sign(key, b"octets", (m.HASH_SHA2_256,))
    alen = data[0]
    algid, sig = data[1:1 + alen], data[1 + alen:]
    short = b"\x30\x0b" + algid[2:-2]
    auth.verify_signature(cert.public_key(), method, bytes([len(short)]) + short + sig, b"octets")


def test_dn_text_roundtrip():
    name = auth.name_from_junos_dn("C=US, O=Juniper, OU=eng, CN=spoke 1")
    assert auth.dn_display(name.public_bytes()) == "C=US, O=Juniper, OU=eng, CN=spoke 1"
    assert auth.Identity(m.ID_DER_ASN1_DN, b"\x30\x03garbage").display()  # undecodable DN: hex, no exception


def test_new_certificate_contents_renegotiate():
    from dataclasses import replace

    from netconf_device.config.intent import diff_intent

    ca = Ca("ecdsa")
    a, b = _cert_intents("ecdsa", "ecdsa", ca=ca)
    net, ea, eb = pair(a, b)
    (old,) = ea.sas.values()
    fresh, _ = ca.issue(str(A_ADDR), "ecdsa")
    a2 = replace(a, local_certificates={"local": fresh})
    ea.apply(diff_intent(a, a2), net.now)
    net.settle()
    assert_tunnel_pairs(net)
    (new,) = ea.sas.values()
    assert new is not old
    (sb,) = eb.sas.values()
    assert sb.peer_cert.fingerprint(sb.peer_cert.signature_hash_algorithm) == \
        auth.load_certificate(fresh.certificate_pem).fingerprint(sb.peer_cert.signature_hash_algorithm)


def test_remote_identity_dn_container_and_wildcard():
    name = auth.name_from_junos_dn("C=US, O=netconf-device, OU=lab, CN=spoke1")
    peer = auth.Identity(m.ID_DER_ASN1_DN, name.public_bytes())
    ok = auth.remote_identity_ok
    assert ok(IkeIdentity("distinguished-name"), peer, None)
    assert ok(IkeIdentity("distinguished-name", dn_wildcard="CN=spoke1, O=netconf-device"), peer, None)
    assert not ok(IkeIdentity("distinguished-name", dn_wildcard="CN=spoke2"), peer, None)
    assert ok(IkeIdentity("distinguished-name", dn_container="C=US, OU=lab"), peer, None)
    assert not ok(IkeIdentity("distinguished-name", dn_container="OU=lab, C=US"), peer, None)  # order matters
    assert not ok(IkeIdentity("distinguished-name", dn_container="C=US"),
                  auth.Identity(m.ID_FQDN, b"spoke1.example.org"), None)
