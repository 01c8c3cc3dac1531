"""The one registry of RPCs (DESIGN principle 5).

Every operation -- NETCONF base operations, Junos configuration operations, operational commands -- is a
function registered under its RPC name. A module marks its handlers with :func:`rpc` and the device adds
the module with :meth:`RpcRegistry.add_module`; an integration adds its own the same way (or with
:meth:`RpcRegistry.add`). Dispatch is on the local name only, because clients send the same operation with
and without the ``nc:`` prefix.

A handler takes ``(ctx, request)`` -- an :class:`~netconf_device.rpc.context.RpcContext` and the request
element -- and returns (or, if ``async``, resolves to) one of:

* ``None``: the reply is ``<ok/>``;
* an element or a list of elements: the reply payload (Junos XML);
* :class:`Reply`: payload elements and/or bare text (JSON replies are text directly under ``<rpc-reply>``).

Unless a handler declares ``own_format=True``, the registry renders the ``format="text"`` and
``format="json"`` attributes from the handler's XML, so the three formats cannot disagree.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from netconf_device.netconf.errors import permission_denied, unknown_rpc
from netconf_device.netconf.xmlsafe import local_name

# Junos permission bits a login class may hold; an RPC requires one of them.
PERMISSIONS = ("session", "view", "clear", "network", "reset", "trace", "configure", "control", "maintenance",
               "shell", "secret")  # secret: may see passwords and keys in the configuration

CLASS_PERMISSIONS: dict[str, frozenset[str]] = {
    "super-user": frozenset(PERMISSIONS),
    "operator": frozenset({"session", "view", "clear", "network", "reset", "trace"}),
    "read-only": frozenset({"session", "view"}),
    "unauthorized": frozenset({"session"}),
}


def class_allows(login_class: str, permission: str) -> bool:
    return permission in CLASS_PERMISSIONS.get(login_class, CLASS_PERMISSIONS["unauthorized"])


@dataclass
class Reply:
    """Reply payload: elements, then optional bare text (for JSON)."""

    elements: list[etree._Element] = field(default_factory=list)
    text: str | None = None


Handler = Callable[[Any, etree._Element], Any]


@dataclass(frozen=True)
class RpcSpec:
    name: str
    handler: Handler
    permission: str = "view"
    own_format: bool = False  # the handler reads format= itself (get-configuration, command ...)
    description: str = ""


def rpc(name: str, *, permission: str = "view", own_format: bool = False) -> Callable[[Handler], Handler]:
    """Mark a function as the handler of RPC ``name`` (collected by :meth:`RpcRegistry.add_module`)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def mark(fn: Handler) -> Handler:
        specs = list(getattr(fn, "__rpc_specs__", ()))
        specs.append((name, permission, own_format))
        fn.__rpc_specs__ = tuple(specs)  # type: ignore[attr-defined]
        return fn

    return mark


class RpcRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, RpcSpec] = {}
        self.text_renderers: dict[str, Callable[[etree._Element], str]] = {}

    def add(self, name: str, handler: Handler, *, permission: str = "view", own_format: bool = False) -> None:
        if name in self._specs:
            raise ValueError(f"RPC {name!r} is already registered")
        doc = (inspect.getdoc(handler) or "").split("\n", 1)[0]
        self._specs[name] = RpcSpec(name, handler, permission, own_format, doc)

    def replace(self, name: str, handler: Handler, *, permission: str = "view", own_format: bool = False) -> None:
        """Swap a handler (e.g. the integration feeding live state into a builder registered here)."""
        self._specs.pop(name, None)
        self.add(name, handler, permission=permission, own_format=own_format)

    def add_text_renderer(self, tag: str, renderer: Callable[[etree._Element], str]) -> None:
        self.text_renderers[tag] = renderer

    def add_module(self, module: types.ModuleType) -> None:
        for value in vars(module).values():
            for tag in getattr(value, "__text_renderer_for__", ()):
                self.add_text_renderer(tag, value)
            for name, permission, own_format in getattr(value, "__rpc_specs__", ()):
                self.add(name, value, permission=permission, own_format=own_format)

    def get(self, name: str) -> RpcSpec | None:
        return self._specs.get(name)

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __contains__(self, name: str) -> bool:
        return name in self._specs

    async def call(self, ctx: Any, request: etree._Element) -> Reply | None:
        """Run the handler of ``request`` for ``ctx`` (permission checked); rendered per format=."""
        from netconf_device.rpc.render import render_reply  # late: render imports the command table

        name = local_name(request)
        spec = self._specs.get(name)
        if spec is None:
            raise unknown_rpc(name)
        if not class_allows(ctx.login_class, spec.permission):
            raise permission_denied(name)
        result = spec.handler(ctx, request)
        if inspect.isawaitable(result):
            result = await result
        reply = as_reply(result)
        if reply is None or spec.own_format:
            return reply
        fmt = (request.get("format") or "xml").lower()
        return render_reply(reply, fmt, self.text_renderers)


def as_reply(result: Any) -> Reply | None:
    if result is None or isinstance(result, Reply):
        return result
    if isinstance(result, etree._Element):
        return Reply([result])
    if isinstance(result, str):
        return Reply([], result)
    return Reply(list(result))
