"""One entry point for CLI text: the reply element decides which renderer prints it."""

from __future__ import annotations

from collections.abc import Callable

from netconf_device.show import chassis_text, security_text
from netconf_device.show.xmlutil import Element, local_name

_RENDERERS: dict[str, Callable[[Element], str]] = {
    "ike-security-associations-information": security_text.render_ike_security_associations,
    "ike-active-peers-information": security_text.render_ike_active_peers,
    "ipsec-security-associations-information": security_text.render_ipsec_security_associations,
    "usp-ipsec-total-statistics-information": security_text.render_ipsec_statistics,
    "fpc-information": chassis_text.render_pic_detail,
}


def supports(element: Element) -> bool:
    """True when ``render_text`` knows this reply element (or an ``<rpc-reply>`` holding one)."""
    return local_name(_reply_element(element)) in _RENDERERS


def render_text(element: Element) -> str:
    """CLI text of a reply element built by this package (``""`` where Junos prints nothing).

    Accepts the reply's top element or the ``<rpc-reply>`` around it. Raises ``KeyError`` for an element
    that no renderer here knows.
    """
    reply = _reply_element(element)
    return _RENDERERS[local_name(reply)](reply)


def _reply_element(element: Element) -> Element:
    if local_name(element) == "rpc-reply":
        for item in element:
            if isinstance(item.tag, str):
                return item
    return element
