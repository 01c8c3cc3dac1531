"""Intent compiler: the seed example, Junos defaults, resolution (local address, UDP encapsulation, tunnel
indices), secrets, PKI files, inactive statements, and ``diff_intent`` precision. Real schema throughout."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netconf_device.config.compile import FALLBACK_INDEX_BASE, compile_intent
from netconf_device.config.errors import DatastoreError
from netconf_device.config.generate import vpn_config
from netconf_device.config.intent import TUNNEL_INDEX_BASE, DeadPeerDetection, diff_intent
from netconf_device.schema import secret


def compile_set(schema, text: str, **kwargs):
    tree = schema.parse(text, "set")
    errors = [e for e in schema.validate(tree) if e.severity != "warning"]
    assert not errors, [e.cli_text() for e in errors]
    return compile_intent(tree, decode_secret=secret.decode9, **kwargs)


def test_seed_peer1_compiles_with_junos_defaults(schema, seed_set):
    intent = compile_set(schema, seed_set[1])
    assert intent.system.host_name == "peer1" and intent.system.netconf_ssh_port == 830
    assert intent.system.users[0].name == "lab" and intent.system.users[0].login_class == "super-user"
    assert [(p.fpc, p.pic) for p in intent.inline_services] == [(0, 0)]
    vpn = intent.ipsec_vpns["ipsec_vpn"]
    assert vpn.bind_interface == "st0.1" and vpn.tunnel_index == TUNNEL_INDEX_BASE + 1 == 500001
    assert vpn.establish_tunnels == "immediately"
    assert vpn.df_bit == "copy" and vpn.anti_replay_window == 64 and not vpn.extended_sequence_number
    assert vpn.service_set == "SS1" and vpn.udp_encapsulation is None
    assert vpn.traffic_selectors == ()
    gateway = vpn.gateway
    assert gateway is intent.ike_gateways["ike_gw"] or gateway == intent.ike_gateways["ike_gw"]
    assert gateway.addresses == ("16.1.1.2",) and gateway.version == "v2-only"
    assert gateway.external_interface == "et-0/2/10.0"  # no unit given: unit 0
    assert gateway.local_address == ipaddress.ip_address("16.1.1.1")  # resolved from the interface
    assert gateway.nat_keepalive == 5 and gateway.dead_peer_detection is None and gateway.fragmentation
    assert gateway.policy.pre_shared_key == b"lab-secret-123"  # $9$ in the tree, decoded here only
    assert gateway.policy.mode == "main"
    proposal = gateway.policy.proposals[0]
    assert proposal.name == "ike_prop" and proposal.authentication_method == "pre-shared-keys"
    esp = vpn.ipsec_policy.proposals[0]
    assert esp.encryption_algorithm == "aes-256-gcm" and esp.authentication_algorithm is None
    assert esp.lifetime_seconds == 3600
    routes = {str(r.prefix): r.next_hops for r in intent.static_routes}
    assert routes == {"2.2.2.0/24": ("st0.1",)}
    si = intent.logical_interfaces()
    assert si["si-0/0/0.0"].service_domain == "inside" and si["si-0/0/0.1"].service_domain == "outside"
    assert intent.service_sets["SS1"].inside_service_interface == "si-0/0/0.0"
    assert "lab-secret-123" not in repr(intent)  # secrets never reach logs through repr


def test_seed_peer2_compiles(schema, seed_set):
    intent = compile_set(schema, seed_set[2])
    gateway = intent.ipsec_vpns["ipsec_vpn"].gateway
    assert gateway.local_address == ipaddress.ip_address("16.1.1.2") and gateway.addresses == ("16.1.1.1",)


def test_dpd_nat_keepalive_and_explicit_options(schema, seed_set):
    text = seed_set[1] + "\n".join([
        "set security ike gateway ike_gw dead-peer-detection",
        "set security ike gateway ike_gw nat-keepalive 20",
        "set security ike gateway ike_gw local-identity hostname peer1.example",
        "set security ike gateway ike_gw remote-identity inet 16.1.1.2",
        "set security ipsec vpn ipsec_vpn df-bit clear",
        "set security ipsec vpn ipsec_vpn anti-replay-window-size 512",
        "set security ipsec vpn ipsec_vpn extended-sequence-number",
        "set security ipsec vpn ipsec_vpn tunnel-mtu 1400",
        "set security ipsec vpn ipsec_vpn traffic-selector ts1 local-ip 1.1.1.0/24",
        "set security ipsec vpn ipsec_vpn traffic-selector ts1 remote-ip 2.2.2.0/24",
    ]) + "\n"
    intent = compile_set(schema, text)
    gateway = intent.ike_gateways["ike_gw"]
    assert gateway.dead_peer_detection == DeadPeerDetection("optimized", 10, 5)
    assert gateway.nat_keepalive == 20
    assert (gateway.local_identity.kind, gateway.local_identity.value) == ("hostname", "peer1.example")
    assert (gateway.remote_identity.kind, gateway.remote_identity.value) == ("inet", "16.1.1.2")
    vpn = intent.ipsec_vpns["ipsec_vpn"]
    assert (vpn.df_bit, vpn.anti_replay_window, vpn.extended_sequence_number, vpn.tunnel_mtu) == \
        ("clear", 512, True, 1400)
    assert [(t.name, str(t.local), str(t.remote)) for t in vpn.traffic_selectors] == \
        [("ts1", "1.1.1.0/24", "2.2.2.0/24")]

    text2 = seed_set[1] + "\n".join([
        "set security ike gateway ike_gw dead-peer-detection always-send",
        "set security ike gateway ike_gw dead-peer-detection interval 20",
        "set security ike gateway ike_gw dead-peer-detection threshold 3",
        "set security ipsec vpn ipsec_vpn ike no-anti-replay",
    ]) + "\n"
    intent2 = compile_set(schema, text2)
    assert intent2.ike_gateways["ike_gw"].dead_peer_detection == DeadPeerDetection("always-send", 20, 3)
    assert intent2.ipsec_vpns["ipsec_vpn"].anti_replay_window == 0


def test_udp_encapsulation_comes_from_the_service_set(schema, seed_set):
    intent = compile_set(schema, seed_set[1] + "set services service-set SS1 udp-encapsulation\n")
    assert intent.ipsec_vpns["ipsec_vpn"].udp_encapsulation.destination_port == 500
    intent = compile_set(schema, seed_set[1] + "set services service-set SS1 udp-encapsulation destination-port 4789\n")
    assert intent.ipsec_vpns["ipsec_vpn"].udp_encapsulation.destination_port == 4789
    assert intent.service_sets["SS1"].udp_encapsulation.destination_port == 4789


def test_hexadecimal_psk_and_ipv6_local_address(schema, seed_set):
    text = (seed_set[1]
            .replace('pre-shared-key ascii-text "lab-secret-123"', "pre-shared-key hexadecimal 0a0b0c0d")
            .replace("address 16.1.1.2", "address 2001:db8::2")
            + "set interfaces et-0/2/10 unit 0 family inet6 address 2001:db8::1/64\n")
    gateway = compile_set(schema, text).ike_gateways["ike_gw"]
    assert gateway.policy.pre_shared_key == bytes.fromhex("0a0b0c0d")
    assert gateway.local_address == ipaddress.ip_address("2001:db8::1")


def test_inactive_statements_are_not_compiled(schema, seed_set):
    intent = compile_set(schema, seed_set[1] + "deactivate routing-options static route 2.2.2.0/24\n"
                                               "set security ipsec vpn ipsec_vpn df-bit set\n"
                                               "deactivate security ipsec vpn ipsec_vpn df-bit\n")
    assert intent.static_routes == () and intent.ipsec_vpns["ipsec_vpn"].df_bit == "copy"


def _two_vpns_same_unit(schema, seed_set, previous=None, name="aaa_vpn"):
    extra = "\n".join([
        f"set security ipsec vpn {name} bind-interface st0.1",
        f"set security ipsec vpn {name} ike gateway ike_gw",
        f"set security ipsec vpn {name} ike ipsec-policy ipsec_policy",
    ]) + "\n"
    tree = schema.parse(seed_set[1] + extra, "set")
    return compile_intent(tree, decode_secret=secret.decode9, previous=previous)


def test_tunnel_index_collision_falls_back_deterministically(schema, seed_set):
    first = _two_vpns_same_unit(schema, seed_set)
    # name order decides who gets 500001; the other gets the first index no st0 unit can claim
    assert first.ipsec_vpns["aaa_vpn"].tunnel_index == 500001
    assert first.ipsec_vpns["ipsec_vpn"].tunnel_index == FALLBACK_INDEX_BASE
    again = _two_vpns_same_unit(schema, seed_set)
    assert {n: v.tunnel_index for n, v in again.ipsec_vpns.items()} == \
        {n: v.tunnel_index for n, v in first.ipsec_vpns.items()}
    # a fallback index is kept across commits even when a new VPN would sort before it
    previous = _two_vpns_same_unit(schema, seed_set, name="zzz_vpn")
    assert previous.ipsec_vpns["zzz_vpn"].tunnel_index == FALLBACK_INDEX_BASE
    assert len({v.tunnel_index for v in previous.ipsec_vpns.values()}) == 2


def test_pki_files_are_read_and_errors_name_the_file(schema, seed_set, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "peer1.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "peer1.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    pki = "\n".join([
        "set security pki ca-profile ca1 ca-identity ca1",
        "set security pki ca-profile ca1 certificate-file peer1.pem",
        "set security pki local-certificate lc1 certificate-file peer1.pem",
        "set security pki local-certificate lc1 private-key-file peer1.key",
    ]) + "\n"
    intent = compile_set(schema, seed_set[1] + pki, base_dir=tmp_path)
    assert intent.local_certificates["lc1"].certificate_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in intent.local_certificates["lc1"].private_key_pem
    assert intent.ca_profiles["ca1"].certificate_pem == (tmp_path / "peer1.pem").read_bytes()

    broken = pki.replace("private-key-file peer1.key", "private-key-file missing.key") \
        .replace("ca-profile ca1 certificate-file peer1.pem", "ca-profile ca1 certificate-file garbage.pem")
    tree = schema.parse(seed_set[1] + broken, "set")
    with pytest.raises(DatastoreError) as err:
        compile_intent(tree, decode_secret=secret.decode9, base_dir=tmp_path)
    problems = {p.error_path: p for p in err.value.problems}
    missing = problems["[edit security pki local-certificate lc1]"]
    assert "missing.key" in missing.message and "No such file" in missing.message
    assert missing.statement == "private-key-file"
    assert "garbage.pem" in problems["[edit security pki ca-profile ca1]"].message


def test_manual_sa_key_decoded_and_length_checked(schema, seed_set):
    key = "k" * 32 + "salt"
    manual = "\n".join([
        "set interfaces st0 unit 7 family inet",
        "set security ipsec vpn man bind-interface st0.7",
        "set security ipsec vpn man manual gateway 16.1.1.2",
        "set security ipsec vpn man manual external-interface et-0/2/10",
        "set security ipsec vpn man manual protocol esp",
        "set security ipsec vpn man manual spi 300",
        "set security ipsec vpn man manual encryption algorithm aes-256-gcm",
        f'set security ipsec vpn man manual encryption key ascii-text "{key}"',
    ]) + "\n"
    sa = compile_set(schema, seed_set[1] + manual).ipsec_vpns["man"].manual
    assert sa.key == key.encode() and sa.spi == 300 and sa.local_address == ipaddress.ip_address("16.1.1.1")
    assert compile_set(schema, seed_set[1] + manual).ipsec_vpns["man"].tunnel_index == 500007
    tree = schema.parse(seed_set[1] + manual.replace(key, "short"), "set")
    with pytest.raises(DatastoreError, match="must be 36 bytes"):
        compile_intent(tree, decode_secret=secret.decode9)


def test_changing_one_psk_marks_exactly_that_vpn_changed(schema):
    text = vpn_config(5)
    old = compile_set(schema, text)
    new = compile_set(schema, text.replace('"psk-00003-secret"', '"rotated-secret"'))
    diff = diff_intent(old, new)
    assert diff.ipsec_vpns.changed == ("vpn_3",)
    assert diff.ike_gateways.changed == ("gw_3",)
    assert not diff.ipsec_vpns.added and not diff.ipsec_vpns.removed
    assert not diff.interfaces and not diff.service_sets and not diff.static_routes_changed
    assert new.ipsec_vpns["vpn_3"].gateway.policy.pre_shared_key == b"rotated-secret"
    # a shared object (the IPsec proposal) changes every VPN that uses it
    every = diff_intent(old, compile_set(schema, text + "set security ipsec proposal ipsec_prop lifetime-seconds 7200\n"))
    assert set(every.ipsec_vpns.changed) == {f"vpn_{i}" for i in range(1, 6)}
    assert diff_intent(old, compile_set(schema, text)).is_empty  # recompiling the same text: no change
    assert not diff.is_empty


def test_gateway_version_defaults_to_junos_v1_only(schema, seed_set):
    extra = "\n".join([
        "set security ike gateway spare ike-policy ike_policy",
        "set security ike gateway spare address 16.1.1.9",
        "set security ike gateway spare external-interface et-0/2/10.0",
    ]) + "\n"
    intent = compile_set(schema, seed_set[1] + extra)
    assert intent.ike_gateways["spare"].version == "v1-only"  # unused by any VPN, so the commit is valid
    assert intent.ike_gateways["ike_gw"].version == "v2-only"
