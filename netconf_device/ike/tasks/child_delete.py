"""Deleting child SAs with an INFORMATIONAL DELETE (RFC 7296 §1.4.1), including simultaneous deletes."""

from __future__ import annotations

from .. import message as m
from .. import sa as sastate
from .base import NEED_MORE, SUCCESS, Task


class ChildDelete(Task):
    exchange = m.INFORMATIONAL
    name = "child_delete"

    def __init__(self, engine, children):
        super().__init__(engine)
        self.children = list(children)

    def build_i(self, sa, exchange, payloads):
        live = [c for c in self.children if c.state != sastate.CHILD_DELETED and c.ike_sa is sa]
        self.children = live
        if not live:
            return SUCCESS
        for c in live:
            c.state = sastate.CHILD_DELETING
        payloads.append(m.DeletePayload(m.PROTO_ESP, [c.spi_in.to_bytes(4, "big") for c in live]))
        sa.counters.delete_sent += 1
        return NEED_MORE

    def process_i(self, sa, msg):
        for c in self.children:
            self.engine.remove_child(sa, c)
        return SUCCESS

    def on_abort(self, sa):
        for c in self.children:
            self.engine.remove_child(sa, c)


class ChildDeleteResponder(Task):
    name = "child_delete_r"

    def __init__(self, engine):
        super().__init__(engine)
        self.answer: list[bytes] = []
        self.gone = []

    def process_r(self, sa, msg):
        sa.counters.delete_received += 1
        for d in msg.get_all(m.PT_DELETE):
            if d.protocol != m.PROTO_ESP:
                continue
            for raw in d.spis:
                child = sa.child_by_spi_out(int.from_bytes(raw, "big"))
                if child is None or child.state == sastate.CHILD_DELETED:
                    continue
                if child.state != sastate.CHILD_DELETING:
                    # our delete of it is not in flight: answer with our inbound SPI
                    self.answer.append(child.spi_in.to_bytes(4, "big"))
                self.gone.append(child)
        return NEED_MORE

    def build_r(self, sa, msg, payloads):
        if self.answer:
            payloads.append(m.DeletePayload(m.PROTO_ESP, self.answer))
        for c in self.gone:
            self.engine.remove_child(sa, c, reason="deleted by peer")
        self.engine.after_response(sa, lambda: self.engine.ensure_tunnels_later(sa.gateway))
        return SUCCESS
