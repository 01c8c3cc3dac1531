"""Free UDP/TCP ports for labs, never handed to two labs at once.

Ports are drawn from below the kernel's ephemeral range (so outgoing connections of any program cannot
take them by chance), checked free by binding, and recorded in a machine-wide registry file (one per user)
under an exclusive ``flock``. Each reservation names its owner, the lab's state directory; a reservation
whose owner no longer records the port (the lab went down or its state was removed) is stale and reused.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Range to draw from when the ephemeral range cannot be read.
DEFAULT_RANGE = (20000, 32767)


def registry_dir() -> Path:
    path = Path(os.environ.get("NETCONF_DEVICE_LAB_REGISTRY") or
                Path(tempfile.gettempdir()) / f"netconf-device-lab-{os.getuid()}")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _candidate_range() -> tuple[int, int]:
    """Ports below the ephemeral range (Linux default 32768-60999): 10000 up to its start."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return DEFAULT_RANGE
    if low <= 12000:
        return DEFAULT_RANGE
    return 10000, low - 1


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if both a UDP and a TCP socket can bind ``host:port`` right now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


@contextmanager
def _locked_registry() -> Iterator[dict]:
    directory = registry_dir()
    with open(directory / "ports.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = directory / "ports.json"
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, path)


def allocate(owner: str, count: int, *, still_owned: Callable[[str, int], bool],
             host: str = "127.0.0.1") -> list[int]:
    """Reserve ``count`` distinct free ports for ``owner`` (a lab state directory).

    ``still_owned(owner, port)`` tells whether an existing reservation is live; stale ones are dropped.
    """
    low, high = _candidate_range()
    rng = random.Random()
    with _locked_registry() as registry:
        for key, other in list(registry.items()):
            if other != owner and not still_owned(other, int(key)):
                del registry[key]
        ports: list[int] = []
        attempts = 0
        while len(ports) < count:
            attempts += 1
            if attempts > 20 * count + 1000:
                raise RuntimeError(f"no free ports left in {low}-{high} for the lab")
            port = rng.randint(low, high)
            if str(port) in registry or port in ports or not port_is_free(port, host):
                continue
            ports.append(port)
        for port in ports:
            registry[str(port)] = owner
    return ports


def release(owner: str) -> None:
    """Drop every reservation of ``owner``."""
    with _locked_registry() as registry:
        for key, other in list(registry.items()):
            if other == owner:
                del registry[key]


def reserved_by(owner: str) -> list[int]:
    with _locked_registry() as registry:
        return sorted(int(k) for k, v in registry.items() if v == owner)


def free_udp_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """``n`` distinct UDP ports free on ``host`` right now (the kernel picks them), for ad-hoc wires in
    tests and benchmarks; labs use ``allocate`` instead, which also keeps parallel labs apart."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()

