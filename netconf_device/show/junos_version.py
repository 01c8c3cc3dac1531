"""The Junos release the emulated MX reports, in one place.

The seed requires "Junos OS 24.2R1 or later" for inline IPsec on MX304. Replies carry the release without the
build number in their namespace URIs (``http://xml.juniper.net/junos/24.2R1/junos``), as every capture in
``reference/junos-xml.md`` does (``18.4R3`` for ``18.4R3``-series devices, ``16.1R1`` for ``16.1R1.11``).
"""

from __future__ import annotations

JUNOS_VERSION = "24.2R1.17"  # what `show version` prints as junos-version
JUNOS_RELEASE = JUNOS_VERSION.rsplit(".", 1)[0]  # "24.2R1": the part namespace URIs carry

JUNOS_NS = f"http://xml.juniper.net/junos/{JUNOS_RELEASE}/junos"


def junos_area_ns(area: str) -> str:
    """Default namespace of an area's reply element, e.g. ``junos_area_ns("chassis")`` for fpc-information."""
    return f"http://xml.juniper.net/junos/{JUNOS_RELEASE}/junos-{area}"
