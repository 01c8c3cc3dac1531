"""A Linux TUN device as a wire, so that real hosts (in network namespaces) and a real strongSwan can
send through an emulated device. Needs root (CAP_NET_ADMIN).

The device side reads and writes raw IP packets on the TUN file descriptor (``IFF_TUN | IFF_NO_PI``);
the other side is a normal Linux interface, optionally moved into a network namespace and given an
address and routes, so ``ip netns exec NS ping ...`` travels through the PFE.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import subprocess

from netconf_device.pfe.wires import MAX_BATCH, Receiver, WireStats

log = logging.getLogger("netconf_device.pfe.wires.tun")

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
READ_SIZE = 65536


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *(["-n", netns] if netns else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise OSError(f"{' '.join(command)}: {result.stderr.strip()}")


class TunWire:
    """A TUN interface named ``ifname``; ``netns``/``addresses``/``routes`` configure the host side."""

    def __init__(self, ifname: str, *, netns: str | None = None, addresses: tuple[str, ...] = (),
                 routes: tuple[str, ...] = (), mtu: int = 1500, max_batch: int = MAX_BATCH) -> None:
        if len(ifname.encode()) > 15:
            raise ValueError(f"interface name {ifname!r} longer than 15 bytes")
        self.name = ifname
        self.netns = netns
        self.addresses = addresses
        self.routes = routes
        self.mtu = mtu
        self._max_batch = max_batch
        self._fd: int | None = None
        self._receiver: Receiver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stats = WireStats()

    async def open(self) -> TunWire:
        self._loop = asyncio.get_running_loop()
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", self.name.encode(), IFF_TUN | IFF_NO_PI))
            if self.netns:
                _ip("link", "set", "dev", self.name, "netns", self.netns)
            _ip("link", "set", "dev", self.name, "mtu", str(self.mtu), netns=self.netns)
            for address in self.addresses:  # "2001:db8::2/64 nodad": flags follow the address
                prefix, *flags = address.split()
                _ip("addr", "add", prefix, "dev", self.name, *flags, netns=self.netns)
            _ip("link", "set", "dev", self.name, "up", netns=self.netns)
            for route in self.routes:
                _ip("route", "replace", *route.split(), "dev", self.name, netns=self.netns)
        except Exception:
            os.close(fd)
            raise
        self._fd = fd
        self._loop.add_reader(fd, self._readable)
        return self

    def set_receiver(self, receiver: Receiver | None) -> None:
        self._receiver = receiver

    def _readable(self) -> None:
        """Drain what the host sent since the last turn and hand it over as one batch."""
        fd = self._fd
        batch = []
        for _ in range(self._max_batch):
            try:
                packet = os.read(fd, READ_SIZE)
            except BlockingIOError:
                break
            except OSError as exc:
                log.warning("TUN %s read failed: %s", self.name, exc)
                break
            if packet:
                batch.append(packet)
        if batch:
            self.stats.received += len(batch)
            if self._receiver is not None:
                self._receiver(batch)

    def send(self, packet: bytes) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, packet)
            self.stats.sent += 1
        except OSError:
            self.stats.dropped += 1  # the host side is down or its queue is full

    def send_many(self, packets) -> None:
        for packet in packets:
            self.send(packet)

    def close(self) -> None:
        if self._fd is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
        os.close(self._fd)  # a non-persistent TUN device disappears with its last descriptor
        self._fd = None
