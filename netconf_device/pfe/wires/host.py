"""A small IP host on a wire, for tests and labs: answers pings, pings, sends UDP, keeps what arrives.

It is deliberately minimal (no ARP: wires are point to point and carry IP packets) and always sends
towards its wire, which leads to its gateway, the emulated device.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import os
from collections import deque
from dataclasses import dataclass, field

from netconf_device.pfe import ip
from netconf_device.pfe.fragment import Reassembler

MAX_QUEUED = 4096


@dataclass
class PingResult:
    sent: int = 0
    received: int = 0
    rtts: list[float] = field(default_factory=list)
    errors: list[bytes] = field(default_factory=list)  # ICMP errors received instead of replies

    @property
    def loss(self) -> float:
        return 1.0 - self.received / self.sent if self.sent else 1.0


class Host:
    """An emulated host with one or more addresses on ``wire``."""

    _idents = itertools.count(0x4E44)

    def __init__(self, wire, addresses, *, name: str = "host") -> None:
        self.name = name
        self.wire = wire
        self.addresses = [ipaddress.ip_address(a.split("/")[0]) for a in addresses]
        self._own = {a.packed for a in self.addresses}
        self.received: deque[bytes] = deque(maxlen=MAX_QUEUED)
        self._arrived = asyncio.Event()
        self._reassembler = Reassembler()
        self._waiters: dict[tuple[int, int], asyncio.Future] = {}
        wire.set_receiver(self._receive)

    def address(self, version: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        for address in self.addresses:
            if address.version == version:
                return address
        raise ValueError(f"{self.name} has no IPv{version} address")

    # ------------------------------------------------------------------ receive
    def _receive(self, packets: list[bytes]) -> None:
        for packet in packets:
            self._handle(packet)

    def _handle(self, packet: bytes) -> None:
        if len(packet) < 20:
            return
        v4 = packet[0] >> 4 == 4
        dst = packet[16:20] if v4 else packet[24:40]
        if dst not in self._own:
            return
        if v4:
            proto, offset = packet[9], (packet[0] & 0x0F) * 4
            fragment = bool(packet[6] & 0x3F or packet[7])
        else:
            upper = ip.ipv6_upper_layer(packet)
            if upper is None:
                return
            proto, offset, fragment = upper
        if fragment:  # like any host, reassemble before looking inside
            whole = self._reassembler.add(packet, asyncio.get_running_loop().time())
            if whole is not None:
                self._handle(whole)
            return
        if proto in (ip.PROTO_ICMP, ip.PROTO_ICMPV6) and len(packet) >= offset + 8:
            kind = packet[offset]
            if kind in (ip.ICMP_ECHO_REQUEST, ip.ICMP6_ECHO_REQUEST):
                reply = ip.icmp_echo_reply(packet)
                if reply is not None:
                    self.wire.send(reply)
                return
            if kind in (ip.ICMP_ECHO_REPLY, ip.ICMP6_ECHO_REPLY):
                key = (int.from_bytes(packet[offset + 4:offset + 6], "big"),
                       int.from_bytes(packet[offset + 6:offset + 8], "big"))
                waiter = self._waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(packet)
                return
            if kind in (ip.ICMP_UNREACHABLE, ip.ICMP_TIME_EXCEEDED, ip.ICMP6_UNREACHABLE,
                        ip.ICMP6_PACKET_TOO_BIG, ip.ICMP6_TIME_EXCEEDED):
                self._fail_waiter_for(packet, offset)
        self.received.append(packet)
        self._arrived.set()

    def _fail_waiter_for(self, error: bytes, offset: int) -> None:
        """An ICMP error quoting one of our echo requests ends that ping early."""
        quoted = error[offset + 8:]
        if len(quoted) < 28:
            return
        if quoted[0] >> 4 == 4:
            inner = (quoted[0] & 0x0F) * 4
        else:
            inner = 40
        if len(quoted) >= inner + 8:
            key = (int.from_bytes(quoted[inner + 4:inner + 6], "big"), int.from_bytes(quoted[inner + 6:inner + 8], "big"))
            waiter = self._waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_exception(_IcmpError(error))

    # ------------------------------------------------------------------ send
    def send_udp(self, dst: str, dport: int, payload: bytes, *, sport: int = 40000, ttl: int = 64,
                 dont_fragment: bool = False) -> bytes:
        destination = ipaddress.ip_address(dst)
        src = self.address(destination.version).packed
        packet = ip.ip_packet(src, destination.packed, ip.PROTO_UDP,
                              ip.udp_datagram(src, destination.packed, sport, dport, payload), ttl=ttl,
                              dont_fragment=dont_fragment)
        self.wire.send(packet)
        return packet

    async def ping(self, dst: str, *, count: int = 3, interval: float = 0.05, timeout: float = 1.0,
                   size: int = 56, ttl: int = 64) -> PingResult:
        """Send ``count`` echo requests of ``size`` payload bytes; wait up to ``timeout`` for each."""
        loop = asyncio.get_running_loop()
        destination = ipaddress.ip_address(dst)
        src = self.address(destination.version).packed
        ident = next(self._idents) & 0xFFFF
        result = PingResult()
        for sequence in range(1, count + 1):
            future = loop.create_future()
            self._waiters[(ident, sequence)] = future
            started = loop.time()
            self.wire.send(ip.icmp_echo_request(src, destination.packed, ident, sequence, os.urandom(size), ttl=ttl))
            result.sent += 1
            try:
                await asyncio.wait_for(future, timeout)
                result.received += 1
                result.rtts.append(loop.time() - started)
            except _IcmpError as error:
                result.errors.append(error.packet)
            except TimeoutError:
                self._waiters.pop((ident, sequence), None)
            if sequence < count:
                await asyncio.sleep(interval)
        return result

    async def wait_received(self, timeout: float = 1.0) -> bytes | None:
        """The next queued packet that was not a ping reply, or None after ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.received:
            self._arrived.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return None
        return self.received.popleft()


class _IcmpError(Exception):
    def __init__(self, packet: bytes) -> None:
        super().__init__("ICMP error")
        self.packet = packet
