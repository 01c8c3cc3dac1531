"""What a lab asks its devices over NETCONF (ncclient, like any user): which VPNs exist and which are up.

Tunnels *up* are the VPNs whose tunnel index has an IPsec SA block in state ``up`` in
``show security ipsec security-associations``; *total* are the VPNs of the running configuration. For a
VPN that is not up the summary names its gateway, the peer address and that IKE SA's state (from
``show security ike security-associations``), and the device's own reason when it reports one
(``show security ipsec inactive-tunnels``), so ``lab up`` can say *why* a tunnel is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from lxml import etree

log = logging.getLogger("netconf_device.lab")

TUNNEL_INDEX_BASE = 500000


def connect(host: str, port: int, user: str, password: str, *, timeout: float = 15.0):
    """An ncclient manager for a lab device (Junos device handler, no host key check, password only)."""
    from ncclient import manager

    logging.getLogger("ncclient").setLevel(logging.WARNING)
    return manager.connect(host=host, port=port, username=user, password=password, hostkey_verify=False,
                           look_for_keys=False, allow_agent=False, timeout=timeout,
                           device_params={"name": "junos"})


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def children(element, name: str) -> list:
    return [c for c in element.iter() if _local(c) == name]


def text_of(element, name: str, default: str = "") -> str:
    for c in element:
        if _local(c) == name:
            return (c.text or "").strip()
    return default


class RpcFailed(RuntimeError):
    pass


def rpc(conn, request: str | etree._Element):
    """Send one RPC (XML text or element); the reply as an lxml element. Raises RpcFailed on <rpc-error>."""
    from ncclient.operations.rpc import RPCError

    element = etree.fromstring(request) if isinstance(request, str) else request
    try:
        reply = conn.dispatch(element)
    except RPCError as exc:
        raise RpcFailed(str(exc).strip() or exc.tag or "rpc-error") from None
    root = getattr(reply, "_NCElement__doc", None)  # Junos handler: the reply, parsed, namespaces removed
    if root is None:
        root = getattr(reply, "_root", None)
    if root is None:
        root = etree.fromstring(reply.xml.encode() if isinstance(reply.xml, str) else reply.xml)
    errors = children(root, "rpc-error")
    if errors:
        message = " ".join(c.text.strip() for c in children(errors[0], "error-message") if c.text)
        raise RpcFailed(message or "rpc-error")
    return root


@dataclass(frozen=True)
class VpnState:
    name: str
    bind_interface: str | None
    tunnel_index: int | None
    gateway: str | None
    gateway_addresses: tuple[str, ...]
    up: bool
    ike_state: str | None  # "UP", "DOWN", or None when there is no IKE SA with the gateway
    reason: str | None = None  # the device's "tunnel down reason", when it gives one

    def why(self) -> str:
        """One line explaining why this VPN is not up."""
        peer = ", ".join(self.gateway_addresses) or "?"
        if self.ike_state is None:
            ike = f"no IKE SA with {peer} (gateway {self.gateway})"
        else:
            ike = f"IKE SA with {peer} (gateway {self.gateway}) is {self.ike_state}"
        if self.ike_state == "UP":
            ike += ", but no IPsec SA"
        return ike + (f"; device says: {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class TunnelSummary:
    total: int
    up: int
    ike_up: int | None  # None: not asked (the quick count while waiting)
    ike_total: int | None
    vpns: tuple[VpnState, ...] = field(default=(), repr=False)
    error: str | None = None  # set when the device could not answer (e.g. an RPC it does not support)

    @property
    def down(self) -> list[VpnState]:
        return [v for v in self.vpns if not v.up]


def configured_vpns(conn) -> list[tuple[str, str | None, str | None, tuple[str, ...]]]:
    """(vpn, bind-interface, gateway, gateway addresses) from the running configuration."""
    reply = rpc(conn, "<get-configuration database='committed'><configuration><security><ike><gateway/></ike>"
                      "<ipsec><vpn/></ipsec></security></configuration></get-configuration>")
    gateways: dict[str, tuple[str, ...]] = {}
    for gw in children(reply, "gateway"):
        addresses = tuple((a.text or "").strip() for a in gw if _local(a) == "address")
        gateways[text_of(gw, "name")] = addresses
    vpns = []
    for vpn in children(reply, "vpn"):
        gateway = None
        for ike in vpn:
            if _local(ike) == "ike":
                gateway = text_of(ike, "gateway") or None
        vpns.append((text_of(vpn, "name"), text_of(vpn, "bind-interface") or None, gateway,
                     gateways.get(gateway or "", ())))
    return vpns


def tunnel_index(bind_interface: str | None) -> int | None:
    if bind_interface and bind_interface.startswith("st0."):
        try:
            return TUNNEL_INDEX_BASE + int(bind_interface[4:])
        except ValueError:
            return None
    return None


def tunnel_summary(conn, vpns=None, *, reasons: bool = True) -> TunnelSummary:
    """Tunnels up/total and the IKE SA states of one device. ``vpns``: a cached ``configured_vpns``;
    ``reasons``: also ask the device why each missing tunnel is down (a bigger reply)."""
    if vpns is None:
        vpns = configured_vpns(conn)
    ipsec = rpc(conn, "<get-security-associations-information/>")
    up_indexes = set()
    for block in children(ipsec, "ipsec-security-associations-block"):
        if text_of(block, "sa-block-state").lower() != "up":
            continue
        for sa in children(block, "ipsec-security-associations"):
            index = text_of(sa, "sa-tunnel-index")
            if index.isdigit():
                up_indexes.add(int(index))
    ike = rpc(conn, "<get-ike-security-associations-information/>")
    ike_states: dict[str, str] = {}
    ike_total = ike_up = 0
    for sa in children(ike, "ike-security-associations"):
        ike_total += 1
        state = text_of(sa, "ike-sa-state").upper()
        remote = text_of(sa, "ike-sa-remote-address")
        if state == "UP":
            ike_up += 1
        if ike_states.get(remote) != "UP":
            ike_states[remote] = state
    down_reasons = _down_reasons(conn) if reasons and len(up_indexes) < len(vpns) else {}
    states = []
    for name, bind, gateway, addresses in vpns:
        index = tunnel_index(bind)
        ike_state = next((ike_states[a] for a in addresses if a in ike_states), None)
        states.append(VpnState(name, bind, index, gateway, addresses, index in up_indexes, ike_state,
                               down_reasons.get(index) if index is not None else None))
    return TunnelSummary(total=len(vpns), up=sum(s.up for s in states), ike_up=ike_up, ike_total=ike_total,
                         vpns=tuple(states))


def quick_summary(conn, total: int) -> TunnelSummary:
    """Tunnels up/total from ``show security ipsec inactive-tunnels``: a reply that shrinks as tunnels come
    up (the full SA listing of 2000 tunnels costs the device a second per poll, slowing what it measures)."""
    reply = rpc(conn, "<get-inactive-tunnels/>")
    counts = children(reply, "total-inactive-tunnels")
    if counts and (counts[0].text or "").strip().isdigit():
        inactive = int(counts[0].text.strip())
    else:
        inactive = len(children(reply, "ipsec-security-associations"))
    return TunnelSummary(total=total, up=max(0, total - inactive), ike_up=None, ike_total=None)


def _down_reasons(conn) -> dict[int, str]:
    """Tunnel index -> the device's down reason (``show security ipsec inactive-tunnels detail``): the
    reason code and the newest tunnel events, e.g. ``AUTHENTICATION_FAILED (Negotiation failed with error
    code AUTHENTICATION_FAILED received from peer; IKE SA negotiation failed: AUTHENTICATION_FAILED:
    pre-shared key mismatch)``."""
    try:
        reply = rpc(conn, "<get-inactive-tunnels><detail/></get-inactive-tunnels>")
    except Exception as exc:  # a device without the command: the reason is optional
        log.debug("get-inactive-tunnels: %s", exc)
        return {}
    reasons = {}
    for sa in children(reply, "ipsec-security-associations"):
        index = text_of(sa, "sa-tunnel-index")
        if not index.isdigit():
            continue
        reason = text_of(sa, "sa-tunnel-down-reason")
        events, time_text = [], None
        for element in sa:  # (time, event, count) triples; the newest come first
            name = _local(element)
            if name == "sa-tunnel-event-time":
                time_text = (element.text or "").strip()
            elif name == "sa-tunnel-event":
                events.append((time_text, (element.text or "").strip()))
        newest = [text for when, text in events if when == events[0][0]] if events else []
        detail = "; ".join(dict.fromkeys(newest))
        if reason and detail:
            reasons[int(index)] = f"{reason} ({detail})"
        elif reason or detail:
            reasons[int(index)] = reason or detail
    return reasons


def ipsec_statistics(conn, index: int | None = None) -> dict[str, int]:
    """``show security ipsec statistics [index N]`` as {counter name: value} (ESP and error counters)."""
    request = "<get-ipsec-statistics-information/>" if index is None else (
        f"<get-ipsec-statistics-information><show-index-ipsec-statistics>{int(index)}"
        "</show-index-ipsec-statistics></get-ipsec-statistics-information>")
    reply = rpc(conn, request)
    out = {}
    for element in reply.iter():
        if isinstance(element.tag, str) and len(element) == 0 and (element.text or "").strip().isdigit():
            out[_local(element)] = int(element.text.strip())
    return out
