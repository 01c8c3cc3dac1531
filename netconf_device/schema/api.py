"""The ``Schema`` object: one per process, built from ``yang/`` on first use."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field

from lxml import etree

from netconf_device.schema.errors import ConfigError

FORMATS = ("xml", "text", "set", "json")
LOAD_ACTIONS = ("merge", "replace", "override", "update", "set")


@dataclass(frozen=True)
class YangModule:
    """One YANG module, as NETCONF ``get-schema`` and ietf-netconf-monitoring report it."""

    name: str
    revision: str
    namespace: str
    prefix: str
    text: str


@dataclass
class LoadResult:
    tree: etree._Element
    warnings: list[ConfigError] = field(default_factory=list)


class Schema:
    """Junos configuration schema (see the package docstring for the API)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        raise NotImplementedError("schema: being built on branch 'schema'")

    @property
    def modules(self) -> list[YangModule]:
        raise NotImplementedError

    def empty(self) -> etree._Element:
        raise NotImplementedError

    def parse(self, data: str | bytes | etree._Element, fmt: str) -> etree._Element:
        raise NotImplementedError

    def load(
        self,
        base: etree._Element,
        data: str | bytes | etree._Element,
        fmt: str = "xml",
        action: str = "merge",
        path: str | list[str] | None = None,
    ) -> LoadResult:
        raise NotImplementedError

    def validate(self, tree: etree._Element) -> list[ConfigError]:
        raise NotImplementedError

    def render(
        self, tree: etree._Element, fmt: str, path: str | list[str] | None = None, relative: bool = False
    ) -> str:
        raise NotImplementedError

    def compare(self, old: etree._Element, new: etree._Element) -> str:
        raise NotImplementedError

    def select(self, tree: etree._Element, filter_element: etree._Element) -> etree._Element:
        raise NotImplementedError


@functools.cache
def get_schema() -> Schema:
    """The process-wide schema (YANG modules are parsed once)."""
    return Schema()
