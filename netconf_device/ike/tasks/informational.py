"""Other INFORMATIONAL content (RFC 7296 §1.4, §1.5): status and error notifies from the peer, and the
INVALID_SPI notify about ESP for an SA we do not have. Answered with an empty response."""

from __future__ import annotations

from .. import message as m
from .base import NEED_MORE, SUCCESS, Task


class Informational(Task):
    name = "informational_r"

    def process_r(self, sa, msg):
        for n in msg.notifies():
            if n.notify_type == m.N_INVALID_SPI:
                sa.counters.invalid_spi_notify_received += 1
            elif n.notify_type == m.N_AUTHENTICATION_FAILED:
                # the initiator rejected our AUTH after we had answered its IKE_AUTH (RFC 7296 §2.21.2)
                sa.failure = "AUTHENTICATION_FAILED reported by the peer"
                self.engine.note_gateway_failure(sa.gateway, sa.failure)
                self.engine.after_response(sa, lambda: self.engine.destroy_ike_sa(sa, sa.failure,
                                                                                 notify_peer=False))
            elif n.is_error:
                self.engine.log.info("IKE SA #%d: peer reports %s", sa.index,
                                     m.NOTIFY_NAMES.get(n.notify_type, n.notify_type))
        return NEED_MORE

    def build_r(self, sa, msg, payloads):
        return SUCCESS


class InvalidSpiNotify(Task):
    """Tell the peer about ESP it sent to an SPI we do not know (INVALID_SPI)."""

    exchange = m.INFORMATIONAL
    name = "invalid_spi"

    def __init__(self, engine, spi: int):
        super().__init__(engine)
        self.spi = spi

    def build_i(self, sa, exchange, payloads):
        payloads.append(m.NotifyPayload(m.N_INVALID_SPI, self.spi.to_bytes(4, "big"), m.PROTO_ESP))
        sa.counters.invalid_spi_notify_sent += 1
        return NEED_MORE

    def process_i(self, sa, msg):
        return SUCCESS
