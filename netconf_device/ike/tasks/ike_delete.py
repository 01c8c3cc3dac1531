"""Deleting the IKE SA with an INFORMATIONAL DELETE (RFC 7296 §1.4.1): all its children go with it."""

from __future__ import annotations

from .. import message as m
from .. import sa as sastate
from .base import NEED_MORE, SUCCESS, Task


class IkeDelete(Task):
    exchange = m.INFORMATIONAL
    name = "ike_delete"

    def __init__(self, engine, reason: str = "deleted"):
        super().__init__(engine)
        self.reason = reason

    def build_i(self, sa, exchange, payloads):
        if sa.state == sastate.DESTROYED:
            return SUCCESS
        sa.state = sastate.DELETING
        payloads.append(m.DeletePayload(m.PROTO_IKE))
        sa.counters.delete_sent += 1
        return NEED_MORE

    def process_i(self, sa, msg):
        self.engine.destroy_ike_sa(sa, self.reason, notify_peer=False)
        return SUCCESS

    def on_timeout(self, sa):
        self.engine.destroy_ike_sa(sa, self.reason, notify_peer=False)


class IkeDeleteResponder(Task):
    """The peer deletes the IKE SA: answer with an empty INFORMATIONAL, then tear down."""

    name = "ike_delete_r"

    def process_r(self, sa, msg):
        sa.counters.delete_received += 1
        return NEED_MORE

    def build_r(self, sa, msg, payloads):
        self.engine.after_response(sa, lambda: self.engine.destroy_ike_sa(sa, "deleted by peer",
                                                                         notify_peer=False))
        return SUCCESS
