"""Configuration keywords -> the spellings the show commands print (captured ones and DERIVED ones)."""

from __future__ import annotations

import ipaddress

import pytest

from netconf_device.show import junos_names as names


@pytest.mark.parametrize(
    "keyword, brief, detail",
    [
        ("aes-256-gcm", "aes-gcm-256", "aes-gcm (256 bits)"),
        ("aes-128-gcm", "aes-gcm-128", "aes-gcm (128 bits)"),  # captured: ESP:aes-gcm-128, aes-gcm (128 bits)
        ("aes-256-cbc", "aes-cbc-256", "aes-cbc (256 bits)"),  # captured
        ("3des-cbc", "3des", "3des-cbc"),  # captured
    ],
)
def test_ipsec_encryption(keyword, brief, detail):
    assert names.ipsec_brief_encryption_name(keyword) == brief
    assert names.ipsec_detail_encryption_name(keyword) == detail


@pytest.mark.parametrize(
    "keyword, brief, detail",
    [
        (None, "None", "None"),
        ("hmac-sha-256-128", "sha256", "hmac-sha256-128"),
        ("hmac-sha1-96", "sha1", "hmac-sha1-96"),
    ],
)
def test_ipsec_integrity(keyword, brief, detail):
    assert names.ipsec_brief_integrity_name(keyword) == brief
    assert names.ipsec_detail_integrity_name(keyword) == detail


def test_ike_names():
    assert names.ike_encryption_name("aes-256-cbc") == "aes256-cbc"
    assert names.ike_encryption_name("aes-128-gcm") == "aes128-gcm"
    assert names.ike_integrity_name("sha1") == "hmac-sha1-96"
    assert names.ike_integrity_name("sha-256") == "hmac-sha256-128"
    assert names.ike_integrity_name(None) == "None"
    assert names.ike_prf_name("sha-384") == "hmac-sha384"
    assert names.dh_group_name("group19") == "DH-group-19"
    assert names.dh_group_name(5) == "DH-group-5"
    assert names.ike_authentication_method_name("pre-shared-keys") == "Pre-shared-keys"
    assert names.ike_authentication_method_name("rsa-signatures") == "RSA-signatures"


def test_proxy_identities():
    assert names.proxy_identity("0.0.0.0/0") == "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"  # captured
    assert names.proxy_identity(ipaddress.ip_network("2.2.2.0/24")) == "ipv4_subnet(any:0,[0..7]=2.2.2.0/24)"
    assert names.proxy_identity("::/0") == "ipv6_subnet(any:0,[0..31]=::/0)"


def test_hex_and_lifetimes():
    assert names.cookie_hex(0x95CCF59C2783DE54) == "95ccf59c2783de54"
    assert names.cookie_hex(0) == "0000000000000000"
    assert names.spi_hex(0xBB0D675A) == "bb0d675a"
    assert names.spi_hex(0x100) == "00000100"
    for bad in (-1, 1 << 32):
        with pytest.raises(ValueError):
            names.spi_hex(bad)
    with pytest.raises(ValueError):
        names.cookie_hex(1 << 64)
    assert names.expires_in(11242) == "Expires in 11242 seconds"
    assert names.expires_in(-3) == "Expires in 0 seconds"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (9720385, "112 days, 12 hours, 6 minutes, 25 seconds"),  # captured (fpc up-time)
        (0, "0 seconds"),
        (61, "1 minute, 1 second"),
        (3600, "1 hour, 0 minutes, 0 seconds"),
    ],
)
def test_durations(seconds, text):
    assert names.junos_duration(seconds) == text
