"""The YANG modules: pyang-clean, tree documented, the contract's statements, Junos defaults and ranges."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from schema_testlib import REPO_ROOT

YANG_DIR = Path(REPO_ROOT) / "yang"
PYANG = [sys.executable, "-m", "pyang"]


def _modules() -> list[str]:
    return sorted(str(p) for p in YANG_DIR.glob("*.yang"))


def _conf_modules() -> list[str]:
    return sorted(str(p) for p in YANG_DIR.glob("nd-junos-conf-*.yang"))


def test_pyang_strict_and_lint_are_clean():
    result = subprocess.run(
        [*PYANG, "--strict", "--lint", "-p", str(YANG_DIR), *_modules()],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result.stdout + result.stderr


def test_every_module_is_yang_1_1_in_our_own_namespace():
    for path in _modules():
        text = Path(path).read_text()
        assert "yang-version 1.1;" in text, path
        name = Path(path).stem
        assert f'namespace "urn:netconf-device:{name.removeprefix("nd-")}";' in text, path


def test_yang_tree_document_is_current():
    """docs/yang-tree.txt is `pyang -f tree -p yang yang/nd-junos-conf-*.yang` (regenerate with that)."""
    result = subprocess.run(
        [*PYANG, "-f", "tree", "-p", str(YANG_DIR), *_conf_modules()],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    committed = (Path(REPO_ROOT) / "docs" / "yang-tree.txt").read_text()
    assert committed == result.stdout, "docs/yang-tree.txt is stale: regenerate it with pyang -f tree"


# Every statement of CONFIG-CONTRACT.md (schema path, kind).
CONTRACT = [
    ("version", "leaf"),
    ("system/host-name", "leaf"),
    ("system/domain-name", "leaf"),
    ("system/login/user", "list"),
    ("system/login/user/uid", "leaf"),
    ("system/login/user/class", "leaf"),
    ("system/login/user/authentication/encrypted-password", "leaf"),
    ("system/login/user/authentication/ssh-rsa", "list"),
    ("system/login/user/authentication/ssh-ecdsa", "list"),
    ("system/login/user/authentication/ssh-ed25519", "list"),
    ("system/services/netconf/ssh", "container"),
    ("system/services/netconf/ssh/port", "leaf"),
    ("chassis/fpc/pic/inline-services", "container"),
    ("chassis/fpc/pic/inline-services/bandwidth", "leaf"),
    ("interfaces/interface", "list"),
    ("interfaces/interface/description", "leaf"),
    ("interfaces/interface/mtu", "leaf"),
    ("interfaces/interface/disable", "leaf"),
    ("interfaces/interface/unit", "list"),
    ("interfaces/interface/unit/description", "leaf"),
    ("interfaces/interface/unit/disable", "leaf"),
    ("interfaces/interface/unit/family/inet", "container"),
    ("interfaces/interface/unit/family/inet/mtu", "leaf"),
    ("interfaces/interface/unit/family/inet/address", "list"),
    ("interfaces/interface/unit/family/inet6/address", "list"),
    ("interfaces/interface/unit/service-domain", "leaf"),
    ("routing-options/static/route", "list"),
    ("routing-options/static/route/next-hop", "leaf-list"),
    ("routing-options/static/route/discard", "leaf"),
    ("routing-options/static/route/reject", "leaf"),
    ("routing-options/rib/static/route/next-hop", "leaf-list"),
    ("services/service-set", "list"),
    ("services/service-set/next-hop-service/inside-service-interface", "leaf"),
    ("services/service-set/next-hop-service/outside-service-interface", "leaf"),
    ("services/service-set/ipsec-vpn", "leaf"),
    ("services/service-set/udp-encapsulation", "container"),
    ("services/service-set/udp-encapsulation/destination-port", "leaf"),
    ("security/ike/proposal/description", "leaf"),
    ("security/ike/proposal/authentication-method", "leaf"),
    ("security/ike/proposal/dh-group", "leaf"),
    ("security/ike/proposal/authentication-algorithm", "leaf"),
    ("security/ike/proposal/encryption-algorithm", "leaf"),
    ("security/ike/proposal/lifetime-seconds", "leaf"),
    ("security/ike/policy/mode", "leaf"),
    ("security/ike/policy/description", "leaf"),
    ("security/ike/policy/proposals", "leaf-list"),
    ("security/ike/policy/pre-shared-key/ascii-text", "leaf"),
    ("security/ike/policy/pre-shared-key/hexadecimal", "leaf"),
    ("security/ike/policy/certificate/local-certificate", "leaf"),
    ("security/ike/policy/reauth-frequency", "leaf"),
    ("security/ike/gateway/ike-policy", "leaf"),
    ("security/ike/gateway/address", "leaf-list"),
    ("security/ike/gateway/dead-peer-detection", "container"),
    ("security/ike/gateway/dead-peer-detection/optimized", "leaf"),
    ("security/ike/gateway/dead-peer-detection/always-send", "leaf"),
    ("security/ike/gateway/dead-peer-detection/probe-idle-tunnel", "leaf"),
    ("security/ike/gateway/dead-peer-detection/interval", "leaf"),
    ("security/ike/gateway/dead-peer-detection/threshold", "leaf"),
    ("security/ike/gateway/nat-keepalive", "leaf"),
    ("security/ike/gateway/no-nat-traversal", "leaf"),
    ("security/ike/gateway/local-identity/inet/identity-ipv4", "leaf"),
    ("security/ike/gateway/local-identity/inet6/identity-ipv6", "leaf"),
    ("security/ike/gateway/local-identity/hostname/identity-hostname", "leaf"),
    ("security/ike/gateway/local-identity/user-at-hostname/identity-user", "leaf"),
    ("security/ike/gateway/local-identity/distinguished-name", "leaf"),
    ("security/ike/gateway/remote-identity/distinguished-name/container", "leaf"),
    ("security/ike/gateway/remote-identity/distinguished-name/wildcard", "leaf"),
    ("security/ike/gateway/external-interface", "leaf"),
    ("security/ike/gateway/local-address", "leaf"),
    ("security/ike/gateway/version", "leaf"),
    ("security/ike/gateway/fragmentation/disable", "leaf"),
    ("security/ike/gateway/fragmentation/size", "leaf"),
    ("security/ike/gateway/general-ikeid", "leaf"),
    ("security/ipsec/proposal/description", "leaf"),
    ("security/ipsec/proposal/protocol", "leaf"),
    ("security/ipsec/proposal/authentication-algorithm", "leaf"),
    ("security/ipsec/proposal/encryption-algorithm", "leaf"),
    ("security/ipsec/proposal/lifetime-seconds", "leaf"),
    ("security/ipsec/proposal/lifetime-kilobytes", "leaf"),
    ("security/ipsec/policy/description", "leaf"),
    ("security/ipsec/policy/perfect-forward-secrecy/keys", "leaf"),
    ("security/ipsec/policy/proposals", "leaf-list"),
    ("security/ipsec/vpn/bind-interface", "leaf"),
    ("security/ipsec/vpn/df-bit", "leaf"),
    ("security/ipsec/vpn/tunnel-mtu", "leaf"),
    ("security/ipsec/vpn/anti-replay-window-size", "leaf"),
    ("security/ipsec/vpn/extended-sequence-number", "leaf"),
    ("security/ipsec/vpn/ike/gateway", "leaf"),
    ("security/ipsec/vpn/ike/ipsec-policy", "leaf"),
    ("security/ipsec/vpn/ike/no-anti-replay", "leaf"),
    ("security/ipsec/vpn/ike/proxy-identity/local", "leaf"),
    ("security/ipsec/vpn/ike/proxy-identity/remote", "leaf"),
    ("security/ipsec/vpn/manual/gateway", "leaf"),
    ("security/ipsec/vpn/manual/external-interface", "leaf"),
    ("security/ipsec/vpn/manual/protocol", "leaf"),
    ("security/ipsec/vpn/manual/spi", "leaf"),
    ("security/ipsec/vpn/manual/encryption/algorithm", "leaf"),
    ("security/ipsec/vpn/manual/encryption/key/ascii-text", "leaf"),
    ("security/ipsec/vpn/manual/encryption/key/hexadecimal", "leaf"),
    ("security/ipsec/vpn/establish-tunnels", "leaf"),
    ("security/ipsec/vpn/traffic-selector/local-ip", "leaf"),
    ("security/ipsec/vpn/traffic-selector/remote-ip", "leaf"),
    ("security/pki/ca-profile/ca-identity", "leaf"),
    ("security/pki/ca-profile/certificate-file", "leaf"),
    ("security/pki/local-certificate/certificate-file", "leaf"),
    ("security/pki/local-certificate/private-key-file", "leaf"),
]


@pytest.mark.parametrize(("path", "kind"), CONTRACT)
def test_contract_statement_exists(schema, path, kind):
    node = schema.model.node_at(path.split("/"))
    assert node is not None, f"{path} is missing from the YANG modules"
    assert node.kind == kind


# Junos defaults (and the contract's where Junos has none).
DEFAULTS = {
    "system/services/netconf/ssh/port": "830",
    "security/ike/policy/mode": "main",
    "security/ike/policy/reauth-frequency": "0",
    "security/ike/proposal/lifetime-seconds": "28800",
    "security/ike/gateway/dead-peer-detection/interval": "10",
    "security/ike/gateway/dead-peer-detection/threshold": "5",
    "security/ike/gateway/nat-keepalive": "5",
    "security/ike/gateway/version": "v1-only",
    "security/ipsec/proposal/lifetime-seconds": "3600",
    "security/ipsec/proposal/protocol": "esp",
    "security/ipsec/vpn/df-bit": "copy",
    "security/ipsec/vpn/anti-replay-window-size": "64",
    "security/ipsec/vpn/establish-tunnels": "on-traffic",
    "services/service-set/udp-encapsulation/destination-port": "500",
}
RANGES = {
    "system/services/netconf/ssh/port": "1..65535",
    "chassis/fpc/name": "0..11",
    "chassis/fpc/pic/name": "0..3",
    "interfaces/interface/mtu": "256..9192",
    "interfaces/interface/unit/name": "0..16385",
    "security/ike/proposal/lifetime-seconds": "180..86400",
    "security/ike/policy/reauth-frequency": "0..100",
    "security/ike/gateway/dead-peer-detection/interval": "2..60",
    "security/ike/gateway/dead-peer-detection/threshold": "1..5",
    "security/ike/gateway/nat-keepalive": "1..300",
    "security/ike/gateway/fragmentation/size": "500..9216",
    "security/ipsec/proposal/lifetime-seconds": "180..86400",
    "security/ipsec/proposal/lifetime-kilobytes": "64..4294967294",
    "security/ipsec/vpn/tunnel-mtu": "256..9192",
    "security/ipsec/vpn/anti-replay-window-size": "64..8192",
    "security/ipsec/vpn/manual/spi": "256..16639",
    "services/service-set/udp-encapsulation/destination-port": "500|1025..65535",
}


@pytest.mark.parametrize(("path", "default"), sorted(DEFAULTS.items()))
def test_defaults(schema, path, default):
    assert schema.model.node_at(path.split("/")).default == default


@pytest.mark.parametrize(("path", "rng"), sorted(RANGES.items()))
def test_ranges(schema, path, rng):
    assert schema.model.node_at(path.split("/")).range_text == rng


def test_enumerations_follow_the_contract(schema):
    node = schema.model.node_at
    assert node(["security", "ike", "proposal", "dh-group"]).enums == (
        "group1", "group2", "group5", "group14", "group15", "group16", "group19", "group20", "group21",
        "group24", "group31",
    )
    assert node(["security", "ipsec", "vpn", "establish-tunnels"]).enums == (
        "immediately", "on-traffic", "responder-only",
    )
    assert set(node(["security", "ipsec", "proposal", "encryption-algorithm"]).enums) >= {
        "aes-128-gcm", "aes-256-gcm", "aes-256-cbc",
    }
    assert node(["system", "login", "user", "class"]).enums == (
        "super-user", "operator", "read-only", "unauthorized",
    )


def test_display_hints_come_from_the_yang_extensions(schema):
    node = schema.model.node_at
    assert node(["interfaces", "interface"]).nokeyword
    assert node(["interfaces", "interface", "unit", "family"]).flat
    assert node(["security", "ike", "gateway", "local-identity"]).oneliner
    assert node(["security", "ike", "policy", "pre-shared-key"]).oneliner
    assert node(["routing-options", "static", "route"]).oneliner_plus
    psk = node(["security", "ike", "policy", "pre-shared-key", "ascii-text"])
    assert psk.secret_data and psk.obfuscate9
    assert node(["system", "login", "user", "authentication", "encrypted-password"]).secret_data
    assert node(["security", "ipsec", "vpn", "establish-tunnels"]).when_message == (
        "VPN must be IKE-keyed to define establish-tunnel method"
    )


def test_modules_for_get_schema(schema):
    modules = {m.name: m for m in schema.modules}
    assert {"nd-junos-conf-root", "nd-junos-conf-security", "nd-junos-types", "nd-junos-extensions"} <= set(modules)
    sec = modules["nd-junos-conf-security"]
    assert sec.namespace == "urn:netconf-device:junos-conf-security"
    assert sec.revision == "2026-11-27" and sec.prefix == "jc-security"
    assert sec.text == (YANG_DIR / "nd-junos-conf-security.yang").read_text()


def test_schema_loads_without_repository_cwd(tmp_path):
    """The YANG directory is found from the package, not from the working directory."""
    code = "from netconf_device.schema import get_schema; print(len(get_schema().modules))"
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(_modules())
