"""One NETCONF session over any byte transport (the SSH channel in production).

Hello exchange (with session-id and Junos' capabilities), framing choice (chunked when both sides
advertise base:1.1), pipelined requests answered strictly in order by one worker task, replies in the base
namespace with ``xmlns:junos`` and the ``<rpc>`` attributes (message-id) echoed, dispatch on local name,
idle timeout, and bounded input: at most ``max_queued_bytes`` of unprocessed requests before reading is
paused, and a framing error or oversized message ends only this session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from lxml import etree

from netconf_device.netconf.errors import RpcError, errors_from_exception, malformed_message
from netconf_device.netconf.framing import Framer, FramingError, MessageTooLarge
from netconf_device.netconf.xmlsafe import (
    NC_NS,
    XmlSecurityError,
    child,
    local_name,
    parse_untrusted,
    unqualify_in_place,
)
from netconf_device.rpc.context import RpcContext

if TYPE_CHECKING:
    from netconf_device.device import Device

log = logging.getLogger("netconf_device.netconf")

BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...


_XML_DECLARATION_END = b"?>"


def _several_documents(message: bytes) -> list[etree._Element] | None:
    """The top-level elements of a frame that holds more than one document (``<rpc/><rpc/>``), or None."""
    body = message.strip()
    head = b""
    if body.startswith(b"<?xml"):
        end = body.find(_XML_DECLARATION_END)
        if end < 0:
            return None
        head, body = body[: end + len(_XML_DECLARATION_END)], body[end + len(_XML_DECLARATION_END):]
    try:
        wrapper = parse_untrusted(head + b"<frame>" + body + b"</frame>")
    except (etree.XMLSyntaxError, XmlSecurityError):
        return None
    documents = [c for c in wrapper if isinstance(c.tag, str)]
    if wrapper.text and wrapper.text.strip() or any(c.tail and c.tail.strip() for c in documents):
        return None  # text between the documents: not a sequence of documents
    return documents or None


class NetconfSession:
    def __init__(
        self,
        device: Device,
        session_id: int,
        user: str,
        login_class: str,
        transport: Transport,
        *,
        peer: str = "",
    ) -> None:
        opts = device.options
        self.device = device
        self.session_id = session_id
        self.user = user
        self.login_class = login_class
        self.peer = peer
        self.started = time.time()
        self.transport = transport
        self.framer = Framer(opts.max_message_size)
        self.max_queued_bytes = opts.max_queued_bytes
        self.idle_timeout = opts.idle_timeout
        self.closed = False
        self.hello_received = False
        self.client_capabilities: list[str] = []
        self.rpc_count = 0
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._reading_paused = False
        self._work = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._last_activity = time.monotonic()
        self._idle_handle: asyncio.TimerHandle | None = None
        self._worker: asyncio.Task | None = None
        self._close_after_flush = False
        self._processing = False

    # ---------------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._send_raw(self.device.hello_message(self))
        self._worker = asyncio.get_running_loop().create_task(self._run(), name=f"netconf-{self.session_id}")
        self._arm_idle_timer()

    def close(self, reason: str = "") -> None:
        """End the session: stop processing, release what it holds, close the transport."""
        if self.closed:
            return
        self.closed = True
        log.info("session %d (%s) closed%s", self.session_id, self.user, f": {reason}" if reason else "")
        if self._idle_handle:
            self._idle_handle.cancel()
        if self._worker and self._worker is not asyncio.current_task():
            self._worker.cancel()
        self._queue.clear()
        self.device.session_ended(self)
        try:
            self.transport.close()
        except Exception:  # the transport may already be gone
            log.debug("closing transport of session %d failed", self.session_id, exc_info=True)

    def connection_lost(self) -> None:
        self.close("connection lost")

    # ---------------------------------------------------------------------------------- input
    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self._last_activity = time.monotonic()
        self.framer.feed(data)
        try:
            while not self.closed:
                message = self.framer.next_message()
                if message is None:
                    break
                if not self.hello_received and not self._queue:
                    if self._take_hello(message):
                        continue
                self._queue.append(message)
                self._queued_bytes += len(message)
                self._work.set()
        except MessageTooLarge as exc:
            self._fatal(f"message too large ({exc})")
            return
        except FramingError as exc:
            self._fatal(f"framing error ({exc})")
            return
        # Only whole queued messages count: a partial one is bounded by the framer, and pausing while it is
        # incomplete would stall the session before the framer can refuse it.
        if self._queued_bytes > self.max_queued_bytes and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def _take_hello(self, message: bytes) -> bool:
        """Handle the client's hello; False if the first message is an rpc (Junos tolerates no hello)."""
        try:
            root = parse_untrusted(message)
        except (etree.XMLSyntaxError, XmlSecurityError):
            self.hello_received = True  # a broken hello: answer it like any malformed message
            return False
        if local_name(root) != "hello":
            self.hello_received = True
            return False
        self.hello_received = True
        caps = child(root, "capabilities")
        self.client_capabilities = [
            (c.text or "").strip() for c in (caps if caps is not None else []) if local_name(c) == "capability"
        ]
        if BASE_11 in self.client_capabilities and self.device.options.base11:
            self.framer.set_chunked()
        elif BASE_10 not in self.client_capabilities:
            self._fatal("hello without a common base capability")
        return True

    def _fatal(self, reason: str) -> None:
        """Broken framing: tell the client if we still can, then end the session."""
        log.warning("session %d: %s", self.session_id, reason)
        try:
            self._send_reply(None, [malformed_message(reason).to_element()])
        except Exception:
            log.debug("could not send the final error of session %d", self.session_id, exc_info=True)
        self.close(reason)

    # ---------------------------------------------------------------------------------- flow control
    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # ---------------------------------------------------------------------------------- processing
    async def _run(self) -> None:
        try:
            while not self.closed:
                if not self._queue:
                    self._work.clear()
                    await self._work.wait()
                    continue
                message = self._queue.popleft()
                self._queued_bytes -= len(message)
                if self._reading_paused and self._queued_bytes <= self.max_queued_bytes // 2:
                    self._reading_paused = False
                    self.transport.resume_reading()
                await self._writable.wait()
                self._processing = True
                try:
                    await self._handle_message(message)
                finally:
                    self._processing = False
                    self._last_activity = time.monotonic()
                if self._close_after_flush:
                    self.close("close-session")
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("session %d failed", self.session_id)
            self.close("internal error")

    async def _handle_message(self, message: bytes) -> None:
        try:
            documents = [parse_untrusted(message)]
        except (etree.XMLSyntaxError, XmlSecurityError) as exc:
            documents = _several_documents(message) if "Extra content" in str(exc) else None
            if documents is None:
                log.info("session %d: malformed message: %s", self.session_id, exc)
                self._send_reply(None, [malformed_message(f"xml parse error: {exc}").to_element()])
                return
        for root in documents:  # several <rpc>s in one frame: Junos reads a stream, so answer each in turn
            if self.closed or self._close_after_flush:
                return
            await self._handle_document(root)

    async def _handle_document(self, root: etree._Element) -> None:
        if local_name(root) != "rpc":
            if local_name(root) == "hello":
                return  # a second hello is ignored
            self._send_reply(None, [malformed_message(f"expected <rpc>, got <{local_name(root)}>").to_element()])
            return
        attrs = dict(root.attrib)
        ops = [c for c in root if isinstance(c.tag, str)]
        if len(ops) != 1:
            err = RpcError("rpc must contain exactly one operation", tag="bad-element", bad_element="rpc")
            self._send_reply(attrs, [err.to_element()])
            return
        self.rpc_count += 1
        operation = unqualify_in_place(ops[0])
        ctx = RpcContext(self.device, self, attrs.get("message-id"), operation)
        try:
            reply = await self.device.registry.call(ctx, operation)
        except Exception as exc:  # every failure becomes rpc-errors; the session goes on
            self._send_reply(attrs, [e.to_element() for e in errors_from_exception(exc)])
            return
        if reply is None:
            self._send_reply(attrs, [etree.Element("ok")])
        else:
            self._send_reply(attrs, reply.elements, reply.text)

    def close_after_reply(self) -> None:
        """close-session: the worker closes the session after the current reply is written."""
        self._close_after_flush = True

    # ---------------------------------------------------------------------------------- output
    def _send_reply(
        self, attrs: dict[str, str] | None, elements: Iterable[etree._Element], text: str | None = None
    ) -> None:
        """Write ``<rpc-reply>`` around unqualified payload, which thereby sits in the base namespace."""
        head = [b'<rpc-reply xmlns="', NC_NS.encode(), b'" xmlns:junos="', self.device.junos_ns.encode(), b'"']
        for key, value in (attrs or {}).items():
            if not key.startswith("{"):
                head.append(b" %s=%s" % (key.encode(), quoteattr(value).encode()))
        head.append(b">")
        body = [etree.tostring(el) for el in elements]
        if text is not None:
            body.append(xml_escape(text).encode())
        self._send_raw(b"".join(head) + b"".join(body) + b"</rpc-reply>")

    def _send_raw(self, data: bytes) -> None:
        if self.closed:
            return
        self.transport.write(self.framer.encode(data))

    # ---------------------------------------------------------------------------------- idle timer
    def _arm_idle_timer(self) -> None:
        if not self.idle_timeout:
            return
        delay = self._last_activity + self.idle_timeout - time.monotonic()
        self._idle_handle = asyncio.get_running_loop().call_later(max(delay, 0.05), self._idle_check)

    def _idle_check(self) -> None:
        if self.closed:
            return
        busy = bool(self._queue) or self._processing
        if time.monotonic() - self._last_activity >= self.idle_timeout and not busy:
            self.close("idle timeout")
        else:
            self._arm_idle_timer()
