"""What an RPC handler gets besides its request: the device, the calling session and its user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netconf_device.device import Device


@dataclass
class RpcContext:
    device: Device
    session: Any  # netconf_device.netconf.session.NetconfSession (or a test double with the same fields)
    message_id: str | None = None
    request: Any = None  # the operation element being processed

    @property
    def session_id(self) -> int:
        return self.session.session_id

    @property
    def user(self) -> str:
        return self.session.user

    @property
    def login_class(self) -> str:
        return self.session.login_class
