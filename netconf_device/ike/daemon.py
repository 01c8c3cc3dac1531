"""The asyncio shell around the sans-IO engine: sockets (or the PFE) in, timers, intent changes, events out.

Two transports:

* :class:`UdpTransport` — UDP sockets on the IKE and NAT-T ports (500/4500 or custom) of the configured
  addresses, or of the wildcard address with ``IP_PKTINFO`` so one socket serves every local address (2000
  gateways need no 2000 sockets). Inbound datagrams are demultiplexed as strongSwan does: a single 0xFF byte is
  a NAT-T keepalive; when neither port is 500 the packet is IKE only with the 4-byte non-ESP marker, otherwise
  it is ESP (handed to ``on_esp`` if given). Outbound IKE carries the marker when neither port is 500.
* :class:`CallbackTransport` — no sockets: the device passes IKE datagrams punted by the PFE to
  :meth:`IkeDaemon.feed` and sends ours through the PFE (the engine does not care where datagrams come from).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable, Iterable

from netconf_device import sa as contract
from netconf_device.config.intent import Intent, IntentDiff, diff_intent

from .addresses import parse_text
from .engine import Engine
from .options import EngineOptions

LOGGER = logging.getLogger("netconf_device.ike")

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
NON_ESP_MARKER = b"\x00\x00\x00\x00"
_CMSG_SPACE = socket.CMSG_SPACE(32)
_RECV_BATCH = 256  # datagrams read per wakeup
_FLUSH_EVERY = 8  # send our answers after this many datagrams, so the peer never waits for a whole batch
_RCVBUF = 4 * 1024 * 1024


def _set_buffers(s: socket.socket) -> None:
    """Large socket buffers: thousands of IKE_SA_INITs may arrive at once. The *FORCE variants exceed
    net.core.rmem_max when we may (root); otherwise the kernel caps the plain request."""
    for force, plain in ((getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF),
                         (getattr(socket, "SO_SNDBUFFORCE", 32), socket.SO_SNDBUF)):
        try:
            s.setsockopt(socket.SOL_SOCKET, force, _RCVBUF)
        except OSError:
            try:
                s.setsockopt(socket.SOL_SOCKET, plain, _RCVBUF)
            except OSError:
                pass


def needs_marker(sport: int, dport: int) -> bool:
    return sport != 500 and dport != 500


def classify(payload: bytes, sport: int, dport: int) -> tuple[str, bytes]:
    """("keepalive"|"ike"|"esp"|"short", data) for a UDP payload received on an IKE socket."""
    if payload == b"\xff":
        return "keepalive", b""
    if needs_marker(sport, dport):
        if len(payload) < 4:
            return "short", b""
        if payload[:4] == NON_ESP_MARKER:
            return "ike", payload[4:]
        return "esp", payload
    return "ike", payload


class Transport:
    def send(self, dgram: contract.IkeDatagram) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class CallbackTransport(Transport):
    """Hands every outgoing IKE datagram to ``send`` (the device's PFE path)."""

    def __init__(self, send: Callable[[contract.IkeDatagram], None]):
        self._send = send

    def send(self, dgram: contract.IkeDatagram) -> None:
        self._send(dgram)


class UdpTransport(Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop, ports: Iterable[int], on_datagram: Callable,
                 on_batch_done: Callable[[], None], bind_addresses: Iterable = (), ipv6: bool = True,
                 on_esp: Callable | None = None,
                 socket_factory: Callable[[int], socket.socket] | None = None):
        self.loop = loop
        self._socket_factory = socket_factory or (lambda family: socket.socket(family, socket.SOCK_DGRAM))
        self.on_datagram = on_datagram
        self.on_batch_done = on_batch_done
        self.on_esp = on_esp
        self.sockets: dict[tuple[int, object, int], socket.socket] = {}  # (family, bound addr or None, port)
        self.stats = {"rx": 0, "tx": 0, "rx_keepalive": 0, "rx_esp": 0, "rx_short": 0, "tx_errors": 0}
        addrs = [ipaddress.ip_address(a) for a in bind_addresses]
        for port in dict.fromkeys(ports):
            if addrs:
                for a in addrs:
                    self._open(socket.AF_INET if a.version == 4 else socket.AF_INET6, a, port)
            else:
                self._open(socket.AF_INET, None, port)
                if ipv6 and socket.has_ipv6:
                    try:
                        self._open(socket.AF_INET6, None, port)
                    except OSError as exc:
                        LOGGER.debug("no IPv6 IKE socket on port %d: %s", port, exc)

    def _open(self, family: int, addr, port: int) -> None:
        s = self._socket_factory(family)
        try:
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            _set_buffers(s)
            if family == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            if addr is not None and addr.version == 4 and addr.is_loopback is False:
                # allow binding an address that is configured later (the device adds it on commit)
                try:
                    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_FREEBIND", 15), 1)
                except OSError:
                    pass
            s.bind((str(addr) if addr is not None else ("0.0.0.0" if family == socket.AF_INET else "::"), port))
        except OSError:
            s.close()
            raise
        self.sockets[(family, addr, port)] = s
        self.loop.add_reader(s.fileno(), self._readable, s, family, port)

    @property
    def bound_ports(self) -> list[int]:
        return sorted({k[2] for k in self.sockets})

    def _readable(self, s: socket.socket, family: int, port: int) -> None:
        for i in range(1, _RECV_BATCH + 1):
            if i % _FLUSH_EVERY == 0:
                self.on_batch_done()
            try:
                data, anc, _flags, src = s.recvmsg(65535, _CMSG_SPACE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno not in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                    LOGGER.debug("IKE socket receive error: %s", exc)
                continue
            self.stats["rx"] += 1
            dst = None
            for level, ctype, cdata in anc:
                if level == socket.IPPROTO_IP and ctype == IP_PKTINFO and len(cdata) >= 12:
                    dst = ipaddress.IPv4Address(cdata[8:12])
                elif level == socket.IPPROTO_IPV6 and ctype == IPV6_PKTINFO and len(cdata) >= 16:
                    dst = ipaddress.IPv6Address(cdata[:16])
            if dst is None:
                dst = ipaddress.ip_address(s.getsockname()[0])
            src_addr = parse_text(src[0].split("%")[0])
            sport = src[1]
            kind, payload = classify(data, sport, port)
            if kind == "ike":
                self.on_datagram(contract.IkeDatagram(src=src_addr, dst=dst, sport=sport, dport=port,
                                                      payload=payload, non_esp_marker=needs_marker(sport, port)))
            elif kind == "esp":
                self.stats["rx_esp"] += 1
                if self.on_esp is not None:
                    self.on_esp(src_addr, sport, dst, port, payload)
            elif kind == "keepalive":
                self.stats["rx_keepalive"] += 1
            else:
                self.stats["rx_short"] += 1
        self.on_batch_done()

    def _socket_for(self, family: int, src, sport: int) -> socket.socket | None:
        return self.sockets.get((family, src, sport)) or self.sockets.get((family, None, sport))

    def send(self, d: contract.IkeDatagram) -> None:
        family = socket.AF_INET if d.dst.version == 4 else socket.AF_INET6
        s = self._socket_for(family, d.src, d.sport)
        if s is None:
            self.stats["tx_errors"] += 1
            LOGGER.warning("no IKE socket for %s port %d", d.src, d.sport)
            return
        data = NON_ESP_MARKER + d.payload if d.non_esp_marker else d.payload
        try:
            if family == socket.AF_INET:
                anc = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("=I4s4s", 0, d.src.packed, b"\x00" * 4))]
            else:
                anc = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, struct.pack("=16sI", d.src.packed, 0))]
            s.sendmsg([data], anc, 0, (str(d.dst), d.dport))
            self.stats["tx"] += 1
        except (BlockingIOError, InterruptedError):
            self.stats["tx_errors"] += 1  # the retransmission timer recovers
        except OSError as exc:
            self.stats["tx_errors"] += 1
            LOGGER.debug("IKE send to %s:%d failed: %s", d.dst, d.dport, exc)

    def send_udp(self, src, sport: int, dst, dport: int, payload: bytes) -> bool:
        """Send a raw UDP payload from one of our IKE sockets (ESP-in-UDP shares the NAT-T port)."""
        src, dst = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        family = socket.AF_INET if dst.version == 4 else socket.AF_INET6
        s = self._socket_for(family, src, sport)
        if s is None:
            return False
        try:
            s.sendto(payload, (str(dst), dport))
        except OSError:
            return False
        return True

    def close(self) -> None:
        for s in self.sockets.values():
            try:
                self.loop.remove_reader(s.fileno())
            except (ValueError, OSError):
                pass
            s.close()
        self.sockets.clear()


def route_source_address(remote) -> object | None:
    """The address the kernel would send from to reach ``remote`` (no packet is sent)."""
    remote = ipaddress.ip_address(remote)
    family = socket.AF_INET if remote.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((str(remote), 500))
            return ipaddress.ip_address(s.getsockname()[0].split("%")[0])
        except OSError:
            return None


class IkeDaemon:
    """One device's IKE daemon: engine + transport + timers on the running asyncio loop."""

    def __init__(self, options: EngineOptions | None = None, *, transport: Transport | None = None,
                 bind_addresses: Iterable = (), ipv6: bool = True,
                 on_event: Callable[[object], None] | None = None, on_esp: Callable | None = None,
                 socket_factory: Callable[[int], socket.socket] | None = None):
        self.options = options or EngineOptions()
        if self.options.local_address_for is None:
            cache: dict = {}

            def resolve(remote):
                if remote not in cache:
                    cache[remote] = route_source_address(remote)
                return cache[remote]

            self.options.local_address_for = resolve
        self.engine = Engine(self.options)
        self._transport = transport
        self._bind = tuple(bind_addresses)
        self._ipv6 = ipv6
        self._on_event = on_event
        self._on_esp = on_esp
        self._socket_factory = socket_factory
        self.events: list = [] if on_event is None else None  # kept only when nobody consumes them
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._intent = Intent()

    # ---------------------------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._transport is None:
            o = self.options
            self._transport = UdpTransport(self._loop, (o.ike_port, o.natt_port), self._receive, self._flush,
                                           self._bind, self._ipv6, self._on_esp, self._socket_factory)
        self._flush()

    async def stop(self, graceful: bool = True, timeout: float = 1.0) -> None:
        """Stop; with ``graceful`` delete every IKE SA (DELETE to peers) and wait briefly for answers."""
        if graceful and self._loop is not None:
            self.engine.apply(diff_intent(self._intent, Intent()), self._now())
            self._intent = Intent()
            self._flush()
            deadline = self._loop.time() + timeout
            while self.engine.sas and self._loop.time() < deadline:
                await asyncio.sleep(0.02)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()

    @property
    def transport(self) -> Transport | None:
        return self._transport

    def _now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    # ---------------------------------------------------------------------------------------- inputs
    def apply(self, diff: IntentDiff) -> None:
        self._intent = diff.new
        self.engine.apply(diff, self._now())
        self._flush()

    def apply_intent(self, intent: Intent) -> None:
        self.apply(diff_intent(self._intent, intent))

    def feed(self, dgram: contract.IkeDatagram) -> None:
        """An IKE datagram from the PFE (CallbackTransport mode)."""
        self.engine.receive_datagram(dgram, self._now())
        self._flush()

    def _receive(self, dgram: contract.IkeDatagram) -> None:
        self.engine.receive_datagram(dgram, self._now())

    def acquire(self, event: contract.Acquire) -> None:
        self.engine.acquire(event, self._now())
        self._flush()

    def rekey_request(self, event: contract.RekeyRequest) -> None:
        self.engine.rekey_request(event, self._now())
        self._flush()

    def sa_activity(self, event: contract.SaActivity) -> None:
        self.engine.sa_activity(event, self._now())

    def invalid_spi(self, spi: int, src) -> None:
        self.engine.invalid_spi(spi, src, self._now())
        self._flush()

    def rekey_ike_sa(self, index: int) -> bool:
        ok = self.engine.rekey_ike_sa(self._now(), index)
        self._flush()
        return ok

    def rekey_child_sa(self, spi_in: int) -> bool:
        ok = self.engine.rekey_child_sa(self._now(), spi_in)
        self._flush()
        return ok

    def clear_ike_sa(self, index: int | None = None, peer=None) -> int:
        n = self.engine.clear_ike_sa(self._now(), index, peer)
        self._flush()
        return n

    def clear_ipsec_sa(self, tunnel_index: int | None = None) -> int:
        n = self.engine.clear_ipsec_sa(self._now(), tunnel_index)
        self._flush()
        return n

    # ---------------------------------------------------------------------------------------- outputs
    def ike_sa_snapshots(self, index: int | None = None):
        return self.engine.ike_sa_snapshots(self._now(), index=index)

    def ike_sa_brief(self, index: int | None = None):
        return self.engine.ike_sa_brief(index)

    def child_sa_snapshots(self, tunnel_index: int | None = None):
        return self.engine.child_sa_snapshots(self._now(), tunnel_index=tunnel_index)

    def child_soft_lifetimes(self, tunnel_index: int | None = None) -> dict[int, int]:
        return self.engine.child_soft_lifetimes(self._now(), tunnel_index=tunnel_index)

    def active_peers(self):
        return self.engine.active_peers(self._now())

    def tunnel_status(self, tunnel_index: int):
        return self.engine.tunnel_status(tunnel_index)

    def _flush(self) -> None:
        eng = self.engine
        out = eng.datagrams_to_send()
        if out and self._transport is not None:
            send = self._transport.send
            for d in out:
                send(d)
        ev = eng.next_event()
        while ev is not None:
            if self._on_event is not None:
                try:
                    self._on_event(ev)
                except Exception:  # noqa: BLE001 - a consumer bug must not stop IKE
                    LOGGER.exception("IKE event consumer failed on %r", type(ev).__name__)
            else:
                self.events.append(ev)
            ev = eng.next_event()
        self._arm()

    def _arm(self) -> None:
        if self._loop is None:
            return
        t = self.engine.get_timer()
        if t is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timer_at = None
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= t:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = t
        self._timer = self._loop.call_at(t, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self.engine.handle_timer(self._now())
        self._flush()
