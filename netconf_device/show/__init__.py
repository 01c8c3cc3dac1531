"""Live operational state as Junos shows it: typed views -> Junos XML -> CLI text.

The integration fills ``views`` from the IKE daemon's and the PFE's snapshots, builds the reply with
``security_xml`` / ``chassis_xml`` and, for ``<command format="text">``, renders it with ``render_text``.
See docs/show-commands.md for the commands, RPCs and arguments.
"""

from netconf_device.show.chassis_xml import build_pic_detail
from netconf_device.show.security_xml import (
    build_ike_active_peers,
    build_ike_security_associations,
    build_ipsec_security_associations,
    build_ipsec_statistics,
)
from netconf_device.show.text import render_text

__all__ = [
    "build_ike_active_peers",
    "build_ike_security_associations",
    "build_ipsec_security_associations",
    "build_ipsec_statistics",
    "build_pic_detail",
    "render_text",
]
