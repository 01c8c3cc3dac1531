"""Text and JSON are rendered from the RPC's XML reply, in one place, so the formats cannot disagree.

* JSON follows Junos' ``| display json`` shape: every element is a list of objects, leaves carry ``data``,
  attributes go in ``attributes`` with their ``junos:`` prefix.
* Text uses the renderer registered for the reply's top element (``@text_renderer("software-information")``
  in any module added to the registry); elements without one get a generic indented listing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lxml import etree

from netconf_device.rpc.xmlbuild import el

TextRenderer = Callable[[etree._Element], str]


def text_renderer(*tags: str) -> Callable[[TextRenderer], TextRenderer]:
    """Mark ``fn(element) -> str`` as the CLI text form of replies whose top element is one of ``tags``."""

    def mark(fn: TextRenderer) -> TextRenderer:
        fn.__text_renderer_for__ = tuple(getattr(fn, "__text_renderer_for__", ())) + tags  # type: ignore[attr-defined]
        return fn

    return mark


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _attr_name(key: str) -> str:
    if key.startswith("{"):
        ns, _, name = key[1:].partition("}")
        return f"junos:{name}" if "junos" in ns else name
    return key


# ----------------------------------------------------------------------------------------------- JSON
def _json_node(element: etree._Element) -> dict[str, Any]:
    node: dict[str, Any] = {}
    if element.attrib:
        node["attributes"] = {_attr_name(k): v for k, v in element.attrib.items()}
    kids = [c for c in element if isinstance(c.tag, str)]
    if kids:
        for kid in kids:
            node.setdefault(_local(kid.tag), []).append(_json_node(kid))
    else:
        text = element.text
        node["data"] = text if text is not None and text.strip() else [None]
    return node


def to_json(elements: list[etree._Element]) -> str:
    doc: dict[str, Any] = {}
    for element in elements:
        doc.setdefault(_local(element.tag), []).append(_json_node(element))
    return json.dumps(doc, indent=4) + "\n"


# ----------------------------------------------------------------------------------------------- text
def generic_text(element: etree._Element, depth: int = 0) -> str:
    """Fallback CLI form: one line per leaf, nested elements indented."""
    lines: list[str] = []
    pad = "  " * depth
    for kid in element:
        if not isinstance(kid.tag, str):
            continue
        name = _local(kid.tag)
        if len(kid):
            lines.append(f"{pad}{name}:")
            lines.append(generic_text(kid, depth + 1).rstrip("\n"))
        else:
            text = (kid.text or "").strip()
            lines.append(f"{pad}{name}: {text}" if text else f"{pad}{name}")
    return "\n".join(line for line in lines if line) + "\n"


def to_text(elements: list[etree._Element], renderers: dict[str, TextRenderer]) -> str:
    parts = []
    for element in elements:
        renderer = renderers.get(_local(element.tag))
        parts.append(renderer(element) if renderer else generic_text(element))
    return "".join(parts)


def render_reply(reply: Any, fmt: str, renderers: dict[str, TextRenderer] | None = None) -> Any:
    """Turn an XML reply into the requested format (``xml`` unchanged, ``text`` -> <output>, ``json``)."""
    from netconf_device.rpc.registry import Reply

    if fmt in ("xml", "") or not reply.elements:
        return reply
    if fmt in ("text", "ascii"):
        return Reply([el("output", "\n" + to_text(reply.elements, renderers or {}))])
    if fmt == "json":
        return Reply([], to_json(reply.elements))
    return reply
