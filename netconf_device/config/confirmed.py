"""The pending confirmed commit (``commit confirmed N``; NETCONF ``<commit><confirmed/>``), kept on disk.

The file holds the configuration to go back to (the running configuration before the *first* confirmed
commit of a series) and the deadline in wall-clock seconds, so a restarted device still rolls back an
unconfirmed commit. It names the sequence number of the confirmed commit it guards: it counts only while
that commit is the running one (``HEAD``), so any later commit, or a crash between writing this file and
``HEAD``, leaves it stale and harmless. It is therefore written *before* ``HEAD`` moves, and a stale one is
removed on start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from lxml import etree

from netconf_device.config import persist
from netconf_device.config.history import decode_config_file, encode_config_file

Flavor = Literal["junos", "ietf"]


@dataclass(frozen=True)
class PendingConfirm:
    """A confirmed commit waiting for its confirmation."""

    sequence: int  # the commit that must be confirmed (valid only while it is HEAD)
    deadline: float  # wall clock: roll back at or after this time
    flavor: Flavor  # "junos": any commit (or commit check) confirms; "ietf": RFC 6241 rules
    user: str  # who issued the confirmed commit
    client: str
    session_id: int | None  # the issuing session (ietf without persist: only it may confirm)
    persist: str | None = None  # RFC 6241 persist token: confirm/cancel need the same persist-id
    started: float = 0.0  # time of the first confirmed commit of the series


class PendingStore:
    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "confirmed.conf"

    def save(self, pending: PendingConfirm, target: etree._Element) -> None:
        persist.atomic_write(self.path, encode_config_file(target, asdict(pending)))

    def load(self) -> tuple[PendingConfirm, etree._Element] | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        header, tree = decode_config_file(data, self.path.name)
        fields = {k: header[k] for k in PendingConfirm.__dataclass_fields__ if k in header}
        return PendingConfirm(**fields), tree

    def clear(self) -> None:
        persist.atomic_unlink(self.path)
