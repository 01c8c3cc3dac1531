"""Helpers for the strongSwan interop harness tests: two charons in two namespaces, cleaned up always.

(A uniquely named module: pytest replaces ``conftest`` in sys.modules per directory, so tests import from here.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netconf_device.interop import netns
from netconf_device.interop.strongswan import Charon, stop_all
from netconf_device.interop.swanctl_conf import Child, Connection

REPO_ROOT = str(Path(__file__).resolve().parents[2])
LEFT_INNER, RIGHT_INNER = "1.1.1.1", "2.2.2.2"
LEFT_NET, RIGHT_NET = "1.1.1.0/24", "2.2.2.0/24"


def swan_prefix(tag: str) -> str:
    """Namespace prefix unique to this test process ("ndsw" + tag + pid), short enough for veth names."""
    if len(tag) > 3:
        raise ValueError("tag must be at most 3 characters")
    return f"ndsw{tag}{os.getpid() % 10000}"


@dataclass
class SwanPair:
    topo: netns.NetnsPair
    left: Charon  # initiator, 10.200.0.1, hosts 1.1.1.0/24
    right: Charon  # responder, 10.200.0.2, hosts 2.2.2.0/24

    def ping(self, count: int = 3) -> bool:
        """Ping from the left host to the right host through the tunnel; True if every echo came back."""
        proc = self.topo.left.run(
            ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", "-I", LEFT_INNER, RIGHT_INNER],
            check=False, timeout=30,
        )
        return proc.returncode == 0 and f" {count} received" in proc.stdout


def pair_connections(
    *, ike: str = "aes256-sha256-modp2048", esp: str = "aes256gcm16", psk: str = "interop-psk-Ünicode #1",
    left: dict | None = None, right: dict | None = None, **common,
) -> tuple[Connection, Connection]:
    """Initiator (left) and responder (right) connections for the standard pair topology."""
    lconn = Connection(
        local_addrs=("10.200.0.1",), remote_addrs=("10.200.0.2",), proposals=(ike,), psk=psk,
        children=(Child(local_ts=(LEFT_NET,), remote_ts=(RIGHT_NET,), esp_proposals=(esp,)),),
        **{**common, **(left or {})},
    )
    rconn = Connection(
        local_addrs=("10.200.0.2",), remote_addrs=("%any",), proposals=(ike,), psk=psk,
        children=(Child(local_ts=(RIGHT_NET,), remote_ts=(LEFT_NET,), esp_proposals=(esp,)),),
        **{**common, **(right or {})},
    )
    return lconn, rconn


@contextlib.contextmanager
def swan_pair(tag: str, workdir: Path, lconn: Connection | None = None,
              rconn: Connection | None = None) -> Iterator[SwanPair]:
    """Two namespaces joined by a veth, a charon in each, both connections loaded (nothing initiated)."""
    if lconn is None or rconn is None:
        lconn, rconn = pair_connections()
    with netns.NetnsPair(swan_prefix(tag), left_inner=[f"{LEFT_INNER}/32"],
                         right_inner=[f"{RIGHT_INNER}/32"]) as topo:
        left = Charon(workdir, "left", netns=topo.left.name)
        right = Charon(workdir, "right", netns=topo.right.name)
        try:
            right.start()
            left.start()
            right.load(rconn)
            left.load(lconn)
            yield SwanPair(topo, left, right)
        finally:
            stop_all([left, right])
