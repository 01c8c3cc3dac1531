"""One entry point for CLI text: the reply element decides which renderer prints it.

``TEXT_RENDERERS`` maps a reply's top element to its renderer, ready for the RPC registry's text renderers
(``rpc/render.py`` on the netconf branch keys them the same way). ``fpc-information`` is also the top element
of `show chassis fpc` and `show chassis fpc pic-status`; ``render_pic_detail`` prints only the ``pic-detail``
form, so a registry that serves both must pick by content (``is_pic_detail``).
"""

from __future__ import annotations

from collections.abc import Callable

from netconf_device.show import chassis_text, security_text
from netconf_device.show.xmlutil import Element, child, children, local_name

TEXT_RENDERERS: dict[str, Callable[[Element], str]] = {
    "ike-security-associations-information": security_text.render_ike_security_associations,
    "ike-active-peers-information": security_text.render_ike_active_peers,
    "ipsec-security-associations-information": security_text.render_ipsec_security_associations,
    "usp-ipsec-total-statistics-information": security_text.render_ipsec_statistics,
    "fpc-information": chassis_text.render_pic_detail,
}


def is_pic_detail(element: Element) -> bool:
    """True for the get-pic-detail form of ``fpc-information`` (an ``fpc`` holding a ``pic-detail``)."""
    return any(child(fpc, "pic-detail") is not None for fpc in children(element, "fpc"))


def supports(element: Element) -> bool:
    """True when ``render_text`` knows this reply element (or an ``<rpc-reply>`` holding one)."""
    reply = _reply_element(element)
    name = local_name(reply)
    if name == "fpc-information":
        return is_pic_detail(reply)
    return name in TEXT_RENDERERS


def render_text(element: Element) -> str:
    """CLI text of a reply element built by this package (``""`` where Junos prints nothing).

    Accepts the reply's top element or the ``<rpc-reply>`` around it. Raises ``KeyError`` for an element
    no renderer here knows.
    """
    reply = _reply_element(element)
    if not supports(reply):
        raise KeyError(local_name(reply))
    return TEXT_RENDERERS[local_name(reply)](reply)


def _reply_element(element: Element) -> Element:
    if local_name(element) == "rpc-reply":
        for item in element:
            if isinstance(item.tag, str):
                return item
    return element
