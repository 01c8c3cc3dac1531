"""Network namespaces, veth pairs, addresses, routes and TUN devices for interop tests and labs.

Everything is driven through iproute2 (``ip``), except two things that need a file descriptor: a socket
bound inside a namespace (``Netns.socket``) and a TUN device opened inside one (``open_tun``). Those run in
a short-lived thread that enters the namespace with ``setns(2)``; a network-namespace switch only affects
the calling thread, so the rest of the process stays where it is.

All of it needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); ``require_root`` raises a clear error otherwise.
Namespace and interface names are chosen by the caller (give them your prefix) and every object cleans up
idempotently: ``close()`` twice, or after the namespace vanished, is fine.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import ipaddress
import logging
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger("netconf_device.interop.netns")

NETNS_DIR = "/run/netns"
IFNAMSIZ = 16  # including the terminating NUL: names are at most 15 characters
_CLONE_NEWNET = 0x40000000
_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000

T = TypeVar("T")


class NetnsError(RuntimeError):
    """An ``ip`` command or a namespace operation failed; the message carries the command's stderr."""


def require_root(what: str = "network namespaces") -> None:
    """Raise PermissionError unless we are root (netns, veth, TUN and charon all need it)."""
    if os.geteuid() != 0:
        raise PermissionError(f"{what} need root (CAP_NET_ADMIN/CAP_SYS_ADMIN); run as root")


def check_ifname(name: str) -> str:
    if not name or len(name) >= IFNAMSIZ or "/" in name or any(c.isspace() for c in name):
        raise ValueError(f"invalid interface name {name!r}: 1..15 characters, no '/' or spaces")
    return name


def check_netns_name(name: str) -> str:
    if not name or "/" in name or name in (".", "..") or any(c.isspace() for c in name) or len(name) > 64:
        raise ValueError(f"invalid namespace name {name!r}")
    return name


def run(
    argv: Sequence[str],
    *,
    netns: str | None = None,
    check: bool = True,
    timeout: float = 30.0,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside ``netns`` if given), capture its output as text.

    Raises NetnsError with the command's stderr when ``check`` and it fails.
    """
    full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
    try:
        proc = subprocess.run(
            full, capture_output=True, text=True, timeout=timeout, input=input, env=env, check=False
        )
    except FileNotFoundError as exc:
        raise NetnsError(f"{full[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise NetnsError(f"{' '.join(full)}: timed out after {timeout}s") from exc
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(full)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc


def ip(*args: str, netns: str | None = None, check: bool = True, input: str | None = None) -> str:
    """``ip [-n NS] ARGS`` -> stdout."""
    argv = ["ip"] + (["-n", netns] if netns else []) + list(args)
    return run(argv, check=check, input=input).stdout


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def list_namespaces(prefix: str = "") -> list[str]:
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def pids_in(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (``ip netns pids``)."""
    if not exists(name):
        return []
    out = run(["ip", "netns", "pids", name], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def delete(name: str, *, kill: bool = True, timeout: float = 5.0) -> None:
    """Delete namespace ``name`` (idempotent). With ``kill``, processes left inside are killed first
    (SIGTERM, then SIGKILL after ``timeout``) so the namespace really goes away."""
    if not exists(name):
        return
    if kill:
        _terminate(pids_in(name), timeout)
    proc = run(["ip", "netns", "del", name], check=False)
    if proc.returncode != 0 and exists(name):
        raise NetnsError(f"ip netns del {name}: {proc.stderr.strip()}")
    log.debug("deleted netns %s", name)


def cleanup_prefix(prefix: str) -> list[str]:
    """Delete every namespace whose name starts with ``prefix`` (leftovers of a crashed run)."""
    if len(prefix) < 3:
        raise ValueError("refusing to clean up with a prefix shorter than 3 characters")
    names = list_namespaces(prefix)
    for name in names:
        delete(name)
    return names


def _terminate(pids: Iterable[int], timeout: float) -> None:
    pids = [p for p in pids if p != os.getpid()]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)
    for pid in pids:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


# ------------------------------------------------------------------------------------ setns in a thread
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def call_in_netns(name: str | None, func: Callable[[], T]) -> T:
    """Run ``func()`` with the calling thread's network namespace switched to ``name``.

    Sockets and TUN devices created by ``func`` belong to that namespace for their whole life. Runs in a
    helper thread so the caller's thread never changes namespace. ``name=None`` calls ``func`` directly.
    """
    if name is None:
        return func()
    require_root("entering a network namespace")
    path = os.path.join(NETNS_DIR, check_netns_name(name))
    result: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            error.append(NetnsError(f"network namespace {name!r} does not exist"))
            return
        try:
            _setns(target)
            result.append(func())
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)
        finally:
            os.close(target)

    thread = threading.Thread(target=body, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


# ----------------------------------------------------------------------------------------- namespaces
class Netns:
    """One network namespace. ``Netns.create(name)`` makes it (loopback up); ``close()`` deletes it and
    kills whatever still runs inside. Use as a context manager for guaranteed cleanup."""

    def __init__(self, name: str) -> None:
        self.name = check_netns_name(name)
        self._closed = False

    @classmethod
    def create(cls, name: str, *, exist_ok: bool = False) -> Netns:
        require_root()
        ns = cls(name)
        if exists(name):
            if not exist_ok:
                raise NetnsError(f"network namespace {name!r} already exists")
        else:
            run(["ip", "netns", "add", name])
            log.debug("created netns %s", name)
        try:
            ns.ip("link", "set", "lo", "up")
        except BaseException:
            delete(name)
            raise
        return ns

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"

    def __enter__(self) -> Netns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            delete(self.name)

    @property
    def exists(self) -> bool:
        return exists(self.name)

    # --- commands
    def run(
        self, argv: Sequence[str], *, check: bool = True, timeout: float = 30.0, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(argv, netns=self.name, check=check, timeout=timeout, input=input)

    def popen(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen:
        """Start ``argv`` inside the namespace (``ip netns exec`` execs in place: the pid is the command's)."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)  # type: ignore[call-overload]

    def ip(self, *args: str, check: bool = True) -> str:
        return ip(*args, netns=self.name, check=check)

    def ip_batch(self, commands: Iterable[str]) -> None:
        """Run many ``ip`` commands in one process (``ip -batch -``), e.g. thousands of addresses."""
        text = "".join(c.rstrip("\n") + "\n" for c in commands)
        if text:
            ip("-batch", "-", netns=self.name, input=text)

    # --- configuration
    def set_up(self, dev: str) -> None:
        self.ip("link", "set", check_ifname(dev), "up")

    def add_address(self, cidr: str, dev: str = "lo") -> None:
        ipaddress.ip_interface(cidr)  # clear error for a typo before iproute2's
        self.ip("addr", "add", cidr, "dev", check_ifname(dev))

    def add_addresses(self, cidrs: Iterable[str], dev: str = "lo") -> None:
        check_ifname(dev)
        self.ip_batch(f"address add {ipaddress.ip_interface(c).with_prefixlen} dev {dev}" for c in cidrs)

    def add_route(
        self,
        dst: str,
        *,
        via: str | None = None,
        dev: str | None = None,
        src: str | None = None,
        table: int | None = None,
    ) -> None:
        args = ["route", "add", dst]
        if via:
            args += ["via", via]
        if dev:
            args += ["dev", check_ifname(dev)]
        if src:
            args += ["src", src]
        if table is not None:
            args += ["table", str(table)]
        self.ip(*args)

    def sysctl(self, key: str, value: str | int) -> None:
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])

    def addresses(self, dev: str | None = None) -> list[str]:
        """Addresses (``a.b.c.d/nn``) configured in the namespace, optionally on one device."""
        args = ["-o", "addr", "show"] + (["dev", dev] if dev else [])
        out = self.ip(*args)
        return [parts[3] for parts in (line.split() for line in out.splitlines()) if len(parts) > 3]

    def links(self) -> list[str]:
        out = self.ip("-o", "link", "show")
        return [line.split(":", 2)[1].strip().split("@", 1)[0] for line in out.splitlines() if ":" in line]

    def pids(self) -> list[int]:
        return pids_in(self.name)

    # --- file descriptors inside the namespace
    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_DGRAM, proto: int = 0) -> socket.socket:
        """A socket that lives in this namespace (bind/connect it as usual from any thread)."""
        return call_in_netns(self.name, lambda: socket.socket(family, type, proto))

    def open_tun(self, name: str) -> int:
        """Create (or attach to) TUN device ``name`` inside this namespace; returns its fd."""
        return open_tun(name, netns=self.name)


# ----------------------------------------------------------------------------------------- veth
@dataclass(frozen=True)
class VethPair:
    """A veth pair; ``a_netns``/``b_netns`` None means the namespace this process runs in."""

    a_netns: str | None
    a_if: str
    b_netns: str | None
    b_if: str

    def delete(self) -> None:
        """Delete the pair (idempotent; deleting one end removes both, and so does deleting a netns)."""
        if self.a_netns and not exists(self.a_netns):
            return
        ip("link", "del", self.a_if, netns=self.a_netns, check=False)


def add_veth(
    a_netns: str | None,
    a_if: str,
    b_netns: str | None,
    b_if: str,
    *,
    a_addr: str | None = None,
    b_addr: str | None = None,
    mtu: int | None = None,
) -> VethPair:
    """Create a veth pair between two namespaces (None = ours), address both ends and bring them up."""
    require_root()
    check_ifname(a_if)
    check_ifname(b_if)
    args = ["link", "add", a_if]
    if mtu:
        args += ["mtu", str(mtu)]
    args += ["type", "veth", "peer", "name", b_if]
    if mtu:
        args += ["mtu", str(mtu)]
    if b_netns:
        args += ["netns", b_netns]
    ip(*args, netns=a_netns)
    pair = VethPair(a_netns, a_if, b_netns, b_if)
    try:
        for ns, dev, addr in ((a_netns, a_if, a_addr), (b_netns, b_if, b_addr)):
            if addr:
                ip("addr", "add", ipaddress.ip_interface(addr).with_prefixlen, "dev", dev, netns=ns)
            ip("link", "set", dev, "up", netns=ns)
    except BaseException:
        pair.delete()
        raise
    return pair


# ----------------------------------------------------------------------------------------- TUN
def create_tun(
    name: str,
    *,
    netns: str | None = None,
    addresses: Iterable[str] = (),
    up: bool = True,
    mtu: int | None = None,
) -> None:
    """Create a persistent TUN device (``ip tuntap add mode tun``) that a process can attach to later."""
    require_root()
    ip("tuntap", "add", "dev", check_ifname(name), "mode", "tun", netns=netns)
    if mtu:
        ip("link", "set", name, "mtu", str(mtu), netns=netns)
    for cidr in addresses:
        ip("addr", "add", ipaddress.ip_interface(cidr).with_prefixlen, "dev", name, netns=netns)
    if up:
        ip("link", "set", name, "up", netns=netns)


def delete_link(name: str, *, netns: str | None = None) -> None:
    """Delete a link (TUN, veth ...); idempotent."""
    if netns and not exists(netns):
        return
    ip("link", "del", check_ifname(name), netns=netns, check=False)


def open_tun(name: str, *, netns: str | None = None) -> int:
    """Open TUN device ``name`` (IFF_TUN | IFF_NO_PI: raw IP packets, no packet-info header) in ``netns``.

    The device is created if it does not exist; it lives until the fd is closed unless it was created
    persistent with ``create_tun``. Returns a blocking fd: ``os.read(fd, 65535)`` gives one IP packet.
    """
    require_root("TUN devices")
    check_ifname(name)

    def attach() -> int:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
        try:
            ifr = struct.pack("16sH22x", name.encode(), _IFF_TUN | _IFF_NO_PI)
            fcntl.ioctl(fd, _TUNSETIFF, ifr)
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EBUSY:
                raise NetnsError(f"TUN device {name} is already attached to another process") from exc
            raise
        return fd

    return call_in_netns(netns, attach)


# ----------------------------------------------------------------------------------------- two namespaces
class NetnsPair:
    """Two namespaces joined by a veth pair: the standard interop topology.

    ``left``/``right`` are the namespaces ``<prefix>-l``/``<prefix>-r``; their veth ends are ``<prefix>-l0`` and
    ``<prefix>-r0`` with ``left_addr``/``right_addr``. ``left_inner``/``right_inner`` are extra addresses on
    ``lo`` (the hosts behind each peer, used as traffic-selector endpoints). Deleting the namespaces removes
    everything inside, including processes that were left running.
    """

    def __init__(
        self,
        prefix: str,
        *,
        left_addr: str = "10.200.0.1/24",
        right_addr: str = "10.200.0.2/24",
        left_inner: Sequence[str] = (),
        right_inner: Sequence[str] = (),
    ) -> None:
        require_root()
        if len(prefix) > 12:
            raise ValueError(f"prefix {prefix!r} too long: veth names '<prefix>-l0' must fit 15 characters")
        self.prefix = prefix
        self.left_addr = ipaddress.ip_interface(left_addr)
        self.right_addr = ipaddress.ip_interface(right_addr)
        self.left = Netns.create(f"{prefix}-l")
        try:
            self.right = Netns.create(f"{prefix}-r")
            self.veth = add_veth(
                self.left.name, f"{prefix}-l0", self.right.name, f"{prefix}-r0",
                a_addr=left_addr, b_addr=right_addr,
            )
            self.left.add_addresses(left_inner)
            self.right.add_addresses(right_inner)
        except BaseException:
            self.close()
            raise

    @property
    def left_ip(self) -> str:
        return str(self.left_addr.ip)

    @property
    def right_ip(self) -> str:
        return str(self.right_addr.ip)

    def __enter__(self) -> NetnsPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ns in (getattr(self, "right", None), getattr(self, "left", None)):
            if ns is not None:
                ns.close()
