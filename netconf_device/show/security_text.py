"""Junos XML replies -> CLI text of `show security ike|ipsec ...` (reference/junos-xml.md §2).

The renderers read the XML reply, never the views, so the XML and the text cannot disagree (DESIGN principle
5). Layouts follow the spacing-preserving captures (vSRX 24.4R1, cSRX); lines marked DERIVED have no
capture and follow the closest one. Every function returns the text with a trailing newline, or ``""``
when Junos prints nothing.
"""

from __future__ import annotations

from netconf_device.show.xmlutil import Element, child, children, style_of, text_of, texts


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _capitalized(word: str) -> str:
    """``responder`` -> ``Responder`` (XML carries the lower-case role, the CLI capitalises it)."""
    return word[:1].upper() + word[1:]


# ============================================================================================ IKE SAs

# Captured header (bpfrx notes: the line ends with three spaces).
IKE_BRIEF_HEADER = "Index   State  Initiator cookie  Responder cookie  Mode           Remote Address   "


def render_ike_security_associations(top: Element) -> str:
    """`show security ike security-associations [brief|detail|index N]`. No SA: nothing is printed."""
    blocks = children(top, "ike-security-associations-block")
    style = style_of(top) or ("detail" if blocks else "brief")
    if style == "detail":
        return "\n".join(_ike_sa_detail(block) for block in blocks)
    entries = children(top, "ike-security-associations")
    if not entries:
        return ""
    lines = [IKE_BRIEF_HEADER]
    for entry in entries:
        row = texts(entry)  # one pass over the row's leaves (listings have thousands of rows)
        # The cookies start at column 15 whatever the index width: an 8-digit index pushes the state one
        # column right and eats into its padding (captured on vSRX 24.4).
        index_state = f"{row.get('ike-sa-index', ''):<7} {row.get('ike-sa-state', '')}".ljust(14) + " "
        lines.append(
            f"{index_state}{row.get('ike-sa-initiator-cookie', ''):<16}  "
            f"{row.get('ike-sa-responder-cookie', ''):<16}  "
            f"{row.get('ike-sa-exchange-type', ''):<15}{row.get('ike-sa-remote-address', '')}"
        )
    return _join(lines)


def _counter(label: str, value: str, end_column: int = 39) -> str:
    """``Input  bytes  :                  584``: values right-aligned to one column (captured, IKEv1)."""
    return f"{label}{value:>{max(1, end_column - len(label))}}"


def _ike_sa_detail(block: Element) -> str:
    sa = child(block, "ike-security-associations")
    if sa is None:
        return ""
    lines = [
        f"IKE peer {text_of(block, 'ike-sa-remote-address')}, Index {text_of(block, 'ike-sa-index')}, "
        f"Gateway Name: {text_of(block, 'ike-gw-name')}",
        f"  Role: {_capitalized(text_of(sa, 'ike-sa-role'))}, State: {text_of(sa, 'ike-sa-state')}",
        f"  Initiator cookie: {text_of(sa, 'ike-sa-initiator-cookie')}, "
        f"Responder cookie: {text_of(sa, 'ike-sa-responder-cookie')}",
        f"  Exchange type: {text_of(sa, 'ike-sa-exchange-type')}, "
        f"Authentication method: {text_of(sa, 'ike-sa-authentication-method')}",
    ]
    if child(sa, "ike-sa-local-gateway-interface") is not None:  # DERIVED lines (newer iked releases)
        lines.append(f"  Local gateway interface: {text_of(sa, 'ike-sa-local-gateway-interface')}")
        lines.append(f"  Routing instance: {text_of(sa, 'ike-sa-routing-instance')}")
    lines += [
        f"  Local: {text_of(sa, 'ike-sa-local-address')}:{text_of(sa, 'ike-sa-local-port')}, "
        f"Remote: {text_of(sa, 'ike-sa-remote-address')}:{text_of(sa, 'ike-sa-remote-port')}",
        f"  Lifetime: {text_of(sa, 'ike-sa-lifetime')}",
        f"  Reauth Lifetime: {text_of(sa, 'ike-sa-reauthlifetime')}",
        f"  IKE Fragmentation: {text_of(sa, 'ike-sa-ike-frag')}, Size: {text_of(sa, 'ike-sa-frag-size')}",
        f"  Remote Access Client Info: {text_of(sa, 'ike-sa-remote-client-info')}",
    ]
    xauth = child(sa, "ike-xauth-user-info")
    if xauth is not None:
        lines.append(f"  Peer ike-id: {text_of(xauth, 'ike-ike-id')}")
        lines.append(f"  AAA assigned IP: {text_of(xauth, 'ike-xauth-user-assigned-ip')}")
    algorithms = child(sa, "ike-sa-algorithms")
    if algorithms is not None:
        lines += [
            "  Algorithms:",
            # The trailing space after the integrity algorithm is in both captures.
            f"   Authentication        : {text_of(algorithms, 'ike-sa-authentication-algorithm')} ",
            f"   Encryption            : {text_of(algorithms, 'ike-sa-encryption-algorithm')}",
            f"   Pseudo random function: {text_of(algorithms, 'ike-sa-prf-algorithm')}",
            f"   Diffie-Hellman group  : {text_of(algorithms, 'ike-sa-dhgroup')}",
        ]
    traffic = child(sa, "ike-sa-traffic-statistics")
    if traffic is not None:
        lines += [
            "  Traffic statistics:",
            _counter("   Input  bytes  :", text_of(traffic, "ike-sa-input-bytes")),
            _counter("   Output bytes  :", text_of(traffic, "ike-sa-output-bytes")),
            _counter("   Input  packets:", text_of(traffic, "ike-sa-input-packets")),
            _counter("   Output packets:", text_of(traffic, "ike-sa-output-packets")),
            # Junos' own spelling "fragmentated" (captured); DERIVED alignment.
            _counter("   Input  fragmentated packets:", text_of(traffic, "ike-sa-input-frag-packets")) + " ",
            _counter("   Output fragmentated packets:", text_of(traffic, "ike-sa-output-frag-packets")),
        ]
    misc = child(sa, "ike-sa-misc")
    if misc is not None:
        lines.append(
            f"  IPSec security associations: {text_of(misc, 'ike-sa-num-ipsec-sas-created')} created, "
            f"{text_of(misc, 'ike-sa-num-ipsec-sas-deleted')} deleted"
        )
        lines.append(f"  Phase 2 negotiations in progress: {text_of(misc, 'ike-sa-num-phase2-negotiations')}")
        if child(misc, "ike-ipsec-sa-tunnel-ids") is not None:  # DERIVED
            lines.append(f"  IPSec Tunnel IDs: {text_of(misc, 'ike-ipsec-sa-tunnel-ids')}")
    for phase2_information in children(sa, "ike-sa-phase2-information"):
        for phase2 in children(phase2_information, "ike-sa-num-phase2-negotiations"):
            lines += [
                "",
                f"Negotiation type: {text_of(phase2, 'ike-sa-phase2-type')}, "
                f"Role: {_capitalized(text_of(phase2, 'ike-sa-role'))}, "
                f"Message ID: {text_of(phase2, 'ike-sa-msg-id')}",
                f"  Local: {text_of(phase2, 'ike-sa-local-address')}:{text_of(phase2, 'ike-sa-local-port')}, "
                f"Remote: {text_of(phase2, 'ike-sa-remote-address')}:{text_of(phase2, 'ike-sa-remote-port')}",
                f"  Local identity: {text_of(phase2, 'ike-sa-local-id')}",
                f"  Remote identity: {text_of(phase2, 'ike-sa-remote-id')}",
                f"  Flags: {text_of(phase2, 'ike-sa-flags')}",
            ]
    return _join(lines)


# ====================================================================================== active peers

# DERIVED layout (no capture of `show security ike active-peer`).
ACTIVE_PEER_HEADER = f"{'Remote Address':<36}{'Port':<9}{'Peer IKE-ID':<37}{'AAA username':<37}Assigned IP"


def render_ike_active_peers(top: Element) -> str:
    """`show security ike active-peer [detail]` (DERIVED layout). No peer: nothing is printed."""
    blocks = children(top, "ike-active-peers-block")
    if blocks:
        return "\n".join(_active_peer_detail(block) for block in blocks)
    entries = children(top, "ike-active-peers")
    if not entries:
        return ""
    lines = [ACTIVE_PEER_HEADER]
    for entry in entries:
        lines.append(
            f"{text_of(entry, 'ike-sa-remote-address'):<35} {text_of(entry, 'ike-sa-remote-port'):<8} "
            f"{text_of(entry, 'ike-ike-id'):<36} {text_of(entry, 'ike-xauth-username'):<36} "
            f"{text_of(entry, 'ike-xauth-user-assigned-ip')}"
        )
    return _join(lines)


def _active_peer_detail(block: Element) -> str:
    local = child(block, "ike-peer-local-information")
    info = child(block, "ike-active-peers")
    lines = [
        f"Peer address: {text_of(block, 'ike-sa-remote-address')}, Port: {text_of(block, 'ike-sa-remote-port')}",
        f"  Peer IKE-ID: {text_of(block, 'ike-ike-id')}",
        f"  AAA username: {text_of(block, 'ike-xauth-username')}",
    ]
    if local is not None:
        lines.append(
            f"  Local gateway interface: {text_of(local, 'ike-sa-local-gateway-interface')}, "
            f"Routing instance: {text_of(local, 'ike-sa-routing-instance')}"
        )
        lines.append(
            f"  Local address: {text_of(local, 'ike-sa-local-address')}, Port: {text_of(local, 'ike-sa-local-port')}, "
            f"Local IKE-ID: {text_of(local, 'ike-sa-local-ike-id')}"
        )
    if info is not None:
        lines += [
            f"  Assigned IP: {text_of(info, 'ike-xauth-user-assigned-ip')}",
            f"  IKE SAs negotiated: {text_of(info, 'ike-peer-ike-sa-negotiated')}, "
            f"IKE SA indexes: {text_of(info, 'ike-p1sa-id-list')}",
            f"  Active IPsec SAs: {text_of(info, 'ike-peer-active-ipsec-sa')}, "
            f"IPsec tunnel IDs: {text_of(info, 'ike-ipsec-sa-id-list')}",
        ]
        if child(info, "ike-dpd-cfg-mode") is not None:
            lines.append(
                f"  DPD configuration: mode {text_of(info, 'ike-dpd-cfg-mode')}, "
                f"interval {text_of(info, 'ike-dpd-cfg-interval')}, "
                f"threshold {text_of(info, 'ike-dpd-cfg-threshold')}"
            )
            lines.append(
                f"  DPD statistics: requests sent {text_of(info, 'ike-dpd-stats-req')}, "
                f"responses received {text_of(info, 'ike-dpd-stats-resp')}"
            )
    return _join(lines)


# ========================================================================================= IPsec SAs

# Captured header (vSRX 24.4R1; bpfrx notes: the line ends with three spaces).
IPSEC_BRIEF_HEADER = "  ID    Algorithm       SPI      Life:sec/kb  Mon lsys Port  Gateway   "


def render_ipsec_security_associations(top: Element) -> str:
    """`show security ipsec security-associations [brief|detail|index N]`."""
    blocks = children(top, "ipsec-security-associations-block")
    style = style_of(top) or ("brief" if child(top, "total-active-tunnels") is not None else "detail")
    if style == "detail":
        return "\n".join(_ipsec_tunnel_detail(block) for block in blocks)
    # "%-6d" after the tunnel count: the captured line has five spaces after a one-digit count.
    totals = f"  Total active tunnels: {text_of(top, 'total-active-tunnels', '0'):<6}"
    if child(top, "total-ipsec-sas") is not None:
        totals += f"Total Ipsec sas: {text_of(top, 'total-ipsec-sas')}"
    else:
        totals = totals.rstrip()
    lines = [totals]
    if blocks:
        lines.append(IPSEC_BRIEF_HEADER)
    for block in blocks:
        for sa in children(block, "ipsec-security-associations"):
            row = texts(sa)  # one pass over the row's leaves (listings have thousands of rows)
            # Data lines are single-space separated in every 2x-release capture.
            lines.append(
                "  "
                + " ".join(
                    (
                        row.get("sa-direction", "") + row.get("sa-tunnel-index", ""),
                        f"{row.get('sa-protocol', '')}:{row.get('sa-esp-encryption-algorithm', '')}/"
                        f"{row.get('sa-hmac-algorithm', '')}",
                        row.get("sa-spi", ""),
                        f"{row.get('sa-hard-lifetime', '')}/ {row.get('sa-lifesize-remaining', '')}",
                        row.get("sa-vpn-monitoring-state", ""),
                        row.get("sa-virtual-system", ""),
                        row.get("sa-port", ""),
                        row.get("sa-remote-gateway", ""),
                    )
                )
            )
    return _join(lines)


# The continuation line under "Direction: ..." as captured (30 spaces, then ", VPN Monitoring: -").
_MONITORING_INDENT = " " * 30


def _ipsec_tunnel_detail(block: Element) -> str:
    lines = [
        f"ID: {text_of(block, 'sa-tunnel-index')} Virtual-system: {text_of(block, 'sa-virtual-system')}, "
        f"VPN Name: {text_of(block, 'sa-vpn-name')}",
        f"  Local Gateway: {text_of(block, 'sa-local-gateway')}, "
        f"Remote Gateway: {text_of(block, 'sa-remote-gateway')}",
    ]
    if text_of(block, "sa-traffic-selector-name"):  # DERIVED: only for named traffic selectors
        lines.append(f"  Traffic Selector Name: {text_of(block, 'sa-traffic-selector-name')}")
    lines += [
        f"  Local Identity: {text_of(block, 'sa-local-identity')}",
        f"  Remote Identity: {text_of(block, 'sa-remote-identity')}",
        f"  Version: {text_of(block, 'sa-ike-version')}",
    ]
    # DERIVED lines, printed only when the feature is in use (the 24.4 capture has none of them).
    if child(block, "sa-pfs-group") is not None:
        lines.append(f"  PFS group: {text_of(block, 'sa-pfs-group')}")
    if child(block, "iked-svc-set-name") is not None:
        lines.append(f"  Service set: {text_of(block, 'iked-svc-set-name')}")
    if child(block, "sa-packet-encapsulation-protocol") is not None:
        lines.append(
            f"  Packet encapsulation: {text_of(block, 'sa-packet-encapsulation-protocol')}, "
            f"Destination port: {text_of(block, 'sa-packet-encapsulation-destination-port')}"
        )
    policy = child(block, "sa-df-bit-policy-name")
    if policy is not None:
        line = (
            f"  DF-bit: {text_of(policy, 'sa-df-bit')}, Copy-Outer-DSCP {text_of(policy, 'sa-copy-outer-dscp')}, "
            f"Bind-interface: {text_of(policy, 'sa-bind-interface')}"
        )
        if child(policy, "sa-tunnel-mtu") is not None:  # DERIVED
            line += f", Tunnel MTU: {text_of(policy, 'sa-tunnel-mtu')}"
        lines.append(line)
    device = child(block, "sa-dev-info")
    if device is not None:
        lines.append(
            f"  Port: {text_of(device, 'sa-port')}, Nego#: {text_of(device, 'sa-nego-num')}, "
            f"Fail#: {text_of(device, 'sa-nego-fail')}, Def-Del#: {text_of(device, 'sa-del-num')} "
            f"Flag: {text_of(device, 'sa-flag')}"
        )
    multi = child(block, "multi-sa-info")
    if multi is not None:
        lines.append(
            f"  Multi-sa, Configured SAs# {text_of(multi, 'multi-sa-cfg-sas')}, "
            f"Negotiated SAs#: {text_of(multi, 'multi-sa-nego-sas')}"
        )
    events = child(block, "sa-ipsec-tunnel-events")
    if events is not None:
        lines.append("  Tunnel events:")
        lines += tunnel_event_lines(events)
    for sa in children(block, "ipsec-security-associations"):
        lines += _ipsec_sa_detail(sa)
    return _join(lines)


def tunnel_event_lines(parent: Element) -> list[str]:
    """``    <time>: <event> (<n> times)`` for each time/event/count triple of ``parent`` (captured layout)."""
    times = children(parent, "sa-tunnel-event-time")
    descriptions = children(parent, "sa-tunnel-event")
    counts = children(parent, "sa-tunnel-event-num-times")
    return [f"    {moment.text or ''}: {description.text or ''} ({count.text or ''} times)"
            for moment, description, count in zip(times, descriptions, counts, strict=False)]


def _ipsec_sa_detail(sa: Element) -> list[str]:
    lines = [
        f"  Direction: {text_of(sa, 'sa-direction')}, SPI: {text_of(sa, 'sa-spi')}, "
        f"AUX-SPI: {text_of(sa, 'sa-aux-spi')}",
        f"{_MONITORING_INDENT}, VPN Monitoring: {text_of(sa, 'sa-vpn-monitoring-state')}",
        f"    Hard lifetime: {text_of(sa, 'sa-hard-lifetime')}",
        f"    Lifesize Remaining: {text_of(sa, 'sa-lifesize-remaining')}",
    ]
    if child(sa, "sa-soft-lifetime") is not None:
        lines.append(f"    Soft lifetime: {text_of(sa, 'sa-soft-lifetime')}")
    lines += [
        f"    Mode: {text_of(sa, 'sa-mode')}, Type: {text_of(sa, 'sa-type')}, State: {text_of(sa, 'sa-state')}",
        f"    Protocol: {text_of(sa, 'sa-protocol')}, "
        f"Authentication: {text_of(sa, 'sa-authentication-algorithm')}, "
        f"Encryption: {text_of(sa, 'sa-encryption-algorithm')}",
    ]
    anti_replay = f"    Anti-replay service: {text_of(sa, 'sa-anti-replay-service')}"
    if child(sa, "sa-replay-window-size") is not None:
        anti_replay += f", Replay window size: {text_of(sa, 'sa-replay-window-size')}"
    lines.append(anti_replay)
    if text_of(sa, "sa-extended-seq-number") == "Enabled":  # DERIVED: printed only when ESN is on
        lines.append("    Extended-Sequence-Number: Enabled")
    return lines


# ======================================================================================= statistics


def _statistic(label: str, value: str) -> str:
    """``  Encrypted bytes:         14689428``: right-aligned so values end at column 35 (captured)."""
    return f"{label} {value:>{max(1, 34 - len(label))}}"


# (title, element, ((label, counter element), ...)) of the right-aligned blocks, in the captured order
_STATISTIC_BLOCKS = (
    ("ESP Statistics:", "esp-statistics", (
        ("  Encrypted bytes:", "esp-encrypted-bytes"), ("  Decrypted bytes:", "esp-decrypted-bytes"),
        ("  Encrypted packets:", "esp-encrypted-packets"), ("  Decrypted packets:", "esp-decrypted-packets"))),
    ("AH Statistics:", "ah-statistics", (
        ("  Input bytes:", "ah-input-bytes"), ("  Output bytes:", "ah-output-bytes"),
        ("  Input packets:", "ah-input-packets"), ("  Output packets:", "ah-output-packets"))),
)


def render_ipsec_statistics(top: Element) -> str:
    """`show security ipsec statistics [index N]` (captured cSRX layout). Empty reply: nothing."""
    errors = child(top, "error-statistics")
    lines: list[str] = []
    for title, tag, rows in _STATISTIC_BLOCKS:
        block = child(top, tag)
        if block is not None:
            lines.append(title)
            lines += [_statistic(label, text_of(block, name, "0")) for label, name in rows]
    if not lines and errors is None:
        return ""
    if errors is not None:
        lines += [
            "Errors:",
            f"  AH authentication failures: {text_of(errors, 'ah-authentication-failures', '0')}, "
            f"Replay errors: {text_of(errors, 'replay-errors', '0')}",
            f"  ESP authentication failures: {text_of(errors, 'esp-authentication-failures', '0')}, "
            f"ESP decryption failures: {text_of(errors, 'esp-decryption-failures', '0')}",
            f"  Bad headers: {text_of(errors, 'bad-headers', '0')}, Bad trailers: {text_of(errors, 'bad-trailers', '0')}",
        ]
        if child(errors, "invalid-spi-errors") is not None:
            lines += [
                f"  Invalid SPI: {text_of(errors, 'invalid-spi-errors', '0')}, "
                f"TS check fail: {text_of(errors, 'ts-check-fail-errors', '0')}",
                f"  Exceeds tunnel MTU: {text_of(errors, 'exceeds-tunnel-mtu', '0')}",
                f"  Discarded: {text_of(errors, 'discard-errors', '0')}",
            ]
    return _join(lines)
