"""A small stdlib-only client for strongSwan's vici protocol (the socket swanctl talks to).

Only request/response and streamed list commands are implemented, no event subscriptions: Debian 12's
charon 5.9.8 can deadlock while writing events to a vici client (strongswan/strongswan#566, fixed in
5.9.11), so bulk tools must avoid them. ``list-sas`` and ``list-conns`` stream their answer as events that
are only raised by the command itself, which is safe.

Wire format: a 4-byte big-endian length, then a packet type byte, for named types a 1-byte name length and
the name, then the message: a sequence of elements (section start/end, key-value, list start/item/end).
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Mapping
from typing import Any

MAX_MESSAGE = 512 * 1024  # charon's VICI_MESSAGE_SIZE_MAX; larger requests are dropped silently

# packet types
CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7
# message element types
SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6


class ViciError(RuntimeError):
    """A vici transport or protocol failure, or a command that answered ``success=no``."""


def encode(message: Mapping[str, Any]) -> bytes:
    """Encode a message: str/bytes/int values, lists of them, nested mappings as sections."""
    out = bytearray()

    def name(n: str) -> bytes:
        b = n.encode()
        if not 0 < len(b) < 256:
            raise ViciError(f"vici key {n!r} must be 1..255 bytes")
        return bytes([len(b)]) + b

    def blob(v: Any) -> bytes:
        b = v if isinstance(v, bytes) else str(v).encode()
        if len(b) > 0xFFFF:
            raise ViciError("vici value longer than 65535 bytes")
        return struct.pack("!H", len(b)) + b

    def section(d: Mapping[str, Any]) -> None:
        for k, v in d.items():
            if isinstance(v, Mapping):
                out.append(SECTION_START)
                out.extend(name(k))
                section(v)
                out.append(SECTION_END)
            elif isinstance(v, (list, tuple)):
                out.append(LIST_START)
                out.extend(name(k))
                for item in v:
                    out.append(LIST_ITEM)
                    out.extend(blob(item))
                out.append(LIST_END)
            elif v is not None:
                out.append(KEY_VALUE)
                out.extend(name(k))
                out.extend(blob(v))

    section(message)
    return bytes(out)


def decode(data: bytes, *, max_depth: int = 32) -> dict[str, Any]:
    """Decode a message; values become str (undecodable bytes are kept as bytes)."""
    root: dict[str, Any] = {}
    stack = [root]
    current_list: list | None = None
    i = 0
    n = len(data)

    def take(count: int) -> bytes:
        nonlocal i
        if i + count > n:
            raise ViciError("truncated vici message")
        chunk = data[i:i + count]
        i += count
        return chunk

    def text(b: bytes) -> str | bytes:
        try:
            return b.decode()
        except UnicodeDecodeError:
            return b

    while i < n:
        etype = take(1)[0]
        if etype in (SECTION_START, KEY_VALUE, LIST_START):
            key = take(take(1)[0]).decode(errors="replace")
        if etype == SECTION_START:
            if len(stack) > max_depth:
                raise ViciError("vici message nested too deeply")
            child: dict[str, Any] = {}
            stack[-1][key] = child
            stack.append(child)
        elif etype == SECTION_END:
            if len(stack) == 1:
                raise ViciError("unbalanced vici section end")
            stack.pop()
        elif etype == KEY_VALUE:
            (length,) = struct.unpack("!H", take(2))
            stack[-1][key] = text(take(length))
        elif etype == LIST_START:
            current_list = []
            stack[-1][key] = current_list
        elif etype == LIST_ITEM:
            if current_list is None:
                raise ViciError("vici list item outside a list")
            (length,) = struct.unpack("!H", take(2))
            current_list.append(text(take(length)))
        elif etype == LIST_END:
            current_list = None
        else:
            raise ViciError(f"bad vici element type {etype}")
    if len(stack) != 1:
        raise ViciError("unterminated vici section")
    return root


def _packet(ptype: int, name: str | None = None, body: bytes = b"") -> bytes:
    p = bytes([ptype])
    if name is not None:
        nb = name.encode()
        p += bytes([len(nb)]) + nb
    p += body
    if len(p) > MAX_MESSAGE:
        raise ViciError(f"vici message of {len(p)} bytes exceeds charon's {MAX_MESSAGE}-byte limit")
    return struct.pack("!I", len(p)) + p


class ViciClient:
    """One connection to a charon's vici socket. Use as a context manager."""

    def __init__(self, path: str, *, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(path)
        except OSError as exc:
            self._sock.close()
            raise ViciError(f"cannot connect to vici socket {path}: {exc}") from exc
        self._buf = b""

    def __enter__(self) -> ViciClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def _recv_packet(self, deadline: float) -> tuple[int, bytes]:
        while True:
            if len(self._buf) >= 4:
                (length,) = struct.unpack("!I", self._buf[:4])
                if length > MAX_MESSAGE or length == 0:
                    raise ViciError(f"vici packet length {length} out of range")
                if len(self._buf) >= 4 + length:
                    pkt = self._buf[4:4 + length]
                    self._buf = self._buf[4 + length:]
                    return pkt[0], pkt[1:]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ViciError(f"vici: no answer within {self.timeout}s")
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(1 << 16)
            except TimeoutError as exc:
                raise ViciError(f"vici: no answer within {self.timeout}s") from exc
            if not data:
                raise ViciError("vici connection closed by charon")
            self._buf += data

    @staticmethod
    def _named(body: bytes) -> tuple[str, bytes]:
        if not body:
            raise ViciError("empty named vici packet")
        ln = body[0]
        return body[1:1 + ln].decode(errors="replace"), body[1 + ln:]

    def request(self, command: str, message: Mapping[str, Any] | None = None, *, check: bool = True) -> dict:
        """Send one command; return its response. With ``check``, ``success=no`` raises ViciError."""
        self._sock.sendall(_packet(CMD_REQUEST, command, encode(message or {})))
        deadline = time.monotonic() + self.timeout
        while True:
            ptype, body = self._recv_packet(deadline)
            if ptype == CMD_RESPONSE:
                resp = decode(body)
                if check and resp.get("success") == "no":
                    raise ViciError(f"vici {command}: {resp.get('errmsg', 'failed')}")
                return resp
            if ptype == CMD_UNKNOWN:
                raise ViciError(f"vici: unknown command {command!r}")
            # anything else (stray events) is not for a plain request: ignore it

    def streamed(self, command: str, event: str, message: Mapping[str, Any] | None = None) -> list[dict]:
        """A list command whose items arrive as ``event`` packets before the response."""
        self._sock.sendall(_packet(EVENT_REGISTER, event))
        deadline = time.monotonic() + self.timeout
        ptype, _ = self._recv_packet(deadline)
        if ptype != EVENT_CONFIRM:
            raise ViciError(f"vici: registering for {event!r} failed (packet type {ptype})")
        items: list[dict] = []
        try:
            self._sock.sendall(_packet(CMD_REQUEST, command, encode(message or {})))
            while True:
                ptype, body = self._recv_packet(deadline)
                if ptype == EVENT:
                    ev, msg = self._named(body)
                    if ev == event:
                        items.append(decode(msg))
                elif ptype == CMD_RESPONSE:
                    resp = decode(body)
                    if resp.get("success") == "no":
                        raise ViciError(f"vici {command}: {resp.get('errmsg', 'failed')}")
                    return items
                elif ptype == CMD_UNKNOWN:
                    raise ViciError(f"vici: unknown command {command!r}")
        finally:
            self._unregister(event)

    def _unregister(self, event: str) -> None:
        """Best effort: a failure here must not hide the error that got us here."""
        try:
            self._sock.sendall(_packet(EVENT_UNREGISTER, event))
            deadline = time.monotonic() + self.timeout
            while self._recv_packet(deadline)[0] not in (EVENT_CONFIRM, EVENT_UNKNOWN):
                pass  # late events of this stream
        except (OSError, ViciError):
            self.close()

    # --- convenience wrappers
    def version(self) -> dict:
        return self.request("version")

    def stats(self) -> dict:
        return self.request("stats")

    def load_conn(self, conn: Mapping[str, Any]) -> None:
        self.request("load-conn", conn)

    def load_shared(self, secret: Mapping[str, Any]) -> None:
        self.request("load-shared", secret)

    def initiate(self, child: str | None = None, ike: str | None = None, *, timeout_ms: int = 0) -> dict:
        """``timeout_ms`` -1 returns at once, 0 waits for completion (as swanctl does)."""
        msg = {"child": child, "ike": ike, "timeout": str(timeout_ms), "init-limits": "no"}
        return self.request("initiate", msg)

    def list_sas(self, ike: str | None = None, ike_id: int | None = None) -> list[dict]:
        msg = {"ike": ike, "ike-id": None if ike_id is None else str(ike_id), "noblock": "yes"}
        return self.streamed("list-sas", "list-sa", msg)

    def list_conns(self) -> list[dict]:
        return self.streamed("list-conns", "list-conn")
