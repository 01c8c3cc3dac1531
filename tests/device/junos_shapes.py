"""Reference shapes of the IKE/IPsec show replies, written from reference/junos-xml.md §1.1-§1.6.

A reply validates when, for every container listed here, (1) each child is one the reference knows for that
container (a captured element, or a leaf of the YANG 24.4 inventory the reference lists), (2) the captured
children that are present come in the captured order, (3) the children a capture always shows are present,
and (4) leaves with a captured value format match it. Independent of ``netconf_device/show``: only the
reference document's names, order and formats are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

INT = re.compile(r"^\d+$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX8 = re.compile(r"^[0-9a-f]{8}$")
EXPIRES = re.compile(r"^Expires in \d+ seconds$")


@dataclass(frozen=True)
class Shape:
    order: tuple[str, ...]  # captured children, in captured order
    required: frozenset[str] = frozenset()  # always present in the captures
    extra: frozenset[str] = frozenset()  # known from the YANG inventory (any position)
    repeat: frozenset[str] = frozenset()  # may appear several times
    values: dict[str, re.Pattern] = field(default_factory=dict)


IKE_SA_BRIEF = ("ike-sa-remote-address", "ike-sa-index", "ike-sa-state", "ike-sa-initiator-cookie",
                "ike-sa-responder-cookie", "ike-sa-exchange-type")
IKE_SA_DETAIL = ("ike-sa-role", "ike-sa-state", "ike-sa-initiator-cookie", "ike-sa-responder-cookie",
                 "ike-sa-exchange-type", "ike-sa-authentication-method", "ike-sa-remote-address",
                 "ike-sa-remote-port", "ike-sa-local-address", "ike-sa-local-port", "ike-sa-lifetime",
                 "ike-sa-reauthlifetime", "ike-sa-ike-frag", "ike-sa-frag-size", "ike-sa-remote-client-info",
                 "ike-xauth-user-info", "ike-sa-algorithms", "ike-sa-traffic-statistics", "ike-sa-misc",
                 "ike-sa-phase2-information")
IPSEC_SA_BRIEF = ("sa-direction", "sa-tunnel-index", "sa-spi", "sa-aux-spi", "sa-remote-gateway", "sa-port",
                  "sa-vpn-monitoring-state", "sa-protocol", "sa-esp-encryption-algorithm", "sa-hmac-algorithm",
                  "sa-hard-lifetime", "sa-lifesize-remaining", "sa-virtual-system")
IPSEC_SA_DETAIL = ("sa-direction", "sa-tunnel-index", "sa-spi", "sa-aux-spi", "sa-remote-gateway", "sa-port",
                   "sa-vpn-monitoring-state", "sa-esp-encryption-algorithm", "sa-hmac-algorithm",
                   "sa-hard-lifetime", "sa-lifesize-remaining", "sa-soft-lifetime", "sa-virtual-system", "sa-mode",
                   "sa-type", "sa-state", "sa-protocol", "sa-authentication-algorithm", "sa-encryption-algorithm",
                   "sa-anti-replay-service", "sa-replay-window-size")
IPSEC_SA_YANG = frozenset({
    "sa-vpn-monitoring-mode", "sa-vpn-monitoring-interval", "sa-vpn-monitoring-threshold", "sa-extended-seq-number",
    "sa-fc-name", "sa-tunnel-establishment", "sa-ike-index", "sa-installation-state", "sa-nego-num", "sa-nego-fail",
    "sa-del-num", "sa-flag", "sa-pair-location", "sa-pair-anchorship", "sa-protocol", "sa-soft-lifetime"})
IPSEC_BLOCK_DETAIL = ("sa-block-state", "sa-tunnel-index", "sa-virtual-system", "sa-vpn-name", "sa-local-gateway",
                      "sa-remote-gateway", "sa-traffic-selector-name", "sa-local-identity", "sa-remote-identity",
                      "sa-ike-version", "sa-df-bit-policy-name", "sa-dev-info", "sa-ipsec-tunnel-events",
                      "ipsec-security-associations")
IPSEC_BLOCK_YANG = frozenset({
    "sa-ts-type", "sa-is-quantum-secured", "sa-pfs-group", "sa-packet-encapsulation-protocol",
    "sa-packet-encapsulation-destination-port", "sa-srg-id", "sa-passive-mode-tunneling",
    "sa-bypass-traffic-selector-match", "iked-svc-set-name", "sa-configuration-type", "sa-advpn-info",
    "multi-sa-info", "sa-ha-link-encryption", "sa-anchorship", "sa-ts-remote-identity", "sa-ts-local-identity",
    "sa-tunnel-dist", "sa-ipsec-tunnel-event", "sa-location"})

SHAPES: dict[tuple[str, str], Shape] = {
    # --- §1.1 / §1.2 IKE SAs
    ("brief", "ike-security-associations-information"): Shape(
        ("ike-security-associations",), repeat=frozenset({"ike-security-associations"})),
    ("brief", "ike-security-associations"): Shape(
        IKE_SA_BRIEF, required=frozenset(IKE_SA_BRIEF),
        values={"ike-sa-index": INT, "ike-sa-state": re.compile("^(UP|DOWN)$"), "ike-sa-initiator-cookie": HEX16,
                "ike-sa-responder-cookie": HEX16, "ike-sa-exchange-type": re.compile("^IKEv2$")}),
    ("detail", "ike-security-associations-information"): Shape(
        ("ike-security-associations-block",), repeat=frozenset({"ike-security-associations-block"})),
    ("detail", "ike-security-associations-block"): Shape(
        ("ike-sa-remote-address", "ike-sa-index", "ike-gw-name", "ike-security-associations"),
        required=frozenset({"ike-sa-remote-address", "ike-sa-index", "ike-gw-name", "ike-security-associations"}),
        extra=frozenset({"ike-sa-location", "ike-sa-advpn-info", "ike-sa-advpn-suggester-shortcut-statistics",
                         "ike-sa-advpn-partner-shortcut-statistics"}),
        values={"ike-sa-index": INT}),
    ("detail", "ike-security-associations"): Shape(
        IKE_SA_DETAIL,
        required=frozenset({"ike-sa-role", "ike-sa-state", "ike-sa-initiator-cookie", "ike-sa-responder-cookie",
                            "ike-sa-lifetime", "ike-sa-algorithms", "ike-sa-traffic-statistics"}),
        extra=frozenset({"ike-sa-srg-id", "ike-trusted-ca-profile-name", "ike-trusted-ca-group-name",
                         "ike-sa-routing-instance", "ike-sa-local-gateway-interface", "ike-ike-id", "ike-ppk-profile",
                         "ike-sa-payload-statistics", "ike-sa-stats-information"}),
        values={"ike-sa-role": re.compile("^(initiator|responder)$"), "ike-sa-state": re.compile("^(UP|DOWN)$"),
                "ike-sa-initiator-cookie": HEX16, "ike-sa-responder-cookie": HEX16, "ike-sa-lifetime": EXPIRES,
                "ike-sa-remote-port": INT, "ike-sa-local-port": INT, "ike-sa-frag-size": INT,
                "ike-sa-reauthlifetime": re.compile(r"^(Disabled|Expires in \d+ seconds)$")}),
    ("detail", "ike-sa-algorithms"): Shape(
        ("ike-sa-authentication-algorithm", "ike-sa-encryption-algorithm", "ike-sa-prf-algorithm", "ike-sa-dhgroup"),
        required=frozenset({"ike-sa-encryption-algorithm", "ike-sa-dhgroup"}),
        extra=frozenset({"ike-sa-sig-key-length", "ike-sa-sign-hash-algo"}),
        values={"ike-sa-dhgroup": re.compile(r"^DH-group-\d+$")}),
    ("detail", "ike-sa-traffic-statistics"): Shape(
        ("ike-sa-input-bytes", "ike-sa-output-bytes", "ike-sa-input-packets", "ike-sa-output-packets",
         "ike-sa-input-frag-packets", "ike-sa-output-frag-packets"),
        required=frozenset({"ike-sa-input-bytes", "ike-sa-output-bytes", "ike-sa-input-packets",
                            "ike-sa-output-packets"}),
        extra=frozenset({"ike-sa-output-invalid-spi-packets", "ike-sa-input-invalid-spi-packets"}),
        values={name: INT for name in ("ike-sa-input-bytes", "ike-sa-output-bytes", "ike-sa-input-packets",
                                       "ike-sa-output-packets", "ike-sa-input-frag-packets",
                                       "ike-sa-output-frag-packets")}),
    ("detail", "ike-sa-misc"): Shape(
        ("ike-sa-num-ipsec-sas-created", "ike-sa-num-ipsec-sas-deleted", "ike-sa-num-phase2-negotiations"),
        extra=frozenset({"ike-sa-num-ipsec-rekeys", "ike-sa-exchange-type", "ike-sa-flags",
                         "ike-ipsec-sa-tunnel-ids"}),
        values={"ike-sa-num-ipsec-sas-created": INT, "ike-sa-num-ipsec-sas-deleted": INT}),
    # --- §1.4 / §1.5 IPsec SAs
    ("brief", "ipsec-security-associations-information"): Shape(
        ("total-active-tunnels", "total-ipsec-sas", "ipsec-security-associations-block"),
        required=frozenset({"total-active-tunnels"}), repeat=frozenset({"ipsec-security-associations-block"}),
        values={"total-active-tunnels": INT, "total-ipsec-sas": INT}),
    ("brief", "ipsec-security-associations-block"): Shape(
        ("sa-block-state", "ipsec-security-associations"), required=frozenset(
            {"sa-block-state", "ipsec-security-associations"}), repeat=frozenset({"ipsec-security-associations"}),
        values={"sa-block-state": re.compile("^(up|down)$")}),
    ("brief", "ipsec-security-associations"): Shape(
        IPSEC_SA_BRIEF, required=frozenset(IPSEC_SA_BRIEF),
        values={"sa-direction": re.compile("^[<>]$"), "sa-tunnel-index": INT, "sa-spi": HEX8, "sa-port": INT,
                "sa-hard-lifetime": INT, "sa-lifesize-remaining": re.compile(r"^(unlim|\d+)$"),
                "sa-protocol": re.compile("^ESP$")}),
    ("detail", "ipsec-security-associations-information"): Shape(
        ("total-active-tunnels", "total-ipsec-sas", "ipsec-security-associations-block"),
        repeat=frozenset({"ipsec-security-associations-block"})),
    ("detail", "ipsec-security-associations-block"): Shape(
        IPSEC_BLOCK_DETAIL,
        required=frozenset({"sa-block-state", "sa-tunnel-index", "sa-vpn-name", "sa-local-gateway",
                            "sa-remote-gateway", "sa-dev-info", "ipsec-security-associations"}),
        extra=IPSEC_BLOCK_YANG, repeat=frozenset({"ipsec-security-associations", "sa-ts-remote-identity",
                                                  "sa-ts-local-identity"}),
        values={"sa-tunnel-index": INT, "sa-ike-version": re.compile("^IKEv2$")}),
    ("detail", "sa-dev-info"): Shape(
        ("sa-port", "sa-nego-num", "sa-nego-fail", "sa-del-num", "sa-flag"),
        required=frozenset({"sa-port", "sa-nego-num", "sa-nego-fail", "sa-del-num"}),
        values={"sa-port": INT, "sa-nego-num": INT, "sa-nego-fail": INT, "sa-del-num": INT,
                "sa-flag": re.compile("^0x[0-9a-f]+$")}),
    ("detail", "sa-ipsec-tunnel-events"): Shape(
        ("sa-tunnel-event-time", "sa-tunnel-event", "sa-tunnel-event-num-times"),
        repeat=frozenset({"sa-tunnel-event-time", "sa-tunnel-event", "sa-tunnel-event-num-times"}),
        values={"sa-tunnel-event-num-times": INT,
                "sa-tunnel-event-time": re.compile(r"^\w{3} \w{3} \d{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}$")}),
    ("detail", "ipsec-security-associations"): Shape(
        IPSEC_SA_DETAIL, required=frozenset(IPSEC_SA_DETAIL), extra=IPSEC_SA_YANG,
        values={"sa-direction": re.compile("^(inbound|outbound)$"), "sa-spi": HEX8, "sa-hard-lifetime": EXPIRES,
                "sa-soft-lifetime": EXPIRES, "sa-lifesize-remaining": re.compile(r"^ (Unlimited|\d+ kilobytes)$"),
                "sa-replay-window-size": INT, "sa-type": re.compile("^(dynamic|manual)$")}),
    # --- §1.6 statistics
    ("stats", "usp-ipsec-total-statistics-information"): Shape(
        ("esp-statistics", "ah-statistics", "error-statistics"),
        required=frozenset({"esp-statistics", "ah-statistics", "error-statistics"}),
        extra=frozenset({"multisa-statistics", "multinode-link-enc-statistics-block", "d3p-statistics",
                         "exclude-statistics", "dynamic-policy-statistics", "failopen-statistics",
                         "failclose-statistics", "pic-name", "service-set-name", "local-gateway", "remote-gateway",
                         "tunnel-index", "usp-ipsec-service-set-statistics"})),
    ("stats", "esp-statistics"): Shape(
        ("esp-encrypted-bytes", "esp-decrypted-bytes", "esp-encrypted-packets", "esp-decrypted-packets"),
        required=frozenset({"esp-encrypted-bytes", "esp-decrypted-bytes", "esp-encrypted-packets",
                            "esp-decrypted-packets"})),
    ("stats", "ah-statistics"): Shape(
        ("ah-input-bytes", "ah-output-bytes", "ah-input-packets", "ah-output-packets"),
        required=frozenset({"ah-input-bytes", "ah-output-bytes", "ah-input-packets", "ah-output-packets"})),
    ("stats", "error-statistics"): Shape(
        ("ah-authentication-failures", "replay-errors", "esp-authentication-failures", "esp-decryption-failures",
         "bad-headers", "bad-trailers", "invalid-spi-errors", "ts-check-fail-errors", "exceeds-tunnel-mtu",
         "discard-errors"),
        required=frozenset({"ah-authentication-failures", "replay-errors", "esp-authentication-failures",
                            "esp-decryption-failures", "bad-headers", "bad-trailers"})),
}
STAT_LEAVES = re.compile(r"^\d+$")


def _local(element) -> str:
    return etree.QName(element).localname


def _style(top) -> str:
    for key, value in top.attrib.items():
        if key.rpartition("}")[2] == "style":  # junos:style, or a bare style left by clients stripping prefixes
            return value
    return "brief"


def validate(top) -> list[str]:
    """Problems of one reply's top element (empty list: it has the reference shape)."""
    name = _local(top)
    if name == "usp-ipsec-total-statistics-information":
        kind = "stats"
    elif name in ("ike-security-associations-information", "ipsec-security-associations-information"):
        kind = _style(top)
        if kind not in ("brief", "detail"):
            return [f"{name}: junos:style {kind!r}"]
    else:
        return [f"unknown reply element {name}"]
    problems: list[str] = []
    _check(top, kind, problems, name)
    return problems


def _check(element, kind: str, problems: list[str], path: str) -> None:
    shape = SHAPES.get((kind, _local(element)))
    if shape is None:
        return
    names = [_local(c) for c in element if isinstance(c.tag, str)]
    known = set(shape.order) | shape.extra
    for n in names:
        if n not in known:
            problems.append(f"{path}: unexpected <{n}>")
    for n in shape.required:
        if n not in names:
            problems.append(f"{path}: missing <{n}>")
    positions = [shape.order.index(n) for n in names if n in shape.order]
    if kind == "detail" and _local(element) == "sa-ipsec-tunnel-events":
        expected = [i % 3 for i in range(len(positions))]
        if positions != expected:
            problems.append(f"{path}: events not in (time, event, count) triples")
    elif positions != sorted(positions):
        problems.append(f"{path}: children out of the reference order: {names}")
    for n in set(names):
        if names.count(n) > 1 and n not in shape.repeat:
            problems.append(f"{path}: <{n}> repeated")
    for child in element:
        if not isinstance(child.tag, str):
            continue
        n = _local(child)
        pattern = shape.values.get(n) or (STAT_LEAVES if kind == "stats" and len(child) == 0 else None)
        if pattern is not None and not pattern.match(child.text or ""):
            problems.append(f"{path}/{n}: value {child.text!r} does not match {pattern.pattern}")
        _check(child, kind, problems, f"{path}/{n}")
