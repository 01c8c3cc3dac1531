"""Certificate authentication between two real charons: RSA and ECDSA test PKIs made with ``cryptography``."""

from __future__ import annotations

import pytest
from swan_fixtures import pair_connections, swan_pair

from netconf_device.interop.certs import TestCa
from netconf_device.interop.strongswan import StrongswanError

pytestmark = [pytest.mark.root, pytest.mark.strongswan]


@pytest.mark.parametrize(("key_type", "scheme"), [
    ("rsa", "RSA_EMSA_PKCS1_SHA2_256"),
    ("ecdsa", "ECDSA_WITH_SHA256_DER"),
])
def test_interop_certificates_bring_tunnel_up(swan_workdir, key_type, scheme):
    ca = TestCa(key_type)
    left_cert = ca.issue("10.200.0.1")           # an IP identity (subjectAltName iPAddress)
    right_cert = ca.issue("moon.example.org")    # an FQDN identity (subjectAltName dNSName)
    lconn, rconn = pair_connections(
        auth="pubkey",
        left={"cert": left_cert, "remote_id": "moon.example.org"},
        right={"cert": right_cert, "remote_id": "10.200.0.1"},
    )
    with swan_pair("crt", swan_workdir, lconn, rconn) as pair:
        pair.left.initiate()
        assert pair.ping(2)
        (lsa,) = pair.left.list_sas()
        (rsa,) = pair.right.list_sas()
        assert (lsa.local_id, lsa.remote_id) == ("10.200.0.1", "moon.example.org")
        assert (rsa.local_id, rsa.remote_id) == ("moon.example.org", "10.200.0.1")
        # each side verified the other's signature with the expected scheme
        pair.left.wait_for_log(rf"authentication of 'moon\.example\.org' with {scheme} successful")
        pair.right.wait_for_log(rf"authentication of '10\.200\.0\.1' with {scheme} successful")


def test_interop_certificate_from_untrusted_ca_is_refused(swan_workdir):
    """The negative: a certificate from another CA must not authenticate (the PKI is really checked)."""
    trusted, rogue = TestCa("ecdsa"), TestCa("ecdsa", name="rogue CA")
    lconn, rconn = pair_connections(
        auth="pubkey",
        left={"cert": rogue.issue("10.200.0.1"), "remote_id": "moon.example.org"},
        right={"cert": trusted.issue("moon.example.org"), "remote_id": "10.200.0.1"},
    )
    with swan_pair("crx", swan_workdir, lconn, rconn) as pair:
        with pytest.raises(StrongswanError, match="initiate on left failed"):
            pair.left.initiate(timeout=5)
        pair.right.wait_for_log(r"no trusted ECDSA public key found for '10\.200\.0\.1'")
        assert pair.right.child_sas() == []
