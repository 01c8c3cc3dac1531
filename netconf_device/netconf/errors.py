"""Junos-shaped ``<rpc-error>``: the one place where typed errors of every layer become NETCONF errors.

Handlers raise :class:`RpcError` (or :class:`RpcErrors` for several at once); errors of the schema and
configuration layers are translated by :func:`errors_from_exception`. Element order follows what Junos
sends: error-type, error-tag, error-severity, source-daemon, error-path, error-message, error-info.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from lxml import etree

log = logging.getLogger("netconf_device.netconf")

# Unqualified on purpose: replies are written inside <rpc-reply xmlns="NC_NS">, so every unqualified
# element of the reply lands in the base namespace, where clients look for rpc-error and ok.
_Q = ""


class RpcError(Exception):
    """One ``<rpc-error>``."""

    def __init__(
        self,
        message: str,
        *,
        tag: str = "operation-failed",
        error_type: str = "protocol",
        severity: str = "error",
        path: str | None = None,
        bad_element: str | None = None,
        info: dict[str, str] | None = None,
        daemon: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.tag = tag
        self.error_type = error_type
        self.severity = severity
        self.path = path
        self.bad_element = bad_element
        self.info = dict(info or {})
        self.daemon = daemon

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def to_element(self) -> etree._Element:
        err = etree.Element("rpc-error")
        etree.SubElement(err, _Q + "error-type").text = self.error_type
        etree.SubElement(err, _Q + "error-tag").text = self.tag
        etree.SubElement(err, _Q + "error-severity").text = self.severity
        if self.daemon:
            etree.SubElement(err, _Q + "source-daemon").text = self.daemon
        if self.path:
            etree.SubElement(err, _Q + "error-path").text = self.path
        etree.SubElement(err, _Q + "error-message").text = self.message
        if self.bad_element is not None or self.info:
            info = etree.SubElement(err, _Q + "error-info")
            if self.bad_element is not None:
                etree.SubElement(info, _Q + "bad-element").text = self.bad_element
            for key, value in self.info.items():
                etree.SubElement(info, _Q + key).text = value
        return err

    def __repr__(self) -> str:
        return f"RpcError({self.severity}: {self.message!r}, tag={self.tag}, bad_element={self.bad_element})"


class RpcErrors(Exception):
    """Several ``<rpc-error>``s in one reply (all errors of one validation, a text load ...)."""

    def __init__(self, errors: Iterable[RpcError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


# ----------------------------------------------------------------------------------- common errors
def unknown_rpc(name: str) -> RpcError:
    # Junos answers an RPC it does not know with a plain syntax error naming the element.
    return RpcError("syntax error", tag="operation-failed", bad_element=name)


def permission_denied(bad_element: str) -> RpcError:
    # Exactly "permission denied": PyEZ raises PermissionError on this text.
    return RpcError("permission denied", tag="operation-failed", bad_element=bad_element)


def missing_element(name: str, parent: str | None = None) -> RpcError:
    return RpcError(
        f"missing element: {name}" if not parent else f"missing element {name} in {parent}",
        tag="missing-element",
        error_type="protocol",
        bad_element=name,
    )


def bad_element(name: str, message: str | None = None) -> RpcError:
    return RpcError(message or f"syntax error, unexpected element: {name}", tag="bad-element", bad_element=name)


def invalid_value(message: str, *, bad_element: str | None = None, path: str | None = None) -> RpcError:
    return RpcError(message, tag="invalid-value", error_type="application", bad_element=bad_element, path=path)


def malformed_message(message: str) -> RpcError:
    return RpcError(message, tag="malformed-message", error_type="rpc")


def operation_not_supported(message: str, *, bad_element: str | None = None) -> RpcError:
    return RpcError(message, tag="operation-not-supported", error_type="protocol", bad_element=bad_element)


def lock_denied(holder_session_id: int | None, message: str) -> RpcError:
    info = {"session-id": str(holder_session_id if holder_session_id is not None else 0)}
    return RpcError(message, tag="lock-denied", error_type="protocol", info=info)


# ----------------------------------------------------------------------------------- translation
def from_problem(item: Any, *, info: dict[str, str] | None = None) -> RpcError:
    """One error of the schema/config layers (``ConfigError``: message, edit_path, statement, severity,
    error_type, error_tag, line, column) as an ``<rpc-error>``. The place in the loaded text goes into
    ``error-info`` as ``line-number`` and ``column``, the names Junos' ``xnm:error`` gives them (their place
    in a NETCONF ``rpc-error`` is not in the captures; the message stays Junos' exact text)."""
    edit_path = getattr(item, "edit_path", None)
    line = getattr(item, "line", None)
    if line:
        info = {**(info or {}), "line-number": str(line)}
        column = getattr(item, "column", None)
        if column:
            info["column"] = str(column)
    return RpcError(
        str(getattr(item, "message", None) or item),
        tag=getattr(item, "error_tag", None) or "operation-failed",
        error_type=getattr(item, "error_type", None) or "protocol",
        severity=getattr(item, "severity", None) or "error",
        path=item.error_path if edit_path else None,
        bad_element=getattr(item, "statement", None),
        info=info,
    )


def errors_from_exception(exc: BaseException) -> list[RpcError]:
    """Every ``<rpc-error>`` an exception stands for.

    Our own errors pass through; errors of the configuration and schema layers carry their Junos-worded
    problems (``.problems`` of the datastore errors, ``.errors`` of ``LoadError``), warnings included. A
    lock conflict names the holder's session-id in ``error-info`` (RFC 6241 lock-denied). Anything else
    is an internal failure: logged with its traceback and answered without internals.
    """
    if isinstance(exc, RpcError):
        return [exc]
    if isinstance(exc, RpcErrors):
        return list(exc.errors)
    items = getattr(exc, "problems", None)
    if items is None:
        items = getattr(exc, "errors", None)
    if items is not None and isinstance(items, (list, tuple)) and items:
        holder = getattr(exc, "holder", None)
        info = {"session-id": str(holder.session_id)} if holder is not None else None
        return [i if isinstance(i, RpcError) else from_problem(i, info=info if getattr(i, "error_tag", "") in
                ("lock-denied", "in-use") else None) for i in items]
    log.exception("internal error while processing an RPC", exc_info=exc)
    return [RpcError("internal error", tag="operation-failed", error_type="application")]
