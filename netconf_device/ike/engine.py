"""The sans-IO IKEv2 engine (DESIGN.md principle 1).

Feed it datagrams, PFE notifications, intent diffs and the time; collect datagrams to send, events for the PFE
and the next timer deadline::

    engine.apply(diff_intent(old, new), now)
    engine.receive_datagram(IkeDatagram(...), now)
    for d in engine.datagrams_to_send(): ...
    while (ev := engine.next_event()) is not None: ...
    deadline = engine.get_timer(); engine.handle_timer(deadline)

It never opens sockets, sleeps or reads a clock. Exceptions never escape :meth:`receive_datagram`: a message
that cannot be parsed is answered with INVALID_SYNTAX when the protocol says so, otherwise dropped and counted.
"""

from __future__ import annotations

import heapq
import logging
import os
import random
from collections import deque
from collections.abc import Callable
from typing import Any

from netconf_device import sa as contract
from netconf_device.config.intent import (
    Intent,
    IntentDiff,
    IpsecVpn,
    diff_intent,
)

from . import message as m
from . import sa as sastate
from . import selectors
from .addresses import ip
from .crypto import CryptoError, Integrity, Prf, derive_ike_keys, hmac_digest
from .gateways import (
    EVENT_DPD_PEER_DOWN,
    EVENT_IKE_SA_DOWN,
    EVENT_IKE_SA_REKEY,
    EVENT_IKE_SA_UP,
    EVENT_IPSEC_SA_REKEY,
    EVENT_IPSEC_SA_UP,
    EVENT_TUNNEL_READY,
    GatewayState,
    VpnState,
)
from .options import EngineOptions
from .proposals import EspAlgorithms, IkeAlgorithms, ProposalError
from .sa import ChildSaState, IkeSa, Outstanding
from .snapshots import ChildSaSnapshot, IkeSaBrief, IkeSaSnapshot, brief_ike, snapshot_child, snapshot_ike
from .tasks import collisions
from .tasks.base import FAILED, NEED_MORE, RETRY, SUCCESS, Task
from .tasks.child_create import ChildCreate
from .tasks.child_delete import ChildDelete, ChildDeleteResponder
from .tasks.child_rekey import ChildRekey, ChildRekeyResponder
from .tasks.ike_auth import IkeAuth
from .tasks.ike_cert import IkeCert
from .tasks.ike_delete import IkeDelete, IkeDeleteResponder
from .tasks.ike_dpd import IkeDpd, IkeDpdResponder
from .tasks.ike_init import IkeInit
from .tasks.ike_natd import IkeNatd
from .tasks.ike_reauth import start_reauth
from .tasks.ike_rekey import IkeRekey, IkeRekeyResponder
from .tasks.informational import Informational, InvalidSpiNotify

LOGGER = logging.getLogger("netconf_device.ike")

_ZERO_SPI = b"\x00" * 8
_AUTH_ORDER = {m.PT_IDI: 0, m.PT_CERT: 1, m.PT_CERTREQ: 2, m.PT_IDR: 3, m.PT_AUTH: 4, m.PT_NOTIFY: 5, m.PT_CP: 6,
               m.PT_SA: 7, m.PT_TSI: 8, m.PT_TSR: 9}
_IKE_RELEVANT_GATEWAY_FIELDS = ("policy", "addresses", "local_address", "version", "local_identity",
                                "remote_identity", "no_nat_traversal", "ca_profile")
_IKE_RELEVANT_VPN_FIELDS = ("bind_interface", "tunnel_index", "ipsec_policy", "establish_tunnels",
                            "traffic_selectors", "extended_sequence_number", "udp_encapsulation", "manual")


class _DeviceLog(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        device = self.extra.get("device") if self.extra else ""
        return (f"[{device}] {msg}" if device else msg), kwargs


# ================================================================================================ engine
class Engine:
    def __init__(self, options: EngineOptions | None = None):
        self.options = options or EngineOptions()
        self.log = _DeviceLog(LOGGER, {"device": self.options.device_name})
        self._rng = random.Random(self.options.random_seed)
        self.now = 0.0
        self.intent = Intent()
        self.gateways: dict[str, GatewayState] = {}
        self.vpns: dict[str, VpnState] = {}
        self._vpn_by_tunnel: dict[int, VpnState] | None = None  # vpns by tunnel index, rebuilt after apply()
        self._by_pair: dict[tuple, list[GatewayState]] = {}
        self._by_remote: dict[Any, list[GatewayState]] = {}
        self.sas: dict[bytes, IkeSa] = {}
        self._half_open: dict[tuple, IkeSa] = {}  # responder SAs before IKE_AUTH, by (peer, port, SPIi)
        self._init_keys: dict[tuple, IkeSa] = {}  # every responder SA by (peer, port, SPIi): late IKE_SA_INITs
        self._children: dict[int, ChildSaState] = {}
        self._reserved_spis: set[int] = set()
        self._out: list[contract.IkeDatagram] = []
        self._events: deque = deque()
        self._timers: list[tuple] = []
        self._seq = 0
        self._index = 0
        self._cookie_secret = os.urandom(32)
        self._after: list[Callable[[], None]] | None = None
        self._ensure_pending: set[str] = set()
        self._initiating: set[IkeSa] = set()  # our IKE SAs still in IKE_SA_INIT/IKE_AUTH
        self._waiting: deque[GatewayState] = deque()  # gateways waiting for an initiation slot
        self.stats = {"rx_datagrams": 0, "rx_malformed": 0, "rx_unknown_spi": 0, "rx_no_gateway": 0,
                      "rx_dropped": 0, "rx_keepalives": 0, "tx_datagrams": 0, "cookies_sent": 0,
                      "half_open_dropped": 0, "invalid_syntax_sent": 0, "internal_errors": 0}

    # ============================================================================================ public API
    def apply(self, diff: IntentDiff, now: float) -> None:
        """Reconcile SAs with a new intent: removed gateways/VPNs are deleted (DELETE to the peer), changed
        ones renegotiated, added ones established as configured; unchanged ones keep their SAs."""
        self.now = now
        new = diff.new
        self.intent = new
        self._vpn_by_tunnel = None  # VPNs come, go and change below
        touched: set[str] = set()
        for name in diff.ike_gateways.removed:
            self._remove_gateway(name, "configuration removed")
        for name in diff.ike_gateways.changed:
            gw = self.gateways.get(name)
            intent = new.ike_gateways[name]
            if gw is None:
                self._add_gateway(intent)
            else:
                old_material = gw.material
                needs = any(getattr(gw.intent, f) != getattr(intent, f) for f in _IKE_RELEVANT_GATEWAY_FIELDS)
                try:
                    gw.update(intent, new)
                except (ValueError, ProposalError) as exc:
                    self.log.error("gateway %s: %s", name, exc)
                    gw.last_error = str(exc)
                    needs = True
                if needs or gw.material != old_material:
                    self.log.info("gateway %s changed: renegotiating", name)
                    for sa in list(gw.sas):
                        self._withdraw_ike_sa(sa, "configuration changed")
                    gw.failures = 0
                    gw.reinit_at = 0.0
                self._index_gateway(gw)
            touched.add(name)
        for name in diff.ike_gateways.added:
            self._add_gateway(new.ike_gateways[name])
            touched.add(name)
        if diff.old.local_certificates != new.local_certificates or diff.old.ca_profiles != new.ca_profiles:
            # certificates are referenced by name: new contents under the same name renegotiate the gateway
            for gw in list(self.gateways.values()):
                if gw.name in touched or not gw.uses_certificates:
                    continue
                old_material = gw.material
                try:
                    gw.update(gw.intent, new)
                except ValueError as exc:
                    gw.last_error = str(exc)
                if gw.material != old_material:
                    self.log.info("gateway %s: certificates changed, renegotiating", gw.name)
                    for sa in list(gw.sas):
                        self._withdraw_ike_sa(sa, "certificate changed")
                    touched.add(gw.name)
        for name in diff.ipsec_vpns.removed:
            vpn = self.vpns.pop(name, None)
            if vpn is not None:
                self._remove_vpn(vpn, "configuration removed")
                if vpn.gateway_name:
                    touched.add(vpn.gateway_name)
        for name in diff.ipsec_vpns.changed:
            intent = new.ipsec_vpns[name]
            vpn = self.vpns.get(name)
            if vpn is None:
                self._add_vpn(intent)
            else:
                relevant = any(getattr(vpn.intent, f) != getattr(intent, f) for f in _IKE_RELEVANT_VPN_FIELDS)
                old_gw = vpn.gateway_name
                new_gw = intent.gateway.name if intent.gateway else None
                if relevant or old_gw != new_gw:
                    self.log.info("VPN %s changed: renegotiating its child SAs", name)
                    self._remove_vpn(vpn, "configuration changed")
                    self.vpns.pop(name, None)
                    self._add_vpn(intent)
                    if old_gw:
                        touched.add(old_gw)
                else:
                    vpn.update(intent)
            if intent.gateway:
                touched.add(intent.gateway.name)
        for name in diff.ipsec_vpns.added:
            intent = new.ipsec_vpns[name]
            self._add_vpn(intent)
            if intent.gateway:
                touched.add(intent.gateway.name)
        for name in touched:
            gw = self.gateways.get(name)
            if gw is not None:
                self.ensure_tunnels(gw)

    def apply_intent(self, intent: Intent, now: float) -> None:
        """Convenience: apply the difference from the current intent to ``intent``."""
        self.apply(diff_intent(self.intent, intent), now)

    def receive_datagram(self, dgram: contract.IkeDatagram, now: float) -> None:
        self.now = now
        self.stats["rx_datagrams"] += 1
        try:
            self._receive(dgram)
        except Exception:  # noqa: BLE001 - the engine must survive any input
            self.stats["internal_errors"] += 1
            self.log.exception("dropping a datagram from %s that broke the engine", dgram.src)

    def acquire(self, event: contract.Acquire, now: float) -> None:
        """Outbound traffic for a VPN without a child SA (establish-tunnels on-traffic)."""
        self.now = now
        vpn = self.vpns.get(event.vpn_name) or self._vpn_for_tunnel(event.tunnel_index)
        if vpn is None or vpn.intent.establish_tunnels == "responder-only":
            return
        vpn.acquired = True
        gw = self.gateways.get(vpn.gateway_name or "")
        if gw is not None:
            self.ensure_tunnels(gw)

    def rekey_request(self, event: contract.RekeyRequest, now: float) -> None:
        """The PFE says a child SA's sequence numbers or byte/packet lifetime are nearly used up."""
        self.now = now
        child = self._children.get(event.spi_in)
        if child is not None and child.state == sastate.CHILD_INSTALLED and child.ike_sa is not None:
            self._queue(child.ike_sa, ChildRekey(self, child))

    def sa_activity(self, event: contract.SaActivity, now: float) -> None:
        self.now = now
        child = self._children.get(event.spi_in)
        if child is None:
            return
        if event.last_inbound is not None and (child.last_inbound is None or event.last_inbound > child.last_inbound):
            child.last_inbound = event.last_inbound
        if event.last_outbound is not None and (child.last_outbound is None
                                                or event.last_outbound > child.last_outbound):
            child.last_outbound = event.last_outbound

    def invalid_spi(self, spi: int, src, now: float) -> None:
        """The PFE got ESP for an unknown SPI from ``src``: tell that peer (INVALID_SPI), rate-limited."""
        self.now = now
        for sa in self.sas.values():
            if sa.is_up and sa.remote_addr == src:
                sa.counters.in_invalid_spi += 1
                if not any(isinstance(t, InvalidSpiNotify) for t in sa.queue):
                    self._queue(sa, InvalidSpiNotify(self, spi))
                return

    def datagrams_to_send(self) -> list[contract.IkeDatagram]:
        out, self._out = self._out, []
        return out

    def next_event(self):
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def handle_timer(self, now: float) -> None:
        self.now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _when, _seq, fn, args = heapq.heappop(timers)
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a timer callback must never stop the engine
                self.stats["internal_errors"] += 1
                self.log.exception("timer callback %s failed", getattr(fn, "__name__", fn))

    # ---------------------------------------------------------------------------------------- operations
    def clear_ike_sa(self, now: float, index: int | None = None, peer=None) -> int:
        """``clear security ike security-associations [index N | peer]``: delete and renegotiate as configured."""
        self.now = now
        n = 0
        for sa in list(self.sas.values()):
            if sa.state == sastate.DESTROYED:
                continue
            if index is not None and sa.index != index:
                continue
            if peer is not None and str(sa.remote_addr) != str(peer):
                continue
            self._withdraw_ike_sa(sa, "cleared by operator")
            n += 1
        for gw in self.gateways.values():
            self.ensure_tunnels_later(gw)
        return n

    def clear_ipsec_sa(self, now: float, tunnel_index: int | None = None) -> int:
        """``clear security ipsec security-associations [index N]``: delete child SAs; re-created as configured."""
        self.now = now
        n = 0
        for sa in list(self.sas.values()):
            victims = [c for c in sa.children if c.state != sastate.CHILD_DELETED and
                       (tunnel_index is None or c.vpn.tunnel_index == tunnel_index)]
            if victims:
                for c in victims:
                    self._withdraw_child(c)
                self.queue_child_delete(sa, victims)
                n += len(victims)
        for gw in self.gateways.values():
            self.ensure_tunnels_later(gw)
        return n

    def rekey_ike_sa(self, now: float, index: int) -> bool:
        """Rekey (or reauthenticate, per reauth-frequency) one IKE SA now."""
        self.now = now
        sa = next((s for s in self.sas.values() if s.index == index and s.state == sastate.ESTABLISHED), None)
        if sa is None:
            return False
        sa.rekey_at = now
        self._ike_rekey_due(sa)
        return True

    def rekey_child_sa(self, now: float, spi_in: int) -> bool:
        """Rekey one child SA now (as the PFE's RekeyRequest does)."""
        self.now = now
        child = self._children.get(spi_in)
        if child is None or child.state != sastate.CHILD_INSTALLED or child.ike_sa is None:
            return False
        self._queue(child.ike_sa, ChildRekey(self, child))
        return True

    # ---------------------------------------------------------------------------------------- snapshots
    # Show commands poll these (an NMS may list 2000 tunnels every minute): the brief forms and the per-index
    # forms build only what they print.
    def ike_sa_snapshots(self, now: float | None = None, index: int | None = None) -> list[IkeSaSnapshot]:
        """Full snapshots of every live IKE SA (or only of the one with ``index``), in index order."""
        t = self.now if now is None else now
        return [snapshot_ike(self, sa, t) for sa in self._live_sas(index)]

    def ike_sa_brief(self, index: int | None = None) -> list[IkeSaBrief]:
        """What the brief listing prints of every live IKE SA (or of the one with ``index``)."""
        return [brief_ike(sa) for sa in self._live_sas(index)]

    def _live_sas(self, index: int | None) -> list[IkeSa]:
        if index is not None:
            return [sa for sa in self.sas.values() if sa.index == index and sa.state != sastate.DESTROYED]
        return sorted((sa for sa in self.sas.values() if sa.state != sastate.DESTROYED), key=lambda s: s.index)

    def child_sa_snapshots(self, now: float | None = None, tunnel_index: int | None = None) -> list[ChildSaSnapshot]:
        t = self.now if now is None else now
        out = []
        for sa in sorted(self.sas.values(), key=lambda s: s.index):
            for c in sa.children:
                if c.state != sastate.CHILD_DELETED and (tunnel_index is None or c.vpn.tunnel_index == tunnel_index):
                    out.append(snapshot_child(self, sa, c, t))
        return sorted(out, key=lambda s: (s.tunnel_index, s.created_at))

    def child_soft_lifetimes(self, now: float | None = None, tunnel_index: int | None = None) -> dict[int, int]:
        """Seconds until each live child SA rekeys, by inbound SPI (the detail listing's soft lifetime)."""
        t = self.now if now is None else now
        return {spi: max(int(c.rekey_at - t), 0) for spi, c in self._children.items()
                if c.state != sastate.CHILD_DELETED and c.rekey_at is not None
                and (tunnel_index is None or c.vpn.tunnel_index == tunnel_index)}

    def active_peers(self, now: float | None = None) -> list[dict]:
        """``show security ike active-peer [detail]``: one entry per peer with a live IKE SA."""
        peers: dict = {}
        for sa in self._live_sas(None):
            if not (sa.is_up or sa.state == sastate.REKEYED):
                continue
            gw = sa.gateway
            dpd = gw.dpd if gw else None
            key = (str(sa.remote_addr), sa.remote_port)
            p = peers.get(key)
            if p is None:
                p = peers[key] = {
                    "remote_address": key[0], "remote_port": sa.remote_port, "local_address": str(sa.local_addr),
                    "local_port": sa.local_port, "remote_id": sa.remote_id.display() if sa.remote_id else "",
                    "local_id": sa.local_id.display() if sa.local_id else "", "gateway": gw.name if gw else "",
                    "ike_sa_indices": [], "ipsec_sa_count": 0, "dpd_mode": dpd.mode if dpd else None,
                    "dpd_interval": dpd.interval if dpd else None, "dpd_threshold": dpd.threshold if dpd else None,
                    "dpd_requests_sent": 0, "dpd_responses_received": 0, "dpd_requests_received": 0}
            counters = sa.counters
            p["ike_sa_indices"].append(sa.index)
            p["ipsec_sa_count"] += sum(1 for c in sa.children if c.state != sastate.CHILD_DELETED)
            p["dpd_requests_sent"] += counters.dpd_sent
            p["dpd_responses_received"] += counters.dpd_responses_received
            p["dpd_requests_received"] += counters.dpd_received
        return list(peers.values())

    def tunnel_status(self, tunnel_index: int) -> dict | None:
        """Per-tunnel counters and events for ``show security ipsec security-associations detail``."""
        vpn = self._vpn_for_tunnel(tunnel_index)
        if vpn is None:
            return None
        return {"vpn": vpn.name, "negotiations": vpn.negotiations, "negotiation_failures": vpn.negotiation_failures,
                "deletions": vpn.deletions, "last_error": vpn.last_error,
                "events": vpn.events_newest_first()}

    def _vpn_for_tunnel(self, tunnel_index: int) -> VpnState | None:
        """The VPN with ``tunnel_index`` (VPNs change only in ``apply``, which drops this index)."""
        if self._vpn_by_tunnel is None:
            self._vpn_by_tunnel = {v.tunnel_index: v for v in self.vpns.values()}
        return self._vpn_by_tunnel.get(tunnel_index)

    def gateway_status(self, name: str) -> dict:
        gw = self.gateways.get(name)
        if gw is None:
            return {}
        return {"name": name, "last_error": gw.last_error, "failures": gw.failures,
                "ike_sas": [sa.index for sa in gw.sas if sa.state != sastate.DESTROYED],
                "vpns": {v.name: {"last_error": v.last_error, "failures": v.failures} for v in gw.vpns.values()}}

    # ============================================================================================ receive
    def _receive(self, dgram: contract.IkeDatagram) -> None:
        data = dgram.payload
        if data == b"\xff":
            self.stats["rx_keepalives"] += 1
            return
        try:
            spi_i, spi_r, _first, exchange, flags, msg_id, _ln = m.parse_header(data)
        except m.MalformedMessage:
            self.stats["rx_malformed"] += 1
            return
        response = bool(flags & m.FLAG_RESPONSE)
        if exchange == m.IKE_SA_INIT and not response:
            if msg_id != 0 or spi_r != _ZERO_SPI or not flags & m.FLAG_INITIATOR:
                self.stats["rx_malformed"] += 1
                return
            self._init_request(dgram, spi_i)
            return
        if exchange not in (m.IKE_SA_INIT, m.IKE_AUTH, m.CREATE_CHILD_SA, m.INFORMATIONAL):
            self.stats["rx_malformed"] += 1
            return
        if exchange == m.IKE_SA_INIT:
            sa = self.sas.get(spi_i)
            if sa is None or not sa.initiator or sa.state != sastate.CONNECTING or sa.keys is not None:
                self.stats["rx_unknown_spi"] += 1
                return
        else:
            local_spi = spi_r if flags & m.FLAG_INITIATOR else spi_i
            sa = self.sas.get(local_spi)
            if sa is None or sa.spi_i != spi_i or sa.spi_r != spi_r or bool(flags & m.FLAG_INITIATOR) == sa.initiator:
                self.stats["rx_unknown_spi"] += 1
                return
        sa.counters.in_packets += 1
        sa.counters.in_bytes += len(data)
        try:
            msg = m.decode_message(data)
        except m.MalformedMessage:
            self.stats["rx_malformed"] += 1
            return
        if response:
            self._receive_response(sa, msg, dgram)
        else:
            self._receive_request(sa, msg, dgram)

    def _open(self, sa: IkeSa, msg: m.Message) -> bool:
        """Authenticate, decrypt and reassemble ``msg`` in place. False while fragments are missing or when it
        does not authenticate (counted, dropped). An authentic but unparsable message raises
        ``MalformedMessage``: requests and responses answer it differently."""
        try:
            return sa.open(msg, self.options.max_fragments, self.options.max_reassembly_bytes)
        except CryptoError:
            sa.counters.decrypt_failures += 1
            self.stats["rx_dropped"] += 1
            return False

    def _receive_response(self, sa: IkeSa, msg: m.Message, dgram) -> None:
        out = sa.outstanding
        if out is None or msg.msg_id != out.msg_id or msg.exchange != out.exchange:
            self.stats["rx_dropped"] += 1
            return
        try:
            if not self._open(sa, msg):
                return
        except m.MalformedMessage as exc:
            # authentic but unparsable: the exchange cannot complete
            self.log.warning("IKE SA #%d: malformed %s response: %s", sa.index, m.EXCHANGE_NAMES.get(msg.exchange),
                             exc)
            self._exchange_failed(sa, "malformed response")
            return
        self._peer_seen(sa, dgram, authenticated=msg.exchange != m.IKE_SA_INIT)
        self._handle_response(sa, msg)

    def _receive_request(self, sa: IkeSa, msg: m.Message, dgram) -> None:
        if sa.initiator and sa.state == sastate.CONNECTING:
            self.stats["rx_dropped"] += 1
            return
        if msg.msg_id == sa.last_response_id and sa.last_response:
            # a retransmitted request: repeat our response (once per message, on its first fragment)
            if msg.fragment is None or msg.fragment.number == 1:
                sa.counters.retransmits += 1
                self._transmit(sa, sa.last_response)
            return
        if msg.msg_id != sa.peer_next_id:
            self.stats["rx_dropped"] += 1
            return
        try:
            if not self._open(sa, msg):
                return
        except m.MalformedMessage as exc:
            if isinstance(exc, m.UnsupportedCriticalPayload):
                notify = m.NotifyPayload(m.N_UNSUPPORTED_CRITICAL_PAYLOAD, bytes([exc.payload_type & 0xFF]))
            else:
                notify = m.NotifyPayload(m.N_INVALID_SYNTAX)
            self.log.warning("IKE SA #%d: malformed %s request: %s", sa.index,
                             m.EXCHANGE_NAMES.get(msg.exchange), exc)
            self.stats["invalid_syntax_sent"] += 1
            self._peer_seen(sa, dgram, authenticated=True)
            self._send_response(sa, msg, [notify])
            if msg.exchange == m.IKE_AUTH:
                self.destroy_ike_sa(sa, "malformed IKE_AUTH request", notify_peer=False)
            return
        self._peer_seen(sa, dgram, authenticated=True)
        self._handle_request(sa, msg)

    def _peer_seen(self, sa: IkeSa, dgram, authenticated: bool) -> None:
        sa.last_in = self.now
        if authenticated and (sa.nat_local or sa.nat_remote or dgram.dport == self.options.natt_port):
            # follow NAT mapping changes and the peer's float to the NAT-T port (RFC 7296 §2.23)
            moved = (sa.remote_addr, sa.remote_port) != (dgram.src, dgram.sport) and sa.is_up
            sa.remote_addr, sa.remote_port = dgram.src, dgram.sport
            sa.local_port = dgram.dport
            if moved:
                self._update_children_endpoints(sa)

    def _update_children_endpoints(self, sa: IkeSa) -> None:
        """The peer's NAT mapping changed: re-announce its children with the new outer address/ports."""
        for c in sa.children:
            if c.state in (sastate.CHILD_DELETED, sastate.CHILD_DELETING) or c.withdrawn:
                continue
            c.encap = self._encap_for(sa, c.vpn)
            self.log.info("child SA %08x: peer moved to %s:%d", c.spi_in, sa.remote_addr, sa.remote_port)
            self._events.append(contract.ChildSaInstalled(self._contract_child(sa, c), c.spi_in))

    # ------------------------------------------------------------------------------------------ IKE_SA_INIT
    def _init_request(self, dgram, spi_i: bytes) -> None:
        key = (dgram.src, dgram.sport, spi_i)
        existing = self._init_keys.get(key)
        if existing is not None:
            # a retransmitted IKE_SA_INIT: repeat the answer while IKE_AUTH has not happened, else ignore it
            if existing.last_response_id == 0 and existing.last_response:
                self._transmit(existing, existing.last_response)
            return
        if len(self._half_open) >= self.options.half_open_limit or len(self.sas) >= self.options.max_ike_sas:
            self.stats["half_open_dropped"] += 1
            return
        try:
            msg = m.decode_message(dgram.payload)
        except m.MalformedMessage:
            self.stats["rx_malformed"] += 1
            return
        candidates = self._gateways_for(dgram.dst, dgram.src)
        if not candidates:
            self.stats["rx_no_gateway"] += 1
            self.log.debug("IKE_SA_INIT from %s: no gateway configured for it", dgram.src)
            return
        gw = candidates[0]
        sa = IkeSa(0, gw, False, dgram.dst, dgram.dport, dgram.src, dgram.sport, self.now)
        sa.spi_i = msg.spi_i
        sa.spi_r = self.allocate_ike_spi()
        sa.candidates = candidates
        tasks: list[Task] = [IkeInit(self), IkeNatd(self), IkeCert(self), IkeAuth(self), ChildCreate(self)]
        for t in tasks:
            t.process_r(sa, msg)
            if sa.stateless_reply is not None:
                break
        if sa.stateless_reply is not None:
            if any(p.TYPE == m.PT_NOTIFY and p.notify_type == m.N_COOKIE for p in sa.stateless_reply):
                self.stats["cookies_sent"] += 1
            reply = m.Message(msg.spi_i, _ZERO_SPI, m.IKE_SA_INIT, m.FLAG_RESPONSE, 0, sa.stateless_reply)
            self._emit(dgram.dst, dgram.dport, dgram.src, dgram.sport, reply.encode_plain())
            return
        payloads: list[m.Payload] = []
        passive = []
        for t in tasks:
            if t.build_r(sa, msg, payloads) == NEED_MORE:
                passive.append(t)
        sa.passive = passive
        raw = sa.encode(m.IKE_SA_INIT, True, 0, payloads, None)[0]
        sa.init_response = raw
        sa.last_response = [raw]
        sa.last_response_id = 0
        sa.peer_next_id = 1
        self._register(sa)
        self._half_open[key] = sa
        self._init_keys[key] = sa
        sa.half_open_key = key
        sa.init_key = key
        sa.counters.in_packets += 1
        sa.counters.in_bytes += len(dgram.payload)
        self._schedule(self.now + self.options.half_open_timeout, self._half_open_expired, sa)
        self._transmit(sa, [raw])

    def _half_open_expired(self, sa: IkeSa) -> None:
        if sa.state == sastate.CONNECTING and sa.state != sastate.DESTROYED:
            self.log.info("IKE SA #%d from %s: half-open timeout", sa.index, sa.remote_addr)
            self.destroy_ike_sa(sa, "half-open timeout", notify_peer=False)

    def cookie_required(self) -> bool:
        return len(self._half_open) >= self.options.cookie_threshold

    def make_cookie(self, nonce: bytes, addr, spi_i: bytes) -> bytes:
        a = ip(addr).packed
        return b"\x01" + hmac_digest("sha256", self._cookie_secret, nonce + a + spi_i)[:16]

    @staticmethod
    def cookie_matches(offered: bytes, expected: bytes) -> bool:
        import hmac as _hmac

        return _hmac.compare_digest(offered, expected)

    # ------------------------------------------------------------------------------------------ requests
    def _passive_tasks(self, sa: IkeSa, msg: m.Message) -> list[Task] | None:
        ex = msg.exchange
        if ex == m.IKE_AUTH:
            if sa.initiator or sa.state != sastate.CONNECTING or not sa.passive:
                return None
            return sa.passive
        if sa.state == sastate.CONNECTING:
            return None
        if ex == m.CREATE_CHILD_SA:
            sa_p = msg.get(m.PT_SA)
            if sa_p is not None and any(p.protocol == m.PROTO_IKE for p in sa_p.proposals):
                return [IkeRekeyResponder(self)]
            if msg.notify(m.N_REKEY_SA) is not None:
                return [ChildRekeyResponder(self)]
            return [_ChildCreateResponder(self)]
        if ex == m.INFORMATIONAL:
            deletes = msg.get_all(m.PT_DELETE)
            if any(d.protocol == m.PROTO_IKE for d in deletes):
                return [IkeDeleteResponder(self)]
            if deletes:
                return [ChildDeleteResponder(self), Informational(self)]
            if not msg.payloads:
                return [IkeDpdResponder(self)]
            return [Informational(self)]
        return None

    def _handle_request(self, sa: IkeSa, msg: m.Message) -> None:
        tasks = self._passive_tasks(sa, msg)
        if tasks is None:
            self.stats["rx_dropped"] += 1
            return
        self._after = []
        sa.busy = True
        try:
            for t in tasks:
                t.process_r(sa, msg)
                if sa.fatal_notify is not None:
                    break
            payloads: list[m.Payload] = []
            keep = []
            if sa.fatal_notify is None:
                for t in tasks:
                    if t.build_r(sa, msg, payloads) == NEED_MORE:
                        keep.append(t)
            if sa.fatal_notify is not None:
                payloads = [sa.fatal_notify]
                keep = []
            if msg.exchange == m.IKE_AUTH:
                sa.passive = []
            self._send_response(sa, msg, payloads)
            after = self._after
        finally:
            self._after = None
            sa.busy = False
        if sa.fatal_notify is not None:
            self.log.warning("IKE SA #%d with %s failed: %s", sa.index, sa.remote_addr, sa.failure)
            self.destroy_ike_sa(sa, sa.failure or "failed", notify_peer=False)
            return
        for fn in after:
            fn()
        if sa.state != sastate.DESTROYED:
            self._initiate_exchange(sa)

    def after_response(self, sa: IkeSa, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the response currently being built has been sent."""
        if self._after is not None:
            self._after.append(fn)
        else:
            fn()

    def _send_response(self, sa: IkeSa, msg: m.Message, payloads: list[m.Payload]) -> None:
        if msg.exchange == m.IKE_AUTH:
            payloads.sort(key=lambda p: _AUTH_ORDER.get(p.TYPE, 5))
        datagrams = sa.encode(msg.exchange, True, msg.msg_id, payloads, self._fragment_limit(sa))
        sa.last_response = datagrams
        sa.last_response_id = msg.msg_id
        sa.peer_next_id = msg.msg_id + 1
        self._transmit(sa, datagrams)

    # ------------------------------------------------------------------------------------------ responses
    def _handle_response(self, sa: IkeSa, msg: m.Message) -> None:
        out = sa.outstanding
        sa.outstanding = None
        sa.active = []
        sa.drop_reassembly()
        remaining: list[Task] = []
        sa.busy = True  # tasks may queue work; the next exchange starts once this response is processed
        try:
            for t in out.tasks:
                st = t.process_i(sa, msg)
                if sa.state == sastate.DESTROYED:
                    return
                if st == RETRY:
                    sa.active = out.tasks
                    sa.next_msg_id = out.msg_id
                    if msg.exchange == m.IKE_SA_INIT:
                        sa.spi_r = _ZERO_SPI
                    break
                if st == NEED_MORE:
                    remaining.append(t)
                elif st == FAILED and sa.state == sastate.CONNECTING:
                    sa.busy = False
                    self._setup_failed(sa, sa.failure or f"{t.name} failed")
                    return
            else:
                sa.active = remaining if sa.state == sastate.CONNECTING else []
        finally:
            sa.busy = False
        self._initiate_exchange(sa)

    def _exchange_failed(self, sa: IkeSa, reason: str) -> None:
        out = sa.outstanding
        sa.outstanding = None
        if sa.state == sastate.CONNECTING:
            self._setup_failed(sa, reason)
            return
        for t in (out.tasks if out else []):
            t.on_abort(sa)
        self.destroy_ike_sa(sa, reason, notify_peer=True)

    # ============================================================================================ sending
    def _initiate_exchange(self, sa: IkeSa) -> None:
        """Start the next exchange of ``sa`` if none is outstanding."""
        if sa.busy:
            return
        while sa.outstanding is None and sa.state != sastate.DESTROYED:
            if sa.active:
                tasks = sa.active
                exchange = m.IKE_SA_INIT if sa.keys is None else m.IKE_AUTH
                if sa.state != sastate.CONNECTING:
                    exchange = tasks[0].exchange
            else:
                task = self._next_task(sa)
                if task is None:
                    return
                tasks = [task]
                exchange = task.exchange
            payloads: list[m.Payload] = []
            keep: list[Task] = []
            failed = False
            for t in tasks:
                st = t.build_i(sa, exchange, payloads)
                if st == NEED_MORE:
                    keep.append(t)
                elif st == FAILED:
                    failed = True
                    break
            if failed:
                if sa.state == sastate.CONNECTING:
                    self._setup_failed(sa, sa.failure or "could not build request")
                    return
                sa.active = []
                continue
            if not keep:
                sa.active = []
                continue
            sa.active = keep
            self._send_request(sa, exchange, payloads, keep)
            return

    def _next_task(self, sa: IkeSa) -> Task | None:
        if not sa.queue:
            return None
        state = sa.state
        if state == sastate.CONNECTING or state == sastate.DESTROYED:
            return None
        for i, t in enumerate(sa.queue):
            if state == sastate.ESTABLISHED:
                return sa.queue.pop(i)
            if state in (sastate.REKEYED, sastate.REKEYING) and isinstance(t, (IkeDelete, ChildDelete, IkeDpd,
                                                                                InvalidSpiNotify)):
                return sa.queue.pop(i)
            if state == sastate.DELETING and isinstance(t, IkeDelete):
                return sa.queue.pop(i)
        return None

    def _send_request(self, sa: IkeSa, exchange: int, payloads: list[m.Payload], tasks: list[Task]) -> None:
        if exchange == m.IKE_AUTH:
            payloads.sort(key=lambda p: _AUTH_ORDER.get(p.TYPE, 5))
        msg_id = sa.next_msg_id
        datagrams = sa.encode(exchange, False, msg_id, payloads, self._fragment_limit(sa))
        if exchange == m.IKE_SA_INIT:
            sa.init_request = datagrams[0]
        sa.next_msg_id += 1
        out = Outstanding(msg_id, exchange, datagrams, tasks)
        interval = getattr(tasks[0], "retransmit_interval", None)
        tries = getattr(tasks[0], "retransmit_tries", None)
        out.fixed_timeout = interval
        out.timeout = interval or self.options.retransmit_timeout
        out.tries_left = tries if tries is not None else self.options.retransmit_tries
        sa.outstanding = out
        self._transmit(sa, datagrams)
        out.next_at = self.now + out.timeout
        self._schedule(out.next_at, self._retransmit, sa, out)

    def _retransmit(self, sa: IkeSa, out: Outstanding) -> None:
        if sa.outstanding is not out or sa.state == sastate.DESTROYED:
            return
        if out.tries_left <= 0:
            self._request_timeout(sa, out)
            return
        out.tries_left -= 1
        sa.counters.retransmits += 1
        if out.exchange == m.INFORMATIONAL and any(isinstance(t, IkeDpd) for t in out.tasks):
            sa.counters.dpd_sent += 1
        self._transmit(sa, out.datagrams)
        if out.fixed_timeout is None:
            out.timeout *= self.options.retransmit_base
        out.next_at = self.now + out.timeout
        self._schedule(out.next_at, self._retransmit, sa, out)

    def _request_timeout(self, sa: IkeSa, out: Outstanding) -> None:
        sa.outstanding = None
        for t in out.tasks:
            t.on_timeout(sa)
        if sa.state == sastate.DESTROYED:
            return
        if sa.state == sastate.CONNECTING:
            self._setup_failed(sa, f"no response to {m.EXCHANGE_NAMES.get(out.exchange)} (peer unreachable)")
            return
        self.log.warning("IKE SA #%d with %s: peer is dead (no response after retransmissions)", sa.index,
                         sa.remote_addr)
        self._peer_dead(sa)

    def _peer_dead(self, sa: IkeSa) -> None:
        gw = sa.gateway
        related = [s for s in gw.sas if s.state != sastate.DESTROYED and s.remote_addr == sa.remote_addr] \
            if gw else [sa]
        for s in related:
            for c in s.children:
                c.vpn.acquired = False
            self.destroy_ike_sa(s, "dead peer", notify_peer=False, reinitiate=False)
        if gw is not None and not gw.removed:
            gw.reinit_at = 0.0
            self.ensure_tunnels(gw)

    def _transmit(self, sa: IkeSa, datagrams: list[bytes]) -> None:
        for d in datagrams:
            self._emit(sa.local_addr, sa.local_port, sa.remote_addr, sa.remote_port, d)
            sa.counters.out_packets += 1
            sa.counters.out_bytes += len(d)
        sa.last_out = self.now

    def _emit(self, src, sport: int, dst, dport: int, payload: bytes) -> None:
        self.stats["tx_datagrams"] += 1
        self._out.append(contract.IkeDatagram(src=src, dst=dst, sport=sport, dport=dport, payload=payload,
                                              non_esp_marker=sport != 500 and dport != 500))

    def _fragment_limit(self, sa: IkeSa) -> int | None:
        gw = sa.gateway
        if gw is None or not gw.intent.fragmentation or not sa.peer_frag:
            return None
        v6 = getattr(sa.remote_addr, "version", 4) == 6
        size = gw.intent.fragmentation_size or (1280 if v6 else 576)
        marker = 4 if sa.local_port != 500 and sa.remote_port != 500 else 0
        return max(size - (40 if v6 else 20) - 8 - marker, 128)

    # ============================================================================================ timers
    def _schedule(self, when: float, fn: Callable, *args) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, fn, args))

    def _soft(self, lifetime: float) -> float:
        o = self.options
        return lifetime * (o.rekey_fraction - self._rng.uniform(0.0, o.rekey_jitter))

    # ============================================================================================ SAs
    def allocate_ike_spi(self) -> bytes:
        while True:
            spi = os.urandom(8)
            if spi != _ZERO_SPI and spi not in self.sas:
                return spi

    def allocate_child_spi(self) -> int:
        while True:
            spi = int.from_bytes(os.urandom(4), "big")
            if spi >= 0x100 and spi not in self._children and spi not in self._reserved_spis:
                self._reserved_spis.add(spi)
                return spi

    def release_child_spi(self, spi: int) -> None:
        self._reserved_spis.discard(spi)

    def _register(self, sa: IkeSa) -> None:
        self._index += 1
        sa.index = self._index
        self.sas[sa.local_spi] = sa
        if sa.gateway is not None:
            sa.gateway.sas.append(sa)

    def initiate_ike_sa(self, gw: GatewayState, children: list[ChildCreate], reauth_of: IkeSa | None = None
                        ) -> IkeSa | None:
        remote = gw.remote_addr
        local = gw.local_addr
        if local is None and self.options.local_address_for is not None and remote is not None:
            local = self.options.local_address_for(remote)
        if remote is None or local is None:
            self.note_gateway_failure(gw, "no usable local/remote address")
            return None
        sa = IkeSa(0, gw, True, local, self.options.ike_port, remote, self.options.peer_ike_port, self.now)
        sa.replaces = reauth_of
        sa.lineage = sa.spi_i
        # INITIAL_CONTACT lets a peer drop SAs of our previous life; never while any other SA with it exists
        sa.send_initial_contact = reauth_of is None and not any(s.state != sastate.DESTROYED for s in gw.sas)
        self._register(sa)
        self._initiating.add(sa)
        sa.active = [IkeInit(self), IkeNatd(self), IkeCert(self), IkeAuth(self)] + children[:1]
        sa.queue.extend(children[1:])
        self.log.info("initiating IKE SA #%d to %s (gateway %s)", sa.index, remote, gw.name)
        self._initiate_exchange(sa)
        return sa

    def ike_established(self, sa: IkeSa) -> None:
        gw = sa.gateway
        sa.state = sastate.ESTABLISHED
        sa.established_at = self.now
        sa.was_up = True
        self._initiation_done(sa)
        if sa.half_open_key is not None:
            self._half_open.pop(sa.half_open_key, None)
            sa.half_open_key = None
        if not sa.lineage:
            sa.lineage = sa.spi_i
        self._start_ike_timers(sa)
        gw.failures = 0
        gw.last_error = ""
        self.log.info("IKE SA #%d %s with %s established (%s/%s/%s/%s)", sa.index, gw.name, sa.remote_addr,
                      sa.algs.encryption_name, sa.algs.integrity_name, sa.algs.prf_name, sa.dh_group)
        self._events.append(contract.IkeSaStateChanged(gw.name, sa.index, "up"))
        self._gateway_event(gw, EVENT_IKE_SA_UP)
        for fn in sa.on_established:
            fn(sa)
        sa.on_established = []
        if sa.initial_contact:
            for other in list(gw.sas):
                if other is not sa and other.is_up and other.replaced_by_reauth is None:
                    self.destroy_ike_sa(other, "peer sent INITIAL_CONTACT", notify_peer=False, reinitiate=False)
        self._dedupe(sa)
        self.ensure_tunnels_later(gw)

    def _start_ike_timers(self, sa: IkeSa) -> None:
        gw = sa.gateway
        sa.lifetime = gw.lifetime_for(sa.algs)
        sa.rekey_at = self.now + self._soft(sa.lifetime)
        sa.expire_at = self.now + sa.lifetime
        self._schedule(sa.rekey_at, self._ike_rekey_due, sa)
        self._schedule(sa.expire_at, self._ike_expired, sa)
        if gw.dpd is not None:
            self._schedule(self.now + gw.dpd.interval, self._dpd_check, sa)
        if sa.nat_local and not gw.intent.no_nat_traversal:
            self._schedule(self.now + max(gw.intent.nat_keepalive, 1), self._keepalive, sa)

    def _dedupe(self, sa: IkeSa) -> None:
        """Both ends initiated at once: keep one IKE SA per gateway. The one whose first SPIi is lower is
        deleted by its initiator, a rule both ends evaluate identically."""
        gw = sa.gateway
        others = [o for o in gw.sas if o is not sa and o.state == sastate.ESTABLISHED
                  and o.lineage != sa.lineage and o.replaces is not sa and sa.replaces is not o
                  and o.replaced_by_reauth is None and sa.replaced_by_reauth is None]
        for o in others:
            loser = sa if sa.lineage < o.lineage else o
            if loser.initiator and loser.state == sastate.ESTABLISHED:
                self.log.info("IKE SA #%d duplicates IKE SA #%d: deleting it", loser.index,
                              (o if loser is sa else sa).index)
                loser.state = sastate.REKEYED
                self.queue_ike_delete(loser, reason="duplicate")
            if loser is sa:
                return

    def rekeyed_ike_sa(self, old: IkeSa, initiator: bool, spi_i: bytes, spi_r: bytes, algs: IkeAlgorithms,
                       ni: bytes, nr: bytes, shared: bytes) -> IkeSa:
        new = IkeSa(0, old.gateway, initiator, old.local_addr, old.local_port, old.remote_addr, old.remote_port,
                    self.now)
        new.spi_i, new.spi_r = spi_i, spi_r
        prf = Prf(algs.prf)
        integ = Integrity(algs.integ) if algs.integ != m.INTEG_NONE else None
        keys = derive_ike_keys(prf, integ, algs.encr, algs.encr_bits, ni, nr, spi_i, spi_r, shared,
                               old_sk_d=old.keys.sk_d, old_prf=old.prf)
        new.set_keys(algs, prf, keys)
        new.ni, new.nr = ni, nr
        new.dh_group = algs.dh_group
        for attr in ("local_id", "remote_id", "local_auth_method", "remote_auth_method", "peer_cert",
                     "peer_hashes", "nat_local", "nat_remote", "natd_seen", "peer_frag", "lineage"):
            setattr(new, attr, getattr(old, attr))
        new.rekeys_since_auth = old.rekeys_since_auth + 1
        new.predecessor = old
        new.state = sastate.ESTABLISHED
        new.established_at = self.now
        new.was_up = True
        self._register(new)
        self._start_ike_timers(new)
        self._events.append(contract.IkeSaStateChanged(old.gateway.name, new.index, "up", "rekeyed"))
        self._gateway_event(old.gateway, EVENT_IKE_SA_REKEY)
        self.log.info("IKE SA #%d rekeyed as IKE SA #%d", old.index, new.index)
        return new

    def adopt(self, old: IkeSa, new: IkeSa) -> None:
        """Move children and pending child work from ``old`` to its successor ``new``."""
        old.successor = new
        if old.state in (sastate.ESTABLISHED, sastate.REKEYING):
            old.state = sastate.REKEYED
        for c in old.children:
            c.ike_sa = new
            new.children.append(c)
        old.children = []
        moving = [t for t in old.queue if isinstance(t, (ChildCreate, ChildDelete))]
        old.queue = [t for t in old.queue if t not in moving]
        new.queue.extend(moving)
        self._initiate_exchange(new)

    def make_child(self, sa: IkeSa, vpn: VpnState, ts_index: int, algs: EspAlgorithms, spi_in: int, spi_out: int,
                   key_in: bytes, key_out: bytes, local_ts, remote_ts, initiator: bool, ni: bytes, nr: bytes,
                   pfs_group: int | None) -> ChildSaState:
        lifetime, lifetime_bytes = _child_lifetime(vpn, algs)
        child = ChildSaState(vpn=vpn, ts_index=ts_index, spi_in=spi_in, spi_out=spi_out, algorithms=algs,
                             key_in=key_in, key_out=key_out, local_ts=list(local_ts), remote_ts=list(remote_ts),
                             initiator=initiator, created_at=self.now, lifetime=lifetime,
                             lifetime_bytes=lifetime_bytes, nonce_i=ni, nonce_r=nr, pfs_group=pfs_group)
        child.encap = self._encap_for(sa, vpn)
        return child

    def _encap_for(self, sa: IkeSa, vpn: VpnState):
        gw = sa.gateway
        if (sa.nat_local or sa.nat_remote) and not gw.intent.no_nat_traversal:
            return contract.UdpEncap("nat-t", sa.local_port, sa.remote_port)
        if vpn.intent.udp_encapsulation is not None:
            return contract.UdpEncap("service-set", 0, vpn.intent.udp_encapsulation.destination_port)
        return None

    def install_child(self, sa: IkeSa, child: ChildSaState, replaces_spi_in: int | None = None) -> None:
        if replaces_spi_in is None and sa.gateway is not None:
            # the peer reauthenticated (or both ends raced): the same tunnel on another IKE SA is replaced
            for other in sa.gateway.sas:
                if other is sa:
                    continue
                old = next((c for c in other.children if c.vpn is child.vpn and c.ts_index == child.ts_index
                            and c.state in (sastate.CHILD_INSTALLED, sastate.CHILD_REKEYING)), None)
                if old is not None:
                    replaces_spi_in = old.spi_in
                    break
        successor = sa.successor
        if sa.state == sastate.REKEYED and successor is not None and successor.state != sastate.DESTROYED:
            sa = successor  # the IKE SA was rekeyed while this child's exchange was in flight
        child.ike_sa = sa
        child.replaced_spi_in = replaces_spi_in
        sa.children.append(child)
        self._children[child.spi_in] = child
        self._reserved_spis.discard(child.spi_in)
        child.rekey_at = self.now + self._soft(child.lifetime)
        child.expire_at = self.now + child.lifetime
        self._schedule(child.rekey_at, self._child_rekey_due, child)
        self._schedule(child.expire_at, self._child_expired, child)
        sa.counters.ipsec_created += 1
        vpn = child.vpn
        vpn.failures = 0
        vpn.last_error = ""
        vpn.negotiations += 1
        vpn.event(self.options.wall_clock(), EVENT_IPSEC_SA_REKEY if child.rekeys else EVENT_IPSEC_SA_UP)
        self.log.info("child SA %08x/%08x for VPN %s installed (%s%s)", child.spi_in, child.spi_out, vpn.name,
                      child.algorithms.junos_name, ", ESN" if child.algorithms.esn else "")
        self._events.append(contract.ChildSaInstalled(self._contract_child(sa, child), replaces_spi_in))

    def _contract_child(self, sa: IkeSa, child: ChildSaState) -> contract.ChildSa:
        return contract.ChildSa(
            tunnel_index=child.vpn.tunnel_index, vpn_name=child.vpn.name, spi_in=child.spi_in,
            spi_out=child.spi_out, encryption_algorithm=child.algorithms.junos_name, key_in=child.key_in,
            key_out=child.key_out, local_address=sa.local_addr, remote_address=sa.remote_addr,
            local_ts=selectors.to_networks(child.local_ts), remote_ts=selectors.to_networks(child.remote_ts),
            esn=child.algorithms.esn, encap=child.encap, icv_length=child.algorithms.icv_length,
            lifetime_seconds=child.lifetime, lifetime_bytes=child.lifetime_bytes, ike_sa_index=sa.index,
            created_at=child.created_at)

    def _withdraw_child(self, child: ChildSaState, reason: str = "") -> None:
        """Tell the PFE a child is gone now (its DELETE exchange may still follow)."""
        if child.withdrawn or child.state == sastate.CHILD_DELETED:
            return
        child.withdrawn = True
        if child.state != sastate.CHILD_DELETED:
            child.state = sastate.CHILD_DELETING
        self._events.append(contract.ChildSaDeleted(child.vpn.tunnel_index, child.spi_in, child.spi_out))

    def remove_child(self, sa: IkeSa, child: ChildSaState, reason: str = "") -> None:
        if child.state == sastate.CHILD_DELETED:
            return
        withdrawn = child.withdrawn
        child.state = sastate.CHILD_DELETED
        if child in sa.children:
            sa.children.remove(child)
        elif child.ike_sa is not None and child in child.ike_sa.children:
            child.ike_sa.children.remove(child)
        self._children.pop(child.spi_in, None)
        sa.counters.ipsec_deleted += 1
        child.vpn.deletions += 1
        self.log.info("child SA %08x/%08x for VPN %s deleted%s", child.spi_in, child.spi_out, child.vpn.name,
                      f" ({reason})" if reason else "")
        if not withdrawn:
            self._events.append(contract.ChildSaDeleted(child.vpn.tunnel_index, child.spi_in, child.spi_out))

    def _queue(self, sa: IkeSa, task: Task, front: bool = False) -> None:
        if sa.state == sastate.DESTROYED:
            return
        if front:
            sa.queue.insert(0, task)
        else:
            sa.queue.append(task)
        self._initiate_exchange(sa)

    def queue_child_delete(self, sa: IkeSa, children: list[ChildSaState]) -> None:
        """Delete children over the IKE SA each now belongs to (it may have been rekeyed meanwhile)."""
        by_sa: dict[IkeSa, list[ChildSaState]] = {}
        for c in children:
            if c.state == sastate.CHILD_INSTALLED:
                c.state = sastate.CHILD_REKEYED  # no further rekeys; the DELETE is on its way
            by_sa.setdefault(c.ike_sa or sa, []).append(c)
        for owner, group in by_sa.items():
            self._queue(owner, ChildDelete(self, group))

    def queue_ike_delete(self, sa: IkeSa, reason: str = "deleted") -> None:
        if sa.state == sastate.DESTROYED or any(isinstance(t, IkeDelete) for t in sa.queue + sa.active):
            return
        if sa.state == sastate.CONNECTING:
            self.destroy_ike_sa(sa, reason, notify_peer=False)
            return
        self._queue(sa, IkeDelete(self, reason), front=True)

    def _withdraw_ike_sa(self, sa: IkeSa, reason: str) -> None:
        """Configuration removed/changed or operator clear: children go now, DELETE to the peer follows."""
        if sa.state == sastate.DESTROYED:
            return
        if sa.state == sastate.CONNECTING:
            self.destroy_ike_sa(sa, reason, notify_peer=False, reinitiate=False)
            return
        for c in list(sa.children):
            self._withdraw_child(c, reason)
        if sa.was_up and not sa.down_reported:
            sa.down_reported = True
            self._events.append(contract.IkeSaStateChanged(sa.gateway.name, sa.index, "down", reason))
        sa.successor = None
        sa.no_reinit = True
        self.queue_ike_delete(sa, reason)

    def destroy_ike_sa(self, sa: IkeSa, reason: str, notify_peer: bool = False, reinitiate: bool = True) -> None:
        if sa.state == sastate.DESTROYED:
            return
        gw = sa.gateway
        if notify_peer and sa.keys is not None and sa.is_up:
            # best effort: one DELETE, no retransmission (we will not wait for the answer)
            try:
                dgrams = sa.encode(m.INFORMATIONAL, False, sa.next_msg_id, [m.DeletePayload(m.PROTO_IKE)], None)
                sa.counters.delete_sent += 1
                self._transmit(sa, dgrams)
            except (RuntimeError, CryptoError):
                pass
        successor = sa.successor
        if successor is not None and successor.state != sastate.DESTROYED:
            reason = "rekeyed"
            for c in sa.children:
                c.ike_sa = successor
                successor.children.append(c)
            sa.children = []
        for c in list(sa.children):
            self.remove_child(sa, c, reason)
        for t in sa.active + sa.queue + sa.passive + (sa.outstanding.tasks if sa.outstanding else []):
            t.on_abort(sa)
        sa.active, sa.queue, sa.passive = [], [], []
        sa.outstanding = None
        sa.state = sastate.DESTROYED
        self._initiation_done(sa)
        self.sas.pop(sa.local_spi, None)
        if sa.half_open_key is not None:
            self._half_open.pop(sa.half_open_key, None)
        if sa.init_key is not None:
            self._init_keys.pop(sa.init_key, None)
        if gw is not None and sa in gw.sas:
            gw.sas.remove(sa)
        if sa.was_up and not sa.down_reported:
            sa.down_reported = True
            self._events.append(contract.IkeSaStateChanged(gw.name if gw else "", sa.index, "down", reason))
            if reason != "rekeyed":
                self._gateway_event(gw, EVENT_DPD_PEER_DOWN if reason == "dead peer" else
                                    f"{EVENT_IKE_SA_DOWN}: {reason}")
        if sa.was_up and (successor is None or successor.state == sastate.DESTROYED):
            self.log.info("IKE SA #%d with %s deleted (%s)", sa.index, sa.remote_addr, reason)
        if gw is not None and reinitiate and not sa.no_reinit and not gw.removed:
            self.ensure_tunnels_later(gw)

    def _setup_failed(self, sa: IkeSa, reason: str) -> None:
        gw = sa.gateway
        self.log.warning("IKE SA #%d to %s (gateway %s) failed: %s", sa.index, sa.remote_addr,
                         gw.name if gw else "-", reason)
        if gw is not None:
            self.note_gateway_failure(gw, reason)
            gw.failures += 1
            if sa.initiator and "no response" in reason and len(gw.remote_addrs) > 1:
                # Junos tries the gateway's next address when the current one does not answer
                gw.address_index = (gw.address_index + 1) % len(gw.remote_addrs)
                gw.remote_addr = gw.remote_addrs[gw.address_index]
                self.log.info("gateway %s: trying next peer address %s", gw.name, gw.remote_addr)
            gw.reinit_at = self.now + min(self.options.reinit_min * 2 ** (gw.failures - 1), self.options.reinit_max)
        old = sa.replaces
        if sa.tell_peer is not None and sa.keys is not None:
            try:  # best effort, unanswered: the SA is gone on our side either way
                self._transmit(sa, sa.encode(m.INFORMATIONAL, False, sa.next_msg_id, [sa.tell_peer], None))
            except (RuntimeError, CryptoError):
                pass
        self.destroy_ike_sa(sa, reason, notify_peer=False)
        if old is not None and old.state != sastate.DESTROYED:
            old.replaced_by_reauth = None
            self.retry_ike_rekey(old, temporary=False)

    def note_gateway_failure(self, gw, reason: str, what: str = "IKE SA") -> None:
        if gw is not None:
            gw.last_error = reason
            text = _failure_text(reason, f"{what} negotiation failed")
            for vpn in gw.vpns.values():
                vpn.negotiation_failures += 1
                vpn.event(self.options.wall_clock(), text)

    def _gateway_event(self, gw, text: str) -> None:
        if gw is None:
            return
        when = self.options.wall_clock()
        for vpn in gw.vpns.values():
            vpn.event(when, text)

    def child_failed(self, sa: IkeSa, task: ChildCreate, reason: str) -> None:
        vpn = task.vpn
        self.log.warning("child SA for VPN %s with %s failed: %s", vpn.name if vpn else "-", sa.remote_addr, reason)
        if vpn is None:
            return
        vpn.negotiation_failures += 1
        vpn.event(self.options.wall_clock(), _failure_text(reason, "IPSec SA negotiation failed"))
        vpn.last_error = reason
        vpn.failures += 1
        delay = min(self.options.reinit_min * 2 ** (vpn.failures - 1), self.options.reinit_max)
        vpn.retry_at = self.now + delay
        gw = sa.gateway
        self._schedule(vpn.retry_at, self.ensure_tunnels, gw)

    def switch_gateway(self, sa: IkeSa, gw: GatewayState) -> None:
        if sa.gateway is gw:
            return
        if sa.gateway is not None and sa in sa.gateway.sas:
            sa.gateway.sas.remove(sa)
        sa.gateway = gw
        gw.sas.append(sa)

    def float_to_natt(self, sa: IkeSa) -> None:
        o = self.options
        sa.local_port = o.natt_port
        if sa.remote_port == o.peer_ike_port:
            sa.remote_port = o.peer_natt_port

    # ============================================================================================ lifetimes
    def _ike_rekey_due(self, sa: IkeSa) -> None:
        if sa.state != sastate.ESTABLISHED or sa.rekey_at is None or self.now < sa.rekey_at - 1e-9:
            return
        freq = sa.gateway.intent.policy.reauth_frequency
        if freq and sa.rekeys_since_auth + 1 >= freq:
            start_reauth(self, sa)
            if sa.replaced_by_reauth is not None:
                return
        if not any(isinstance(t, IkeRekey) for t in sa.queue + sa.active):
            self._queue(sa, IkeRekey(self))

    def _rekey_retry_delay(self, temporary: bool) -> float:
        """After TEMPORARY_FAILURE (a collision) a jittered short wait, so both ends do not retry in step;
        after any other failure the re-initiation delay."""
        if temporary:
            return self.options.temporary_failure_retry * (1 + self._rng.random())
        return self.options.reinit_min

    def retry_ike_rekey(self, sa: IkeSa, temporary: bool) -> None:
        sa.rekey_at = self.now + self._rekey_retry_delay(temporary)
        self._schedule(sa.rekey_at, self._ike_rekey_due, sa)

    def _ike_expired(self, sa: IkeSa) -> None:
        if sa.state == sastate.DESTROYED or sa.expire_at is None or self.now < sa.expire_at - 1e-9:
            return
        self.log.info("IKE SA #%d: hard lifetime expired", sa.index)
        self.queue_ike_delete(sa, reason="lifetime expired")

    def _child_rekey_due(self, child: ChildSaState) -> None:
        sa = child.ike_sa
        if child.state != sastate.CHILD_INSTALLED or sa is None or child.rekey_at is None \
                or self.now < child.rekey_at - 1e-9:
            return
        if sa.state != sastate.ESTABLISHED:
            # the IKE SA is being rekeyed: try again shortly (the child moves to the new SA)
            child.rekey_at = self.now + 1.0
            self._schedule(child.rekey_at, self._child_rekey_due, child)
            return
        if not any(isinstance(t, ChildRekey) and t.old is child for t in sa.queue + sa.active):
            self._queue(sa, ChildRekey(self, child))

    def retry_child_rekey(self, child: ChildSaState, temporary: bool) -> None:
        child.rekey_at = self.now + self._rekey_retry_delay(temporary)
        self._schedule(child.rekey_at, self._child_rekey_due, child)

    def cancel_child_expiry_rekey(self, child: ChildSaState) -> None:
        child.rekey_at = None

    def _child_expired(self, child: ChildSaState) -> None:
        if child.state == sastate.CHILD_DELETED or child.expire_at is None or self.now < child.expire_at - 1e-9:
            return
        sa = child.ike_sa
        self.log.info("child SA %08x: hard lifetime expired", child.spi_in)
        self._withdraw_child(child, "lifetime expired")
        if sa is not None and sa.state != sastate.DESTROYED:
            self.queue_child_delete(sa, [child])
            self.ensure_tunnels_later(sa.gateway)

    # ============================================================================================ DPD, NAT-T
    def _dpd_check(self, sa: IkeSa) -> None:
        gw = sa.gateway
        if sa.state == sastate.DESTROYED or gw is None or gw.dpd is None:
            return
        dpd = gw.dpd
        self._schedule(self.now + dpd.interval, self._dpd_check, sa)
        if sa.state != sastate.ESTABLISHED or sa.dpd_outstanding or sa.outstanding is not None:
            return
        last_in = sa.last_in
        last_out = None
        for c in sa.children:
            if c.last_inbound is not None and c.last_inbound > last_in:
                last_in = c.last_inbound
            if c.last_outbound is not None and (last_out is None or c.last_outbound > last_out):
                last_out = c.last_outbound
        idle_in = self.now - last_in >= dpd.interval
        if dpd.mode == "always-send":
            probe = True
        elif dpd.mode == "probe-idle-tunnel":
            probe = idle_in and (last_out is None or self.now - last_out >= dpd.interval)
        else:  # optimized: outbound traffic went unanswered for an interval
            probe = idle_in and last_out is not None and last_out > last_in
        if probe:
            self._queue(sa, IkeDpd(self))

    def _keepalive(self, sa: IkeSa) -> None:
        if sa.state == sastate.DESTROYED:
            return
        interval = max(sa.gateway.intent.nat_keepalive, 1)
        if self.now - sa.last_out >= interval - 1e-9:
            self._emit(sa.local_addr, sa.local_port, sa.remote_addr, sa.remote_port, b"\xff")
            sa.last_out = self.now
        self._schedule(sa.last_out + interval, self._keepalive, sa)

    # ============================================================================================ intent
    def _add_gateway(self, intent) -> None:
        if intent.version == "v1-only":
            self.log.error("gateway %s is IKEv1 only; this daemon speaks IKEv2 only", intent.name)
            return
        try:
            gw = GatewayState(intent, self.intent)
        except (ValueError, ProposalError) as exc:
            self.log.error("gateway %s cannot be used: %s", intent.name, exc)
            return
        self.gateways[intent.name] = gw
        self._index_gateway(gw)
        for vpn in self.vpns.values():
            if vpn.gateway_name == gw.name:
                gw.vpns[vpn.name] = vpn

    def _index_gateway(self, gw: GatewayState) -> None:
        self._unindex_gateway(gw)
        keys = []
        for remote in gw.remote_addrs:
            keys.append((self._by_remote, remote))
            if gw.local_addr is not None:
                keys.append((self._by_pair, (gw.local_addr, remote)))
        for table, key in keys:
            table.setdefault(key, []).append(gw)
        gw.index_keys = keys

    def _unindex_gateway(self, gw: GatewayState) -> None:
        for table, key in gw.index_keys:
            entries = [g for g in table.get(key, ()) if g is not gw]
            if entries:
                table[key] = entries
            else:
                table.pop(key, None)
        gw.index_keys = []

    def _gateways_for(self, local, remote) -> list[GatewayState]:
        try:
            local = ip(local)
            remote = ip(remote)
        except ValueError:
            return []
        exact = self._by_pair.get((local, remote))
        if exact:
            return [g for g in exact if not g.removed]
        return [g for g in self._by_remote.get(remote, ()) if not g.removed and g.local_addr is None]

    def _remove_gateway(self, name: str, reason: str) -> None:
        gw = self.gateways.pop(name, None)
        if gw is None:
            return
        gw.removed = True
        for sa in list(gw.sas):
            self._withdraw_ike_sa(sa, reason)
        self._unindex_gateway(gw)

    def _add_vpn(self, intent: IpsecVpn) -> None:
        if intent.gateway is None or intent.ipsec_policy is None:
            return  # manual SAs are the PFE's business
        try:
            vpn = VpnState(intent, self.options.tunnel_events)
        except ProposalError as exc:
            self.log.error("VPN %s cannot be used: %s", intent.name, exc)
            return
        if intent.establish_tunnels != "immediately":
            vpn.event(self.options.wall_clock(), EVENT_TUNNEL_READY)
        self.vpns[intent.name] = vpn
        gw = self.gateways.get(vpn.gateway_name)
        if gw is not None:
            gw.vpns[vpn.name] = vpn

    def _remove_vpn(self, vpn: VpnState, reason: str) -> None:
        vpn.removed = True
        gw = self.gateways.get(vpn.gateway_name or "")
        if gw is not None and gw.vpns.get(vpn.name) is vpn:
            del gw.vpns[vpn.name]
        for sa in list(gw.sas if gw is not None else ()):
            victims = [c for c in sa.children if c.vpn is vpn and c.state != sastate.CHILD_DELETED]
            if victims:
                for c in victims:
                    self._withdraw_child(c, reason)
                if sa.is_up or sa.state == sastate.REKEYED:
                    self.queue_child_delete(sa, victims)
                else:
                    for c in victims:
                        self.remove_child(sa, c, reason)

    def _initiation_done(self, sa: IkeSa) -> None:
        """``sa`` left IKE_SA_INIT/IKE_AUTH: give its slot in the initiation window to a waiting gateway."""
        if sa not in self._initiating:
            return
        self._initiating.discard(sa)
        while self._waiting and len(self._initiating) < self.options.initiation_window:
            gw = self._waiting.popleft()
            gw.waiting = False
            if not gw.removed:
                self.ensure_tunnels_later(gw)
                break

    def ensure_tunnels_later(self, gw: GatewayState | None) -> None:
        if gw is None or gw.name in self._ensure_pending:
            return
        self._ensure_pending.add(gw.name)
        self._schedule(self.now, self._ensure_deferred, gw)

    def _ensure_deferred(self, gw: GatewayState) -> None:
        self._ensure_pending.discard(gw.name)
        self.ensure_tunnels(gw)

    def ensure_tunnels(self, gw: GatewayState) -> None:
        """Bring the gateway's SAs in line with its VPNs' establish-tunnels settings."""
        if gw.removed or self.gateways.get(gw.name) is not gw:
            return
        wanted = [(vpn, i) for vpn in gw.vpns.values() if vpn.wants_tunnel() for i in range(len(vpn.ts_pairs))]
        if not wanted:
            return
        live = [s for s in gw.sas if s.state not in (sastate.DESTROYED, sastate.DELETING, sastate.REKEYED)]
        if not live:
            if self.now < gw.reinit_at:
                self._schedule(gw.reinit_at, self.ensure_tunnels, gw)
                return
            if len(self._initiating) >= self.options.initiation_window:
                if not gw.waiting:
                    gw.waiting = True
                    self._waiting.append(gw)
                return
            self.initiate_ike_sa(gw, [ChildCreate(self, vpn, i) for vpn, i in wanted])
            return
        target = next((s for s in live if s.state == sastate.ESTABLISHED and s.replaced_by_reauth is None), None)
        if target is None:
            return  # still connecting or rekeying: revisited when that completes
        have = set()
        for s in gw.sas:
            for c in s.children:
                if c.state in (sastate.CHILD_INSTALLED, sastate.CHILD_REKEYING):
                    have.add((c.vpn.name, c.ts_index))
            for t in s.queue + s.active:
                if isinstance(t, ChildCreate) and not isinstance(t, ChildRekey) and t.vpn is not None:
                    have.add((t.vpn.name, t.ts_index))
            if s.outstanding:
                for t in s.outstanding.tasks:
                    if isinstance(t, ChildCreate) and t.vpn is not None:
                        have.add((t.vpn.name, t.ts_index))
        later = None
        for vpn, i in wanted:
            if (vpn.name, i) in have:
                continue
            if self.now < vpn.retry_at:
                later = vpn.retry_at if later is None else min(later, vpn.retry_at)
                continue
            self._queue(target, ChildCreate(self, vpn, i))
        if later is not None:
            self._schedule(later, self.ensure_tunnels, gw)


class _ChildCreateResponder(ChildCreate):
    """A peer's CREATE_CHILD_SA for a new child: refused with TEMPORARY_FAILURE while the IKE SA is changing."""

    name = "child_create_r"

    def process_r(self, sa, msg):
        refusal = collisions.child_create_refusal(sa)
        if refusal:
            self.refusal = refusal
            return NEED_MORE
        self.refusal = 0
        return super().process_r(sa, msg)

    def build_r(self, sa, msg, payloads):
        if getattr(self, "refusal", 0):
            payloads.append(m.NotifyPayload(self.refusal))
            return FAILED
        return super().build_r(sa, msg, payloads)


def _failure_text(reason: str, prefix: str) -> str:
    """Junos-style event text: a notify from the peer, or our own reason."""
    name = reason.split(":")[0].split(" ")[0]
    if name in m.NOTIFY_NAMES.values() and ":" not in reason and "(" not in reason:
        return f"Negotiation failed with error code {name} received from peer"
    return f"{prefix}: {reason}"


def _child_lifetime(vpn: VpnState, algs: EspAlgorithms) -> tuple[int, int | None]:
    from .tasks.child_create import lifetime_for

    return lifetime_for(vpn, algs)


__all__ = ["Engine", "EngineOptions", "GatewayState", "VpnState", "SUCCESS"]
