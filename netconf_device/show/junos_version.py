"""The Junos release the emulated MX reports: the one source for the whole device.

The seed requires "Junos OS 24.2R1 or later" for inline IPsec on MX304; the schema is Juniper's 24.4R1 YANG.
``show version``, the ``xmlns:junos`` URI of every reply (``device.py``), the commit information
(``config/datastore.py``) and the show builders all import these values: one device must not answer with two
releases (``tests/device/test_device_live_commands.py`` checks that no other module spells one out).

Replies carry ``<major>.<minor>R0`` in their namespace URIs since Junos 20: the captures in
reference/junos-xml.md show ``http://xml.juniper.net/junos/20.2R0/junos`` (20.2), ``21.1R0`` and ``20.4R0``;
older releases used the release itself (``18.4R3``, ``17.3R3``).
"""

from __future__ import annotations

JUNOS_VERSION = "24.4R1.9"  # what `show version` prints as junos-version


def namespace_release(version: str) -> str:
    """``24.4R1.9`` -> ``24.4R0``: the release as Junos 20 and later put it in namespace URIs."""
    major, minor = version.split(".")[:2]
    return f"{major}.{minor.split('R')[0]}R0"


JUNOS_NS_RELEASE = namespace_release(JUNOS_VERSION)

JUNOS_NS = f"http://xml.juniper.net/junos/{JUNOS_NS_RELEASE}/junos"


def junos_area_ns(area: str) -> str:
    """Default namespace of an area's reply element, e.g. ``junos_area_ns("chassis")`` for fpc-information."""
    return f"http://xml.juniper.net/junos/{JUNOS_NS_RELEASE}/junos-{area}"
