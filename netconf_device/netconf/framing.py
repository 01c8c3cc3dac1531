"""RFC 6242 message framing, sans-IO: end-of-message (``]]>]]>``, base:1.0) and chunked (base:1.1).

The session feeds received bytes with :meth:`Framer.feed` and pulls whole messages with
:meth:`Framer.next_message`; it switches the mode after the hello exchange (both sides must advertise
base:1.1 for chunked framing), so bytes already buffered behind the client's hello are read in the new
mode. Every buffer is bounded by ``max_message_size``: a peer that sends more without a delimiter gets
:class:`MessageTooLarge`, never unbounded memory.
"""

from __future__ import annotations

EOM = b"]]>]]>"
EOM_LEN = len(EOM)
CHUNK_END = b"\n##\n"
MAX_CHUNK_HEADER = 14  # "\n#" + 10 digits + "\n" (RFC 6242: chunk-size <= 4294967295)
MAX_CHUNK_SIZE = 4294967295
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024


class FramingError(Exception):
    """The peer broke the framing rules; the session cannot resynchronise and must close."""


class MessageTooLarge(FramingError):
    """A message grew beyond the configured bound."""


class Framer:
    """Splits a byte stream into NETCONF messages and frames outgoing ones."""

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self.chunked = False
        self._buf = bytearray()
        self._scan_from = 0  # EOM search resumes here, so a slow sender costs O(n), not O(n^2)
        self._chunks: list[bytes] = []  # chunks of the message being assembled (chunked mode)
        self._chunks_len = 0

    # ------------------------------------------------------------------------------------ receive
    def feed(self, data: bytes) -> None:
        self._buf += data

    def set_chunked(self) -> None:
        self.chunked = True
        self._scan_from = 0

    @property
    def buffered(self) -> int:
        return len(self._buf) + self._chunks_len

    def next_message(self) -> bytes | None:
        """The next whole message, or None when more bytes are needed."""
        return self._next_chunked() if self.chunked else self._next_eom()

    def _next_eom(self) -> bytes | None:
        pos = self._buf.find(EOM, self._scan_from)
        if pos < 0:
            if len(self._buf) > self.max_message_size + EOM_LEN:
                raise MessageTooLarge(f"message exceeds {self.max_message_size} bytes")
            self._scan_from = max(0, len(self._buf) - (EOM_LEN - 1))
            return None
        if pos > self.max_message_size:
            raise MessageTooLarge(f"message exceeds {self.max_message_size} bytes")
        message = bytes(self._buf[:pos])
        del self._buf[: pos + EOM_LEN]
        self._scan_from = 0
        return message

    def _next_chunked(self) -> bytes | None:
        buf = self._buf
        while True:
            if len(buf) < 4:
                return None
            if buf[0:2] != b"\n#":
                raise FramingError("expected a chunk header")
            if buf[2:4] == b"#\n":  # end of chunks
                del buf[:4]
                if not self._chunks:
                    raise FramingError("end-of-chunks marker without a chunk")
                message = b"".join(self._chunks)
                self._chunks.clear()
                self._chunks_len = 0
                return message
            newline = buf.find(b"\n", 2, MAX_CHUNK_HEADER)
            if newline < 0:
                if len(buf) >= MAX_CHUNK_HEADER or not buf[2:].isdigit():
                    raise FramingError("invalid chunk header")
                return None
            digits = bytes(buf[2:newline])
            if not digits.isdigit() or digits[0:1] == b"0":
                raise FramingError("invalid chunk size")
            size = int(digits)
            if size > MAX_CHUNK_SIZE:
                raise FramingError("invalid chunk size")
            if self._chunks_len + size > self.max_message_size:
                raise MessageTooLarge(f"message exceeds {self.max_message_size} bytes")
            if len(buf) < newline + 1 + size:
                return None
            start = newline + 1
            self._chunks.append(bytes(buf[start : start + size]))
            self._chunks_len += size
            del buf[: start + size]

    # ------------------------------------------------------------------------------------ send
    def encode(self, message: bytes) -> bytes:
        if not self.chunked:
            return message + EOM
        if not message:
            raise ValueError("cannot frame an empty message in chunked mode")
        return b"\n#%d\n%s\n##\n" % (len(message), message)
