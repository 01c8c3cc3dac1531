"""``<command>``: CLI text run as the RPC the command table maps it to, with the common pipes.

Formats: the ``format`` attribute (xml when absent, text in ``<output>``, json as bare text), overridden by
``| display xml`` / ``| display json``. ``| display xml rpc`` answers ``<rpc><the-request/></rpc>``.
Text filters (``| match RE``, ``| except RE``, ``| count``, ``| last N``) work on the text form.
``show configuration [path]`` (``| display set``, ``| compare [rollback N]``) is answered from the
configuration database in ``configuration-information/configuration-output``.
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

from lxml import etree

from netconf_device.netconf.errors import RpcError, permission_denied
from netconf_device.rpc.commands import lookup, parse_command, split_pipes
from netconf_device.rpc.context import RpcContext
from netconf_device.rpc.registry import Reply, class_allows, rpc
from netconf_device.rpc.render import to_json, to_text
from netconf_device.rpc.xmlbuild import el, sub

_TEXT_FILTERS = ("match", "except", "count", "last", "trim", "no-more", "find", "hold", "save", "resolve")


@rpc("command", permission="session", own_format=True)
async def command(ctx: RpcContext, req: etree._Element) -> Reply | etree._Element:
    """Run a CLI command"""
    text = (req.text or "").strip()
    cmd, pipes = split_pipes(text)
    fmt = (req.get("format") or "xml").lower()
    display = None
    filters: list[str] = []
    for pipe in pipes:
        words = pipe.split()
        if words[0] == "display" and len(words) > 1:
            display = " ".join(words[1:])
        elif words[0] == "compare":
            display = pipe
        elif words[0] in _TEXT_FILTERS:
            filters.append(pipe)
        else:
            raise RpcError("syntax error, expecting <command>", bad_element=words[0])

    if display == "xml rpc":
        wrapper = el("rpc")
        wrapper.append(parse_command(cmd))
        return Reply([wrapper])

    row, rest = lookup(cmd)
    if row.rpc == "get-configuration":
        if not class_allows(ctx.login_class, "view"):
            raise permission_denied("configuration")
        return await _show_configuration(ctx, rest, fmt, display, filters)

    if display == "xml":
        fmt = "xml"
    elif display == "json":
        fmt = "json"
    elif display is not None:
        raise RpcError(f"syntax error, expecting <command>: | {display}", bad_element=display.split()[0])

    request = parse_command(cmd)
    registry = ctx.device.registry
    spec = registry.get(request.tag)
    if spec is not None and spec.own_format and (fmt != "xml" or filters):
        # Stored configurations (rollback N, rescue) come as configuration-output text, like show configuration.
        request.set("format", "text" if filters else fmt)
        reply = await registry.call(ctx, request)
        if reply is None or not filters:
            return reply or Reply([])
        text = "".join(e.findtext(".//configuration-output") or "" for e in reply.elements)
        return Reply([el("output", "\n" + _filter(text, filters))])
    reply = await registry.call(ctx, request)  # XML; permissions are those of the mapped RPC
    if reply is None:
        return Reply([])
    if filters:
        return Reply([el("output", "\n" + _filter(to_text(reply.elements, registry.text_renderers), filters))])
    if fmt in ("text", "ascii"):
        return Reply([el("output", "\n" + to_text(reply.elements, registry.text_renderers))])
    if fmt == "json":
        return Reply([], to_json(reply.elements)) if reply.elements else reply
    return reply


async def _show_configuration(ctx: RpcContext, path: list[str], fmt: str, display: str | None,
                              filters: list[str]) -> Reply:
    from netconf_device.rpc import config_ops

    if display and display.startswith("compare"):
        words = display.split()
        rollback = 0
        if len(words) > 1:
            if words[1] != "rollback" or len(words) != 3 or not words[2].isdigit():
                raise RpcError("syntax error, expecting <rollback>", bad_element=" ".join(words[1:]))
            rollback = int(words[2])
        text = config_ops.compare_text(ctx, rollback)
    elif display in ("set", "set relative"):
        text = config_ops.render_config(ctx, "set", path=path, relative=display == "set relative")
    elif display == "json" or (fmt == "json" and display is None):
        return Reply([], config_ops.render_config(ctx, "json", path=path))
    elif display == "xml" or (fmt == "xml" and display is None and not filters):
        return Reply([config_ops.config_xml(ctx, path=path)])
    elif display in (None, "text"):
        text = config_ops.render_config(ctx, "text", path=path)
    else:
        raise RpcError(f"syntax error, expecting <command>: | {display}", bad_element=display.split()[0])
    if filters:
        text = _filter(text, filters)
    info = el("configuration-information")
    sub(info, "configuration-output", text if text.startswith("\n") else "\n" + text)
    return Reply([info])


# A pattern like "(.*)*x" backtracks exponentially; on the device's one event loop (IKE and the PFE too) a
# read-only user could stall everything. The filter gets this much time, then the command is refused.
FILTER_SECONDS = 1.0


class _FilterTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the body after ``seconds`` (SIGALRM; Python's regex engine checks for signals as it
    runs). Only in the main thread, where the device's event loop runs; elsewhere there is no limit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = True

    def on_alarm(signum: int, frame: Any) -> None:
        if armed:
            raise _FilterTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _pattern(word: str, arg: str) -> re.Pattern:
    try:
        return re.compile(arg, re.IGNORECASE)
    except re.error as exc:
        raise RpcError(f"invalid regular expression in | {word}: {exc}", tag="invalid-value",
                       bad_element=arg) from None


def _filter(text: str, filters: list[str]) -> str:
    try:
        with _time_limit(FILTER_SECONDS):
            return _apply_filters(text, filters)
    except _FilterTimeout:
        raise RpcError("regular expression too complex: the filter took too long", tag="operation-failed",
                       bad_element=" | ".join(filters)) from None


def _apply_filters(text: str, filters: list[str]) -> str:
    lines = text.splitlines()
    for pipe in filters:
        word, _, arg = pipe.partition(" ")
        arg = arg.strip().strip('"')
        if word == "match":
            rx = _pattern(word, arg)
            lines = [line for line in lines if rx.search(line)]
        elif word == "except":
            rx = _pattern(word, arg)
            lines = [line for line in lines if not rx.search(line)]
        elif word == "find":
            rx = _pattern(word, arg)
            for i, line in enumerate(lines):
                if rx.search(line):
                    lines = lines[i:]
                    break
            else:
                lines = []
        elif word == "last":
            n = int(arg) if arg.isdigit() else 20
            lines = lines[-n:]
        elif word == "count":
            lines = [f"Count: {len([line for line in lines if line.strip()])} lines"]
    return "\n".join(lines) + "\n"
