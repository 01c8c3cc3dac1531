"""IKE SA and child SA state: keys, message-ID windows, the outstanding request and its retransmission,
the cached response, SK encryption of outgoing messages with IKE fragmentation (RFC 7383) and decryption
and reassembly of incoming ones (with limits), and the counters the show commands report.

An :class:`IkeSa` never touches the network or a clock: the engine passes ``now`` and sends what
:meth:`IkeSa.encode` returns.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import message as m
from .crypto import CryptoError, IkeKeys, Prf, SkCipher, fragment_aad, make_sk_ciphers
from .proposals import EspAlgorithms, IkeAlgorithms

if TYPE_CHECKING:  # pragma: no cover
    from .auth import Identity
    from .dh import KeyExchange
    from .engine import GatewayState, VpnState
    from .tasks.base import Task

# IKE SA states
CONNECTING = "CONNECTING"
ESTABLISHED = "ESTABLISHED"
REKEYING = "REKEYING"  # our IKE rekey is in flight
REKEYED = "REKEYED"  # replaced by a successor, waiting for the old SA's DELETE
DELETING = "DELETING"
DESTROYED = "DESTROYED"

# child SA states
CHILD_INSTALLED = "INSTALLED"
CHILD_REKEYING = "REKEYING"
CHILD_REKEYED = "REKEYED"
CHILD_DELETING = "DELETING"
CHILD_DELETED = "DELETED"


class IkeCounters:
    """Per IKE SA statistics (show security ike security-associations detail / active-peer)."""

    __slots__ = ("in_bytes", "out_bytes", "in_packets", "out_packets", "in_frag_packets", "out_frag_packets",
                 "in_invalid_spi", "out_invalid_spi", "ipsec_created", "ipsec_deleted", "phase2_negotiations",
                 "ipsec_rekeys", "delete_received", "delete_sent", "dpd_sent", "dpd_received",
                 "dpd_responses_received", "dpd_responses_sent", "retransmits", "invalid_spi_notify_received",
                 "invalid_spi_notify_sent", "child_rekey_requests_out", "child_rekey_requests_in",
                 "child_rekey_responses_in", "child_rekey_responses_out", "auth_failures", "decrypt_failures")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Outstanding:
    """The request we wait a response for (window size 1)."""

    __slots__ = ("msg_id", "exchange", "datagrams", "sent", "timeout", "next_at", "tries_left", "tasks",
                 "fixed_timeout")

    def __init__(self, msg_id: int, exchange: int, datagrams: list[bytes], tasks: list[Task]):
        self.msg_id = msg_id
        self.exchange = exchange
        self.datagrams = datagrams
        self.sent = 0
        self.timeout = 0.0
        self.next_at = 0.0
        self.tries_left = 0
        self.tasks = tasks
        self.fixed_timeout: float | None = None  # DPD probes retransmit every interval


class Reassembly:
    __slots__ = ("msg_id", "total", "first_inner", "fragments", "size")

    def __init__(self, msg_id: int, total: int):
        self.msg_id = msg_id
        self.total = total
        self.first_inner = m.PT_NONE
        self.fragments: dict[int, bytes] = {}
        self.size = 0


@dataclass
class ChildSaState:
    """One negotiated ESP SA pair as the IKE daemon tracks it."""

    vpn: VpnState
    ts_index: int
    spi_in: int
    spi_out: int
    algorithms: EspAlgorithms
    key_in: bytes = field(repr=False)
    key_out: bytes = field(repr=False)
    local_ts: list = field(default_factory=list)
    remote_ts: list = field(default_factory=list)
    initiator: bool = True  # we started the exchange that created it
    created_at: float = 0.0
    rekey_at: float | None = None
    expire_at: float | None = None
    lifetime: int = 3600
    lifetime_bytes: int | None = None
    state: str = CHILD_INSTALLED
    ike_sa: IkeSa | None = None
    last_inbound: float | None = None
    last_outbound: float | None = None
    nonce_i: bytes = b""
    nonce_r: bytes = b""
    replaced_spi_in: int | None = None  # the child this one rekeyed
    encap: object = None  # sa.UdpEncap handed to the PFE
    pfs_group: int | None = None
    rekeys: int = 0
    withdrawn: bool = False  # the PFE was already told it is gone (its DELETE exchange may still follow)


class IkeSa:
    """State of one IKE SA; tasks read and write it, the engine drives it."""

    def __init__(self, index: int, gateway: GatewayState | None, initiator: bool, local_addr, local_port: int,
                 remote_addr, remote_port: int, now: float):
        self.index = index
        self.gateway = gateway
        self.initiator = initiator  # original initiator of this IKE SA
        self.spi_i = os.urandom(8) if initiator else b""
        self.spi_r = b"\x00" * 8
        self.state = CONNECTING
        self.local_addr = local_addr
        self.local_port = local_port
        self.remote_addr = remote_addr
        self.remote_port = remote_port
        # negotiation
        self.algs: IkeAlgorithms | None = None
        self.prf: Prf | None = None
        self.keys: IkeKeys | None = None
        self.sk_out: SkCipher | None = None
        self.sk_in: SkCipher | None = None
        self.ni = b""
        self.nr = b""
        self.dh: KeyExchange | None = None
        self.dh_group: int | None = None
        self.cookie: bytes | None = None
        self.init_retries = 0
        self.init_request = b""
        self.init_response = b""
        # authentication
        self.local_id: Identity | None = None
        self.remote_id: Identity | None = None
        self.local_auth_method = 0
        self.remote_auth_method = 0
        self.peer_certs: list[bytes] = []
        self.peer_cert = None
        self.peer_hashes: tuple[int, ...] = ()
        self.peer_certreq = False
        # NAT-T and extensions
        self.nat_local = False  # we are behind a NAT
        self.nat_remote = False  # the peer is behind a NAT
        self.natd_seen = False
        self.peer_frag = False
        self.initial_contact = False  # the peer sent INITIAL_CONTACT
        self.send_initial_contact = False  # we are the first IKE SA with this peer (RFC 7296 §2.4)
        # children
        self.children: list[ChildSaState] = []
        # message IDs (window size 1 both ways)
        self.next_msg_id = 0
        self.outstanding: Outstanding | None = None
        self.peer_next_id = 0
        self.last_response_id = -1
        self.last_response: list[bytes] = []
        self.reassembly: dict[bool, Reassembly] = {}
        # tasks
        self.queue: list[Task] = []
        self.active: list[Task] = []
        self.passive: list[Task] = []
        self.fatal_notify: m.NotifyPayload | None = None
        self.stateless_reply: list[m.Payload] | None = None
        # lifetimes and timers
        self.created_at = now
        self.established_at: float | None = None
        self.rekey_at: float | None = None
        self.expire_at: float | None = None
        self.lifetime = 28800
        self.rekeys_since_auth = 0
        self.last_in = now
        self.last_out = now
        self.successor: IkeSa | None = None
        self.predecessor: IkeSa | None = None
        self.replaces: IkeSa | None = None  # reauthentication: the SA this one replaces when up
        self.failure: str = ""
        self.counters = IkeCounters()
        self.on_established: list[Callable[[IkeSa], None]] = []
        self.candidates: list[GatewayState] = []  # responder: gateways this peer may be
        self.was_up = False
        self.dpd_outstanding = False
        self.rekey_collision = None  # passive IKE rekey seen while ours is active (see tasks/collisions.py)
        self.lineage = b""  # SPIi of the IKE_SA_INIT this SA descends from (kept across rekeys)
        self.replaced_by_reauth: IkeSa | None = None
        self.half_open_key: tuple | None = None
        self.init_key: tuple | None = None
        self.down_reported = False
        self.no_reinit = False
        self.tell_peer: m.NotifyPayload | None = None  # error notify to send before giving up the SA
        self.busy = False  # a message is being processed: do not start an exchange in the middle of it

    # ----------------------------------------------------------------------------------------- identity
    @property
    def local_spi(self) -> bytes:
        return self.spi_i if self.initiator else self.spi_r

    @property
    def remote_spi(self) -> bytes:
        return self.spi_r if self.initiator else self.spi_i

    @property
    def is_up(self) -> bool:
        return self.state in (ESTABLISHED, REKEYING)

    @property
    def usable(self) -> bool:
        """Can carry new exchanges for children (not being replaced or torn down)."""
        return self.state == ESTABLISHED

    def flags(self, response: bool) -> int:
        return (m.FLAG_INITIATOR if self.initiator else 0) | (m.FLAG_RESPONSE if response else 0)

    # ----------------------------------------------------------------------------------------- keys
    def set_keys(self, algs: IkeAlgorithms, prf: Prf, keys: IkeKeys) -> None:
        self.algs = algs
        self.prf = prf
        self.keys = keys
        self.sk_out, self.sk_in = make_sk_ciphers(algs.encr, algs.encr_bits, algs.integ, keys, self.initiator)

    # ----------------------------------------------------------------------------------------- encoding
    def encode(self, exchange: int, response: bool, msg_id: int, payloads: list[m.Payload],
               fragment_limit: int | None) -> list[bytes]:
        """Encode an outgoing message; encrypted unless IKE_SA_INIT. May return several fragments."""
        msg = m.Message(self.spi_i, self.spi_r, exchange, self.flags(response), msg_id, payloads)
        if exchange == m.IKE_SA_INIT:
            return [msg.encode_plain()]
        first, inner = m.encode_chain(payloads)
        cipher = self.sk_out
        if cipher is None:
            raise RuntimeError("no keys for an encrypted exchange")
        body_len = cipher.sealed_length(len(inner))
        total = m.IKE_HEADER_LEN + 4 + body_len
        if fragment_limit is not None and self.peer_frag and total > fragment_limit:
            return self._encode_fragments(msg, first, inner, fragment_limit)
        hdr = msg.header(total, m.PT_SK)
        aad = hdr + struct.pack("!BBH", first, 0, 4 + body_len)
        body, icv = cipher.seal(aad, inner)
        return [aad + body + icv]

    def _encode_fragments(self, msg: m.Message, first: int, inner: bytes, limit: int) -> list[bytes]:
        cipher = self.sk_out
        assert cipher is not None
        room = limit - m.IKE_HEADER_LEN - 8  # SKF generic header + number/total
        chunk = max(cipher.max_plaintext(room), 1)
        pieces = [inner[i: i + chunk] for i in range(0, len(inner), chunk)] or [b""]
        total_frags = len(pieces)
        out = []
        for num, piece in enumerate(pieces, start=1):
            body_len = cipher.sealed_length(len(piece))
            length = m.IKE_HEADER_LEN + 8 + body_len
            hdr = msg.header(length, m.PT_SKF)
            aad = fragment_aad(hdr, first if num == 1 else m.PT_NONE, body_len, num, total_frags)
            body, icv = cipher.seal(aad, piece)
            out.append(aad + body + icv)
        self.counters.out_frag_packets += total_frags
        return out

    # ----------------------------------------------------------------------------------------- decoding
    def open(self, msg: m.Message, max_fragments: int, max_bytes: int) -> bool:
        """Decrypt ``msg`` in place (payloads := inner payloads). False: not complete yet (fragment stored).
        Raises CryptoError (drop) or MalformedMessage (inner payloads invalid).
        """
        if msg.exchange == m.IKE_SA_INIT:
            return True
        cipher = self.sk_in
        if cipher is None:
            raise CryptoError("no keys yet")
        if msg.encrypted is not None:
            sk = msg.encrypted
            plain = cipher.open(msg.raw, sk.offset + 4, sk.data)
            msg.payloads = msg.payloads + m.decode_chain(sk.first_inner, plain)
            return True
        frag = msg.fragment
        if frag is None:
            raise CryptoError("unprotected message on an established IKE SA")
        plain = cipher.open(msg.raw, frag.offset + 8, frag.data)
        self.counters.in_frag_packets += 1
        key = msg.is_response
        buf = self.reassembly.get(key)
        if buf is None or buf.msg_id != msg.msg_id or frag.total > buf.total:
            if frag.total > max_fragments:
                raise CryptoError("too many fragments")
            buf = Reassembly(msg.msg_id, frag.total)
            self.reassembly[key] = buf
        elif frag.total < buf.total:
            return False  # a stale fragment of an older, larger fragmentation of the same message
        if frag.number in buf.fragments:
            return False
        if buf.size + len(plain) > max_bytes:
            del self.reassembly[key]
            raise CryptoError("reassembled message too large")
        buf.fragments[frag.number] = plain
        buf.size += len(plain)
        if frag.number == 1:
            buf.first_inner = frag.first_inner
        if len(buf.fragments) < buf.total:
            return False
        del self.reassembly[key]
        whole = b"".join(buf.fragments[i] for i in range(1, buf.total + 1))
        msg.payloads = msg.payloads + m.decode_chain(buf.first_inner, whole)
        return True

    def drop_reassembly(self) -> None:
        self.reassembly.clear()

    # ----------------------------------------------------------------------------------------- children
    def child_by_spi_in(self, spi: int) -> ChildSaState | None:
        for c in self.children:
            if c.spi_in == spi:
                return c
        return None

    def child_by_spi_out(self, spi: int) -> ChildSaState | None:
        for c in self.children:
            if c.spi_out == spi:
                return c
        return None

    def __repr__(self) -> str:
        return f"IkeSa(#{self.index} {self.spi_i.hex()}/{self.spi_r.hex()} {self.state})"
