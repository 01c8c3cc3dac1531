"""Tiny helpers to build Junos reply XML: unqualified elements, or, under a reply element that has its own
default namespace (:func:`area_top`, ``<interface-information xmlns=".../junos-interface">``), elements in that
namespace; ``junos:`` attributes on request."""

from __future__ import annotations

from typing import Any

from lxml import etree


def el(tag: str, text: Any = None, attrib: dict[str, str] | None = None) -> etree._Element:
    e = etree.Element(tag, attrib or {})
    if text is not None:
        e.text = str(text)
    return e


def area_top(tag: str, area: str, junos_ns: str, attrib: dict[str, str] | None = None) -> etree._Element:
    """A reply element in Junos' namespace of ``area`` (``interface`` -> ``.../junos-interface``), declaring it
    as the default namespace and ``junos`` for the attributes, as Junos writes it."""
    from netconf_device.show.junos_version import junos_area_ns

    ns = junos_area_ns(area)
    return etree.Element(f"{{{ns}}}{tag}", attrib or {}, nsmap={None: ns, "junos": junos_ns})


def sub(parent: etree._Element, tag: str, text: Any = None, attrib: dict[str, str] | None = None) -> etree._Element:
    """``<tag>text</tag>`` appended to ``parent``, in the parent's namespace."""
    parent_tag = parent.tag
    if parent_tag[0] == "{":
        tag = parent_tag[: parent_tag.index("}") + 1] + tag
    e = etree.SubElement(parent, tag, attrib or {})
    if text is not None:
        e.text = str(text)
    return e


def junos_attr(ns: str, name: str) -> str:
    """Clark name of a ``junos:`` attribute (``junos:style``, ``junos:seconds``, ``junos:format``)."""
    return f"{{{ns}}}{name}"


def uptime_text(seconds: int) -> str:
    """Junos' long form: ``3 days, 2 hours, 5 minutes, 7 seconds``."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    parts.append(f"{secs} second{'s' if secs != 1 else ''}")
    return ", ".join(parts)
