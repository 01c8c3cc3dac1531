"""NAT detection in IKE_SA_INIT (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP hashes, and the
decision to float to the NAT-T port."""

from __future__ import annotations

from .. import message as m
from ..addresses import ip
from ..crypto import hash_digest
from .base import NEED_MORE, SUCCESS, Task


def natd_hash(spi_i: bytes, spi_r: bytes, addr, port: int) -> bytes:
    return hash_digest("sha1", spi_i + spi_r + ip(addr).packed + port.to_bytes(2, "big"))


class IkeNatd(Task):
    exchange = m.IKE_SA_INIT
    name = "ike_natd"

    def _enabled(self, sa) -> bool:
        return not sa.gateway.intent.no_nat_traversal

    def _add(self, sa, payloads, spi_r: bytes) -> None:
        payloads.append(m.NotifyPayload(m.N_NAT_DETECTION_SOURCE_IP,
                                        natd_hash(sa.spi_i, spi_r, sa.local_addr, sa.local_port)))
        payloads.append(m.NotifyPayload(m.N_NAT_DETECTION_DESTINATION_IP,
                                        natd_hash(sa.spi_i, spi_r, sa.remote_addr, sa.remote_port)))

    def _detect(self, sa, msg) -> None:
        sources = [n.data for n in msg.notifies() if n.notify_type == m.N_NAT_DETECTION_SOURCE_IP]
        dests = [n.data for n in msg.notifies() if n.notify_type == m.N_NAT_DETECTION_DESTINATION_IP]
        if not sources or not dests:
            return  # the peer does not do NAT-T
        sa.natd_seen = True
        # hashes are over the SPIs as they appear in the message that carries them
        src_expect = natd_hash(msg.spi_i, msg.spi_r, sa.remote_addr, sa.remote_port)
        dst_expect = natd_hash(msg.spi_i, msg.spi_r, sa.local_addr, sa.local_port)
        sa.nat_remote = src_expect not in sources
        sa.nat_local = dst_expect not in dests

    def build_i(self, sa, exchange, payloads):
        if exchange != m.IKE_SA_INIT:
            return SUCCESS
        if self._enabled(sa):
            self._add(sa, payloads, b"\x00" * 8)
        return NEED_MORE

    def process_i(self, sa, msg):
        if msg.exchange != m.IKE_SA_INIT:
            return SUCCESS
        if self._enabled(sa):
            self._detect(sa, msg)
            if sa.nat_local or sa.nat_remote:
                self.engine.float_to_natt(sa)
        return SUCCESS

    def process_r(self, sa, msg):
        if msg.exchange == m.IKE_SA_INIT and self._enabled(sa):
            self._detect(sa, msg)
        return SUCCESS

    def build_r(self, sa, msg, payloads):
        if msg.exchange == m.IKE_SA_INIT and self._enabled(sa) and sa.natd_seen:
            self._add(sa, payloads, sa.spi_r)
        return SUCCESS
