"""Generate large, valid inline-IPsec configurations (``set`` format) for benchmarks, tests and scale labs.

``vpn_config(n)`` builds one MX304 with ``n`` route-based VPNs, each with its own IKE gateway, IKE policy
(own pre-shared key), ``st0`` unit and static route, sharing one IKE and one IPsec proposal; the seed's
service set and inline-services PIC are included. Every gateway has its own remote address.
"""

from __future__ import annotations

MAX_VPNS = 16385  # st0 units 1..16385


def _remote(index: int) -> str:
    """A distinct remote WAN address per VPN (16.2.0.1, 16.2.0.2, ...)."""
    return f"16.{2 + index // 62500}.{index // 250 % 250}.{index % 250 + 1}"


def vpn_config(n: int, *, host_name: str = "scale") -> str:
    """Set commands of a device with ``n`` VPNs (``vpn_1`` ... ``vpn_<n>`` bound to ``st0.1`` ...)."""
    if not 1 <= n <= MAX_VPNS:
        raise ValueError(f"n must be in 1..{MAX_VPNS}")
    lines = [
        f"set system host-name {host_name}",
        "set system services netconf ssh",
        "set chassis fpc 0 pic 0 inline-services",
        "set interfaces et-0/1/8 unit 0 family inet address 1.1.1.1/24",
        "set interfaces et-0/2/10 unit 0 family inet address 16.1.0.1/8",
        "set interfaces si-0/0/0 unit 0 family inet",
        "set interfaces si-0/0/0 unit 0 service-domain inside",
        "set interfaces si-0/0/0 unit 1 family inet",
        "set interfaces si-0/0/0 unit 1 service-domain outside",
        "set services service-set SS1 next-hop-service inside-service-interface si-0/0/0.0",
        "set services service-set SS1 next-hop-service outside-service-interface si-0/0/0.1",
        "set services service-set SS1 ipsec-vpn vpn_1",
        "set security ike proposal ike_prop authentication-method pre-shared-keys",
        "set security ike proposal ike_prop dh-group group19",
        "set security ike proposal ike_prop encryption-algorithm aes-256-cbc",
        "set security ike proposal ike_prop authentication-algorithm sha-256",
        "set security ipsec proposal ipsec_prop protocol esp",
        "set security ipsec proposal ipsec_prop encryption-algorithm aes-256-gcm",
        "set security ipsec policy ipsec_policy proposals ipsec_prop",
    ]
    for i in range(1, n + 1):
        gw, pol, vpn = f"gw_{i}", f"ike_pol_{i}", f"vpn_{i}"
        remote_net = f"20.{i // 250}.{i % 250}.0/24"
        lines += [
            f"set interfaces st0 unit {i} family inet",
            f"set security ike policy {pol} mode main",
            f"set security ike policy {pol} proposals ike_prop",
            f'set security ike policy {pol} pre-shared-key ascii-text "psk-{i:05d}-secret"',
            f"set security ike gateway {gw} ike-policy {pol}",
            f"set security ike gateway {gw} address {_remote(i)}",
            f"set security ike gateway {gw} external-interface et-0/2/10",
            f"set security ike gateway {gw} version v2-only",
            f"set security ipsec vpn {vpn} bind-interface st0.{i}",
            f"set security ipsec vpn {vpn} ike gateway {gw}",
            f"set security ipsec vpn {vpn} ike ipsec-policy ipsec_policy",
            f"set security ipsec vpn {vpn} establish-tunnels on-traffic",
            f"set routing-options static route {remote_net} next-hop st0.{i}",
        ]
    return "\n".join(lines) + "\n"
