"""A point-to-point link that carries raw IP packets between two emulated interfaces over UDP.

Each datagram is exactly one IP packet (no extra header). Both ends bind a local UDP port and send to
the other's; datagrams from any other source are ignored, so a stray sender on the host cannot inject
packets into a device. Unprivileged, and it works between processes (one per device, DESIGN.md
principle 7). Loopback UDP carries up to 65507 bytes, far above any interface MTU here.

The socket is read with ``loop.add_reader`` and drained in one go on each readiness event, so that the
datapath receives a batch per event-loop turn (asyncio's datagram transport reads one datagram per turn).
"""

from __future__ import annotations

import asyncio
import logging
import socket

from netconf_device.pfe.wires import MAX_BATCH, Receiver, WireStats

log = logging.getLogger("netconf_device.pfe.wires.udp")

RECEIVE_BUFFER = 4 << 20
MAX_DATAGRAM = 65535


class UdpWire:
    """One end of a UDP link. ``remote`` None learns the peer from the first datagram received."""

    def __init__(self, local: tuple[str, int], remote: tuple[str, int] | None, *, name: str = "",
                 max_batch: int = MAX_BATCH) -> None:
        self.name = name
        self._local = local
        self._remote = remote
        self._max_batch = max_batch
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._receiver: Receiver | None = None
        self._peer: tuple | None = None
        self.stats = WireStats()

    @property
    def local_address(self) -> tuple[str, int]:
        """The bound (host, port); useful after binding port 0."""
        if self._sock is None:
            return self._local
        return self._sock.getsockname()[:2]

    async def open(self) -> UdpWire:
        self._loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self._local[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            except OSError:
                pass  # best effort: a small buffer only means drops under bursts
            sock.bind(self._local)
            if self._remote is not None:
                infos = await self._loop.getaddrinfo(*self._remote, family=family, type=socket.SOCK_DGRAM)
                self._peer = infos[0][4]
        except Exception:
            sock.close()
            raise
        self._sock = sock
        self._loop.add_reader(sock.fileno(), self._readable)
        return self

    def set_remote(self, remote: tuple[str, int]) -> None:
        """Point the link at the far end (when it was not known at ``open``)."""
        self._remote = remote
        self._peer = remote

    def set_receiver(self, receiver: Receiver | None) -> None:
        self._receiver = receiver

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        batch = []
        peer = self._peer
        for _ in range(self._max_batch):
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.stats.dropped += 1  # e.g. ICMP port unreachable from a peer that is not up yet
                break
            if peer is None:
                peer = self._peer = addr  # learn the peer (only when no remote was configured)
            elif addr[0] != peer[0] or addr[1] != peer[1]:
                continue
            batch.append(data)
        if batch:
            self.stats.received += len(batch)
            if self._receiver is not None:
                self._receiver(batch)

    def send(self, packet: bytes) -> None:
        sock, peer = self._sock, self._peer
        if sock is None or peer is None:
            self.stats.dropped += 1
            return
        try:
            sock.sendto(packet, peer)
            self.stats.sent += 1
        except (BlockingIOError, InterruptedError, OSError):
            self.stats.dropped += 1  # the far end's buffer is full, or it is not up: lost, like on a cable

    def send_many(self, packets) -> None:
        for packet in packets:
            self.send(packet)

    def close(self) -> None:
        if self._sock is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None
