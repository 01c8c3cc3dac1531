"""The task interface and the statuses a task step returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import message as m

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Engine
    from ..sa import IkeSa

NEED_MORE = 0  # the task continues in the next exchange (or waits for the response)
SUCCESS = 1  # the task is done
FAILED = 2  # the task failed; for IKE_SA setup tasks the IKE SA is destroyed
RETRY = 3  # send the request again with freshly built payloads (COOKIE, INVALID_KE_PAYLOAD)


class Task:
    """One exchange's worth of work. ``exchange`` is the exchange type this task starts as initiator."""

    exchange = m.INFORMATIONAL
    name = "task"

    def __init__(self, engine: Engine):
        self.engine = engine

    # initiator
    def build_i(self, sa: IkeSa, exchange: int, payloads: list[m.Payload]) -> int:
        return SUCCESS

    def process_i(self, sa: IkeSa, msg: m.Message) -> int:
        return SUCCESS

    # responder
    def process_r(self, sa: IkeSa, msg: m.Message) -> int:
        return SUCCESS

    def build_r(self, sa: IkeSa, msg: m.Message, payloads: list[m.Payload]) -> int:
        return SUCCESS

    # hooks
    def on_timeout(self, sa: IkeSa) -> None:
        """The request this task sent was never answered (the peer is considered dead)."""

    def on_abort(self, sa: IkeSa) -> None:
        """The IKE SA went away before the task finished."""

    def __repr__(self) -> str:
        return f"<{self.name}>"
