"""RFC 6241 XPath filters over the configuration, evaluated where a runaway expression cannot hurt.

libxml2 evaluates XPath without any budget, and an expression like ``//*[count(//*[count(//*)>0])>0]`` grows
with the cube of the configuration; on the device's one event loop (which also runs the IKE daemon and the
PFE) a read-only user could stall everything. So the expression runs in a forked child that writes the
selected configuration back through a pipe, and is killed when it takes longer than ``XPATH_SECONDS``.

The selection: every element the expression selects, whole, inside its ancestors; a list entry's key comes
along with it. Elements nested in a selected one are not repeated. The result is in document order.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from lxml import etree

XPATH_SECONDS = 3.0

KeyOf = Callable[[list[str]], str | None]  # schema path of an element (tags from the root) -> its list key


class XPathFilterError(Exception):
    """The expression is invalid, selects no nodes, or took too long (``message`` says which)."""


def select(tree: etree._Element, expression: str, key_of: KeyOf) -> etree._Element:
    """The part of ``tree`` (a ``<configuration>``) that ``expression`` selects, as a new ``<configuration>``."""
    try:
        found = tree.getroottree().xpath(expression, smart_strings=False)
    except etree.XPathError as exc:
        raise XPathFilterError(f"invalid xpath: {exc}") from None
    if not isinstance(found, list):
        raise XPathFilterError("xpath filter must select nodes")
    selected = [n for n in found if isinstance(n, etree._Element)]
    if any(n is tree for n in selected):
        return _copy(tree)
    chosen = set(selected)
    on_path: set[etree._Element] = set()
    for node in selected:
        parent = node.getparent()
        while parent is not None and parent not in on_path:
            on_path.add(parent)
            parent = parent.getparent()
    out = etree.Element("configuration")
    _walk(tree, out, [], chosen, on_path, key_of, None)
    return out


def _copy(element: etree._Element) -> etree._Element:
    clone = etree.fromstring(etree.tostring(element))
    clone.tail = None
    return clone


def _walk(source, target, path, chosen, on_path, key_of, skip) -> None:
    for child in source:
        if not isinstance(child.tag, str) or child is skip:
            continue
        if child in chosen:
            target.append(_copy(child))
        elif child in on_path:
            shell = etree.SubElement(target, child.tag)
            key = key_of([*path, child.tag])
            key_element = child.find(key) if key else None
            if key_element is not None:  # a list entry keeps its key, and the key is not repeated
                shell.append(_copy(key_element))
            _walk(child, shell, [*path, child.tag], chosen, on_path, key_of, key_element)


async def select_isolated(tree: etree._Element, expression: str, key_of: KeyOf,
                          seconds: float = XPATH_SECONDS) -> etree._Element:
    """:func:`select` in a forked child, killed after ``seconds`` (``XPathFilterError`` then)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: evaluate, write "ok\n" + XML or "error\n" + message, leave at once
        status = 0
        try:
            os.close(read_fd)
            try:  # the parent's event loop must not hear the child's signals
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
            except ValueError:  # forked from a thread other than the main one: there is no handler to reset
                pass
            try:
                payload = b"ok\n" + etree.tostring(select(tree, expression, key_of))
            except XPathFilterError as exc:
                payload = b"error\n" + str(exc).encode()
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    try:
        data = await asyncio.wait_for(_read_all(read_fd), seconds)
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        raise XPathFilterError(f"xpath filter too expensive: stopped after {seconds:g} s") from None
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    head, _, body = data.partition(b"\n")
    if head == b"ok":
        return etree.fromstring(body)
    if head == b"error":
        raise XPathFilterError(body.decode(errors="replace"))
    raise XPathFilterError("xpath filter failed")


async def _read_all(fd: int) -> bytes:
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        if chunk:
            chunks.append(chunk)
        elif not done.done():
            done.set_result(None)

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
    return b"".join(chunks)
