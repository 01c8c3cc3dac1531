"""Commit validation: libyang with the YANG must/when/leafref/mandatory/unique rules, Junos wording and
[edit ...] context, every error of one commit, plus the named rules YANG cannot express."""

from __future__ import annotations

import logging

import pytest
from schema_testlib import SEED_FILES, seed_text

from netconf_device.schema import LoadError


def with_lines(schema, seed_trees, lines: str, base: str = SEED_FILES[0]):
    return schema.load(seed_trees[base], lines, "set").tree


def errors_of(schema, seed_trees, lines: str):
    return schema.validate(with_lines(schema, seed_trees, lines))


def test_seed_configurations_are_valid(schema, seed_trees):
    for name, tree in seed_trees.items():
        assert schema.validate(tree) == [], name


# (set lines added to the seed's peer1, message, error path, statement)
CASES = [
    (
        "set security ike gateway ike_gw ike-policy nope",
        "Referenced IKE policy must be defined under [edit security ike policy]",
        "[edit security ike gateway ike_gw]",
        "ike-policy nope",
    ),
    (
        "set security ike policy ike_policy proposals missing",
        "Referenced proposal is not defined",
        "[edit security ike policy ike_policy]",
        "proposals missing",
    ),
    (
        "set security ipsec policy ipsec_policy proposals missing",
        "Referenced proposal is not defined",
        "[edit security ipsec policy ipsec_policy]",
        "proposals missing",
    ),
    (
        "set security ike gateway ike_gw external-interface et-0/0/9",
        "Referenced interface must be configured under [edit interfaces] hierarchy",
        "[edit security ike gateway ike_gw]",
        "external-interface et-0/0/9",
    ),
    (
        "set security ike gateway ike_gw external-interface et-0/2/10.5",
        "Referenced interface must be configured under [edit interfaces] hierarchy",
        "[edit security ike gateway ike_gw]",
        "external-interface et-0/2/10.5",
    ),
    (
        "set security ipsec vpn ipsec_vpn bind-interface st0.7",
        "Referenced interface must be configured under [edit interfaces] hierarchy",
        "[edit security ipsec vpn ipsec_vpn]",
        "bind-interface st0.7",
    ),
    (
        "delete security ike policy ike_policy pre-shared-key",
        "Either pre-shared-key or local-certificate must be configured in ike policy",
        "[edit security ike]",
        "policy ike_policy",
    ),
    (
        "set security ipsec vpn ipsec_vpn ike gateway other",
        "Referenced IKE gateway must be defined under [edit security ike gateway]",
        "[edit security ipsec vpn ipsec_vpn ike]",
        "gateway other",
    ),
    (
        "set security ipsec vpn ipsec_vpn ike ipsec-policy other",
        "Referenced IPSec policy must be defined under [edit security ipsec policy]",
        "[edit security ipsec vpn ipsec_vpn ike]",
        "ipsec-policy other",
    ),
    (
        "set security ipsec proposal ipsec_prop authentication-algorithm hmac-sha1-96",
        "HMAC Authentication is not compatible with AES-GCM",
        "[edit security ipsec proposal ipsec_prop]",
        "authentication-algorithm hmac-sha1-96",
    ),
    (
        "set security ike gateway ike_gw remote-identity hostname peer2.example\n"
        "set security ike gateway ike_gw general-ikeid",
        "general-ikeid option is not allowed when remote-identity is configured",
        "[edit security ike gateway ike_gw]",
        "general-ikeid",
    ),
    (
        "set services service-set SS1 ipsec-vpn other_vpn",
        "Referenced IPsec VPN must be defined under [edit security ipsec vpn]",
        "[edit services service-set SS1]",
        "ipsec-vpn other_vpn",
    ),
    # what the seed excludes
    (
        "set security ipsec proposal ipsec_prop protocol ah",
        "Inline IPsec supports only protocol esp (AH and bundle are not supported)",
        "[edit security ipsec proposal ipsec_prop]",
        "protocol ah",
    ),
    (
        "set security ipsec proposal ipsec_prop protocol ah",
        "Encryption algorithm must not be defined for AH",
        "[edit security ipsec proposal ipsec_prop]",
        "encryption-algorithm aes-256-gcm",
    ),
    (
        "set security ipsec proposal ipsec_prop protocol bundle",
        "Inline IPsec supports only protocol esp (AH and bundle are not supported)",
        "[edit security ipsec proposal ipsec_prop]",
        "protocol bundle",
    ),
    (
        "set security ike gateway ike_gw version v1-only",
        "Inline IPsec supports IKEv2 only: the referenced IKE gateway must have version v2-only",
        "[edit security ipsec vpn ipsec_vpn ike]",
        "gateway ike_gw",
    ),
    (
        "delete security ike gateway ike_gw version",  # Junos' default is v1-only
        "Inline IPsec supports IKEv2 only: the referenced IKE gateway must have version v2-only",
        "[edit security ipsec vpn ipsec_vpn ike]",
        "gateway ike_gw",
    ),
    (
        "delete security ipsec proposal ipsec_prop encryption-algorithm",
        "NULL encryption is not supported for inline IPsec: configure encryption-algorithm aes-128-gcm or "
        "aes-256-gcm",
        "[edit security ipsec]",
        "proposal ipsec_prop",
    ),
    (
        "set security ipsec proposal ipsec_prop encryption-algorithm aes-256-cbc",
        "Inline IPsec supports only encryption-algorithm aes-128-gcm or aes-256-gcm",
        "[edit security ipsec proposal ipsec_prop]",
        "encryption-algorithm aes-256-cbc",
    ),
    (
        "set security ipsec proposal ipsec_prop encryption-algorithm aes-192-gcm",
        "Inline IPsec supports only encryption-algorithm aes-128-gcm or aes-256-gcm",
        "[edit security ipsec proposal ipsec_prop]",
        "encryption-algorithm aes-192-gcm",
    ),
    (
        "set services service-set SS1 udp-encapsulation destination-port 4500",
        "UDP encapsulation destination-port 4500 is reserved for NAT traversal",
        "[edit services service-set SS1 udp-encapsulation]",
        "destination-port 4500",
    ),
    (
        "set security ipsec proposal ipsec_prop authentication-algorithm hmac-sha-256-128\n"
        "set security ipsec proposal ipsec_prop encryption-algorithm aes-128-gcm",
        "hmac-sha-256-128 algorithm is not supported for IKE and IPSec configuration in security hierarchy",
        "[edit security ipsec proposal ipsec_prop]",
        "authentication-algorithm hmac-sha-256-128",
    ),
    (
        "set interfaces si-0/0/4 unit 0 family inet",
        "At most four inline service interfaces per PIC: si-FPC/PIC/0 to si-FPC/PIC/3",
        "[edit interfaces]",
        "si-0/0/4",
    ),
    (
        "set interfaces si-1/0/0 unit 0 family inet",
        "Inline services must be enabled for this si- interface under [edit chassis fpc N pic M inline-services]",
        "[edit interfaces]",
        "si-1/0/0",
    ),
    (
        "set interfaces et-0/1/8 unit 0 service-domain inside",
        "service-domain is allowed only on si- (inline service) interfaces",
        "[edit interfaces et-0/1/8 unit 0]",
        "service-domain inside",
    ),
    (
        "set services service-set SS1 next-hop-service inside-service-interface si-0/0/0.1",
        "inside-service-interface must have service-domain inside",
        "[edit services service-set SS1 next-hop-service]",
        "inside-service-interface si-0/0/0.1",
    ),
    (
        "set security ipsec vpn ipsec_vpn bind-interface et-0/1/8.0",
        "bind-interface must be a secure tunnel interface st0.N",
        "[edit security ipsec vpn ipsec_vpn]",
        "bind-interface et-0/1/8.0",
    ),
    (
        "set security ipsec vpn ipsec_vpn traffic-selector ts1 local-ip 10.0.0.0/8\n"
        "set security ipsec vpn ipsec_vpn traffic-selector ts1 remote-ip 10.1.0.0/16\n"
        "set security ipsec vpn ipsec_vpn ike proxy-identity local 10.0.0.0/8",
        "traffic-selector and proxy-identity cannot be configured together",
        "[edit security ipsec]",
        "vpn ipsec_vpn",
    ),
    # mandatory statements
    (
        "delete security ike gateway ike_gw ike-policy",
        "Missing mandatory statement: 'ike-policy'",
        "[edit security ike]",
        "gateway ike_gw",
    ),
    (
        "delete security ike gateway ike_gw address",
        "Missing mandatory statement: 'address'",
        "[edit security ike]",
        "gateway ike_gw",
    ),
    (
        "set security ipsec vpn second bind-interface st0.1",
        "Missing mandatory statement: 'ike' or 'manual'",
        "[edit security ipsec]",
        "vpn second",
    ),
    (
        "set system login user bob uid 2002",
        "Missing mandatory statement: 'class'",
        "[edit system login]",
        "user bob",
    ),
]


@pytest.mark.parametrize(("lines", "message", "path", "statement"), CASES, ids=[c[1][:48] for c in CASES])
def test_commit_error(schema, seed_trees, lines, message, path, statement):
    errors = errors_of(schema, seed_trees, lines)
    matching = [e for e in errors if e.message == message]
    assert matching, [e.message for e in errors]
    err = matching[0]
    assert err.error_path == path
    assert err.statement == statement
    assert err.severity == "error" and err.error_tag in ("invalid-value", "missing-element")
    assert err.data_path.startswith("/configuration/")


def test_general_ikeid_alone_is_fine(schema, seed_trees):
    assert errors_of(schema, seed_trees, "set security ike gateway ike_gw general-ikeid") == []


def test_every_error_of_one_commit_is_reported(schema, seed_trees):
    errors = errors_of(
        schema,
        seed_trees,
        "set security ike gateway ike_gw ike-policy nope\n"
        "set security ipsec proposal ipsec_prop protocol ah\n"
        "set security ipsec vpn ipsec_vpn ike gateway nogw\n"
        "set services service-set SS1 udp-encapsulation destination-port 4500\n"
        "set interfaces si-0/0/5 unit 0 family inet\n"
        "set system login user bob uid 2002\n",
    )
    messages = {e.message for e in errors}
    assert {
        "Referenced IKE policy must be defined under [edit security ike policy]",
        "Inline IPsec supports only protocol esp (AH and bundle are not supported)",
        "Referenced IKE gateway must be defined under [edit security ike gateway]",
        "UDP encapsulation destination-port 4500 is reserved for NAT traversal",
        "At most four inline service interfaces per PIC: si-FPC/PIC/0 to si-FPC/PIC/3",
        "Missing mandatory statement: 'class'",
    } <= messages


def test_when_condition_has_the_junos_message(schema, seed_trees):
    tree = with_lines(
        schema,
        seed_trees,
        "delete security ipsec vpn ipsec_vpn ike\n"
        "set security ipsec vpn ipsec_vpn manual gateway 16.1.1.2\n"
        "set security ipsec vpn ipsec_vpn manual external-interface et-0/2/10\n"
        "set security ipsec vpn ipsec_vpn manual spi 300\n"
        "set security ipsec vpn ipsec_vpn manual encryption algorithm aes-128-gcm\n"
        'set security ipsec vpn ipsec_vpn manual encryption key ascii-text "0123456789abcdefghij"\n',
    )
    # the choice took the 'ike' branch out; establish-tunnels (kept from the seed) needs it
    errors = schema.validate(tree)
    assert [(e.message, e.error_path, e.statement) for e in errors] == [
        (
            "VPN must be IKE-keyed to define establish-tunnel method",
            "[edit security ipsec vpn ipsec_vpn]",
            "establish-tunnels immediately",
        )
    ]
    fixed = schema.load(tree, "delete security ipsec vpn ipsec_vpn establish-tunnels", "set").tree
    assert schema.validate(fixed) == []


def test_manual_sa_key_length_rule(schema, seed_trees):
    tree = with_lines(
        schema,
        seed_trees,
        "delete security ipsec vpn ipsec_vpn\n"
        "set security ipsec vpn man bind-interface st0.1\n"
        "set security ipsec vpn man manual gateway 16.1.1.2\n"
        "set security ipsec vpn man manual external-interface et-0/2/10\n"
        "set security ipsec vpn man manual spi 300\n"
        "set security ipsec vpn man manual encryption algorithm aes-256-gcm\n"
        "set security ipsec vpn man manual encryption key hexadecimal 00112233\n"
        "set services service-set SS1 ipsec-vpn man\n",
    )
    errors = schema.validate(tree)
    assert [(e.rule, e.error_path, e.statement) for e in errors] == [
        ("manual_sa_key_length", "[edit security ipsec vpn man manual encryption]", "key hexadecimal")
    ]
    assert "36 bytes" in errors[0].message
    good = schema.load(
        tree, "set security ipsec vpn man manual encryption key hexadecimal " + "ab" * 36, "set"
    ).tree
    assert schema.validate(good) == []


def test_manual_sa_without_encryption_is_null_encryption(schema, seed_trees):
    tree = with_lines(
        schema,
        seed_trees,
        "delete security ipsec vpn ipsec_vpn\n"
        "set security ipsec vpn man bind-interface st0.1\n"
        "set security ipsec vpn man manual gateway 16.1.1.2\n"
        "set security ipsec vpn man manual external-interface et-0/2/10\n"
        "set security ipsec vpn man manual spi 300\n"
        "set services service-set SS1 ipsec-vpn man\n",
    )
    assert [e.message for e in schema.validate(tree)] == [
        "NULL encryption is not supported for inline IPsec: configure encryption algorithm aes-128-gcm or aes-256-gcm"
    ]


def test_service_interface_belongs_to_one_service_set(schema, seed_trees):
    errors = errors_of(
        schema,
        seed_trees,
        "set interfaces si-0/0/1 unit 0 family inet\n"
        "set interfaces si-0/0/1 unit 0 service-domain inside\n"
        "set services service-set SS2 next-hop-service inside-service-interface si-0/0/1.0\n"
        "set services service-set SS2 next-hop-service outside-service-interface si-0/0/0.0\n",
    )
    rule_error = next(e for e in errors if e.rule == "service_interface_in_one_set")
    assert rule_error.statement == "outside-service-interface si-0/0/0.0"
    assert "service set SS1" in rule_error.message


def test_unique_bind_interface(schema, seed_trees):
    errors = errors_of(
        schema,
        seed_trees,
        "set security ipsec vpn vpn2 bind-interface st0.1\n"
        "set security ipsec vpn vpn2 ike gateway ike_gw\n"
        "set security ipsec vpn vpn2 ike ipsec-policy ipsec_policy\n",
    )
    assert [(e.rule, e.statement) for e in errors] == [("unique", "vpn vpn2")]
    assert errors[0].message == "'bind-interface st0.1' must be unique: it is also configured in vpn ipsec_vpn"


def test_udp_port_out_of_range_is_refused_at_load(schema, seed_trees):
    for port in ("65536", "1024", "0"):
        with pytest.raises(LoadError) as exc:
            with_lines(schema, seed_trees, f"set services service-set SS1 udp-encapsulation destination-port {port}")
        (err,) = exc.value.errors
        assert err.message == (
            "UDP encapsulation destination-port must be in the range 1025..65535 (65536 is not a port)"
        )
        assert err.error_path == "[edit services service-set SS1 udp-encapsulation]"
        assert err.line == 1
    ok = with_lines(schema, seed_trees, "set services service-set SS1 udp-encapsulation destination-port 65535")
    assert schema.validate(ok) == []


def test_transport_mode_and_unknown_statements_are_refused_at_load(schema, seed_trees):
    with pytest.raises(LoadError) as exc:
        with_lines(schema, seed_trees, "set security ipsec vpn ipsec_vpn mode transport")
    assert [(e.message, e.statement) for e in exc.value.errors] == [("syntax error", "mode")]


def test_inactive_statements_are_ignored_by_commit(schema, seed_trees):
    bad = with_lines(
        schema, seed_trees,
        "set security ike gateway gw2 ike-policy nope\n"
        "deactivate security ike gateway gw2\n",
    )
    assert schema.validate(bad) == []
    active = schema.load(bad, "activate security ike gateway gw2", "set").tree
    assert {e.message for e in schema.validate(active)} >= {
        "Referenced IKE policy must be defined under [edit security ike policy]"
    }
    # deactivating what others reference makes the reference fail, as on Junos
    gone = with_lines(schema, seed_trees, "deactivate security ike policy ike_policy")
    assert "Referenced IKE policy must be defined under [edit security ike policy]" in {
        e.message for e in schema.validate(gone)
    }


def test_error_cli_text(schema, seed_trees):
    (err,) = errors_of(schema, seed_trees, "set security ike gateway ike_gw ike-policy nope")
    assert err.cli_text() == (
        "[edit security ike gateway ike_gw]\n"
        "  'ike-policy nope'\n"
        "    Referenced IKE policy must be defined under [edit security ike policy]"
    )


def test_both_seed_peers_and_their_secrets(schema, seed_trees):
    for name in SEED_FILES:
        tree = seed_trees[name]
        psk = tree.findtext("security/ike/policy/pre-shared-key/ascii-text")
        assert psk.startswith("$9$")
        from netconf_device.schema import secret

        assert secret.decode9(psk) == "lab-secret-123"
        assert "lab-secret-123" not in schema.render(tree, "text") + schema.render(tree, "xml")


def test_secrets_never_reach_the_logs(schema, caplog):
    caplog.set_level(logging.DEBUG)
    text = seed_text(SEED_FILES[0]).replace("lab-secret-123", "very-secret-psk-9")
    tree = schema.parse(text, "set")
    schema.validate(tree)
    for fmt in ("xml", "text", "set", "json"):
        schema.parse(schema.render(tree, fmt), fmt)
    bad = text + "set security ike gateway ike_gw nat-keepalive 999\n"
    with pytest.raises(LoadError) as exc:
        schema.parse(bad, "set")
    assert "very-secret-psk-9" not in str(exc.value)
    assert all("very-secret-psk-9" not in r.getMessage() for r in caplog.records)
