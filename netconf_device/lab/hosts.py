"""Traffic from lab hosts.

*Emulated* hosts (the default, unprivileged) are ``pfe.wires.host.Host`` objects on a UDP wire whose far
end is the device interface they attach to. The lab reserves the host's UDP port; whoever sends traffic
(``lab ping``, or a test through ``Lab.host``) binds every emulated host of the lab for that time, so the
destination host answers too. :class:`EmulatedHosts` runs them on an event loop in a background thread and
offers blocking calls.

*Namespace* hosts (``netns: true``, root) are Linux network namespaces; traffic is the system ``ping``
(or any command) run inside them.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from netconf_device.pfe.wires.host import Host, PingResult
from netconf_device.pfe.wires.udp import UdpWire


class LabEmulatedHost(Host):
    """A ``Host`` whose pings and datagrams may leave from any of its addresses (``source``)."""

    def __init__(self, wire, addresses, *, name: str = "host") -> None:
        super().__init__(wire, addresses, name=name)
        self._mine = set(self.addresses)
        self._source: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None

    def _use_source(self, source: str | None) -> None:
        address = ipaddress.ip_address(source) if source else None
        if address is not None and address not in self._mine:
            raise ValueError(f"{source} is not an address of host {self.name}")
        self._source = address

    def address(self, version: int):
        if self._source is not None and self._source.version == version:
            return self._source
        return super().address(version)

    async def ping_from(self, source: str | None, dst: str, **kwargs) -> PingResult:
        """``ping`` with ``source`` as the source address (None: the host's first address)."""
        self._use_source(source)
        try:
            return await self.ping(dst, **kwargs)
        finally:
            self._source = None

    def send_udp_from(self, source: str | None, dst: str, dport: int, payload: bytes, **kwargs) -> bytes:
        self._use_source(source)
        try:
            return self.send_udp(dst, dport, payload, **kwargs)
        finally:
            self._source = None


class HostsBusy(RuntimeError):
    """Another process holds this lab's host endpoints."""


@dataclass
class EmulatedEndpoint:
    name: str
    addresses: tuple[str, ...]
    local: tuple[str, int]  # the host's UDP port (reserved by the lab)
    remote: tuple[str, int]  # the device interface's UDP port
    owns: tuple[str, ...] = ()  # networks whose every address is the host's too


class EmulatedHosts:
    """All emulated hosts of a lab, bound on a private event loop thread until :meth:`close`."""

    def __init__(self, endpoints: list[EmulatedEndpoint]) -> None:
        self._endpoints = endpoints
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lab-hosts", daemon=True)
        self._thread.start()
        self.hosts: dict[str, LabEmulatedHost] = {}
        self._wires: list[UdpWire] = []
        try:
            self._call(self._open())
        except BaseException:
            self.close()
            raise

    def _call(self, coroutine, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _open(self) -> None:
        for endpoint in self._endpoints:
            wire = UdpWire(endpoint.local, endpoint.remote, name=endpoint.name)
            try:
                await wire.open()
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise HostsBusy(f"host {endpoint.name}: its UDP endpoint {endpoint.local[0]}:{endpoint.local[1]} "
                                    "is in use (another `lab ping` or a test is sending from this lab's hosts)") from None
                raise
            self._wires.append(wire)
            owned = [str(a) for net in endpoint.owns for a in ipaddress.ip_network(net)]
            self.hosts[endpoint.name] = LabEmulatedHost(wire, list(endpoint.addresses) + owned, name=endpoint.name)

    def ping(self, host: str, address: str, *, count: int = 3, interval: float = 0.2, timeout: float = 1.0,
             size: int = 56, ttl: int = 64, source: str | None = None) -> PingResult:
        return self._call(self.hosts[host].ping_from(source, address, count=count, interval=interval,
                                                     timeout=timeout, size=size, ttl=ttl))

    def send_udp(self, host: str, address: str, port: int, payload: bytes, *, sport: int = 40000,
                 dont_fragment: bool = False, source: str | None = None) -> bytes:
        async def send() -> bytes:
            return self.hosts[host].send_udp_from(source, address, port, payload, sport=sport,
                                                  dont_fragment=dont_fragment)

        return self._call(send())

    def wait_received(self, host: str, timeout: float = 1.0) -> bytes | None:
        return self._call(self.hosts[host].wait_received(timeout))

    def run(self, fn: Callable[[dict[str, Host]], object]):
        """Run ``fn(hosts)`` (a coroutine function) on the hosts' loop: for traffic patterns of one's own."""
        return self._call(fn(self.hosts))

    def close(self) -> None:
        if self._loop.is_closed():
            return

        async def shut() -> None:
            for wire in self._wires:
                wire.close()

        try:
            if self._thread.is_alive():
                self._call(shut(), timeout=5)
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(5)
        finally:
            if not self._thread.is_alive():
                self._loop.close()


# ------------------------------------------------------------------------------------------- netns hosts
_PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_PING_RTT = re.compile(r"time=([\d.]+) ms")


@dataclass
class CommandPing:
    """A system ``ping`` run in a namespace: its output and the counts parsed from it."""

    sent: int = 0
    received: int = 0
    rtts: list[float] = field(default_factory=list)
    output: str = ""
    errors: list[bytes] = field(default_factory=list)

    @property
    def loss(self) -> float:
        return 1.0 - self.received / self.sent if self.sent else 1.0


def netns_ping(netns: str, address: str, *, count: int = 3, interval: float = 0.2, timeout: float = 1.0,
               size: int = 56, source: str | None = None, echo: Callable[[str], None] | None = None) -> CommandPing:
    """Run ``ping`` inside ``netns``; stream its lines to ``echo`` when given."""
    argv = ["ip", "netns", "exec", netns, "ping", "-n", "-c", str(count), "-i", f"{max(interval, 0.002):g}",
            "-W", f"{max(timeout, 0.1):g}", "-s", str(size), *(["-I", source] if source else []), address]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo is not None:
            echo(line.rstrip("\n"))
    proc.wait()
    output = "".join(lines)
    result = CommandPing(output=output)
    match = _PING_SUMMARY.search(output)
    if match:
        result.sent, result.received = int(match.group(1)), int(match.group(2))
    result.rtts = [float(t) / 1000 for t in _PING_RTT.findall(output)]
    return result
