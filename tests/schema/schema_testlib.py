"""Helpers of the schema tests (a module of its own: ``conftest`` is a name every test area uses)."""

from __future__ import annotations

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED_FILES = ("labs/mx304-p2p/peer1.set", "labs/mx304-p2p/peer2.set")


def seed_text(name: str) -> str:
    with open(os.path.join(REPO_ROOT, name), encoding="utf-8") as fh:
        return fh.read()


def vpn_set_config(count: int) -> str:
    """``count`` route-based VPNs, each with its own IKE policy (own key), gateway, st0 unit and route."""
    lines = [
        "set system host-name scale",
        "set chassis fpc 0 pic 0 inline-services",
        "set interfaces et-0/2/10 unit 0 family inet address 16.0.0.1/16",
        "set interfaces si-0/0/0 unit 0 family inet",
        "set interfaces si-0/0/0 unit 0 service-domain inside",
        "set interfaces si-0/0/0 unit 1 family inet",
        "set interfaces si-0/0/0 unit 1 service-domain outside",
        "set security ike proposal ike_prop authentication-method pre-shared-keys",
        "set security ike proposal ike_prop dh-group group19",
        "set security ike proposal ike_prop encryption-algorithm aes-256-cbc",
        "set security ike proposal ike_prop authentication-algorithm sha-256",
        "set security ipsec proposal esp_gcm protocol esp",
        "set security ipsec proposal esp_gcm encryption-algorithm aes-256-gcm",
        "set security ipsec policy ipsec_policy proposals esp_gcm",
    ]
    for i in range(1, count + 1):
        peer = f"16.{1 + i // 250}.{i % 250}.2"
        lines += [
            f"set security ike policy pol{i} proposals ike_prop",
            f'set security ike policy pol{i} pre-shared-key ascii-text "key-{i}-secret"',
            f"set security ike gateway gw{i} ike-policy pol{i}",
            f"set security ike gateway gw{i} address {peer}",
            f"set security ike gateway gw{i} external-interface et-0/2/10.0",
            f"set security ike gateway gw{i} version v2-only",
            f"set security ike gateway gw{i} dead-peer-detection probe-idle-tunnel",
            f"set security ipsec vpn vpn{i} bind-interface st0.{i}",
            f"set security ipsec vpn vpn{i} ike gateway gw{i}",
            f"set security ipsec vpn vpn{i} ike ipsec-policy ipsec_policy",
            f"set security ipsec vpn vpn{i} establish-tunnels immediately",
            f"set interfaces st0 unit {i} family inet",
            f"set routing-options static route 10.{i // 250}.{i % 250}.0/24 next-hop st0.{i}",
        ]
    lines.append("set services service-set SS1 next-hop-service inside-service-interface si-0/0/0.0")
    lines.append("set services service-set SS1 next-hop-service outside-service-interface si-0/0/0.1")
    lines.append("set services service-set SS1 ipsec-vpn vpn1")
    return "\n".join(lines) + "\n"
