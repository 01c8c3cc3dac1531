"""External peers of a lab: a real strongSwan (charon with kernel-libipsec) in a network namespace.

The peer's namespace holds the far side of a device's TUN wire (the device creates the TUN and moves it
there; the lab gives it the peer's address) and, for hosts behind the peer, veth links to their namespaces.
charon is started detached (it outlives ``lab up``) and found again by ``Charon.adopt``.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from netconf_device.lab.topology import PeerSpec

log = logging.getLogger("netconf_device.lab")


def connection_for(spec: PeerSpec):
    """The swanctl connection of a peer spec (PSK, one child with the given selectors)."""
    from netconf_device.interop.swanctl_conf import Child, Connection

    c = spec.connection
    child = Child(name="net", local_ts=c.local_ts or ("dynamic",), remote_ts=c.remote_ts or ("dynamic",),
                  esp_proposals=(c.esp,), rekey_time=c.rekey_time,
                  start_action="start" if c.initiate else "none", dpd_action="restart" if c.dpd_delay else "clear")
    return Connection(name=spec.name, local_addrs=(str(spec.address.ip),), remote_addrs=(c.remote,),
                      proposals=(c.ike,), psk=c.psk, dpd_delay=c.dpd_delay, rekey_time=0,
                      keyingtries=0 if c.initiate else 1, children=(child,))


def start_charon(spec: PeerSpec, workdir: Path, netns: str) -> int:
    """Start charon for ``spec`` in ``netns``, load its connection; return the detached pid."""
    from netconf_device.interop.strongswan import Charon

    charon = Charon(workdir, "charon", netns=netns)
    charon.start()
    try:
        charon.load(connection_for(spec))
    except BaseException:
        charon.stop()
        raise
    return charon.detach()


def adopt_charon(workdir: Path, netns: str | None):
    """The running charon of a peer (``StrongswanError`` if it is not running)."""
    from netconf_device.interop.strongswan import Charon

    return Charon.adopt(workdir, "charon", netns=netns)


def stop_charon(workdir: Path, netns: str | None) -> bool:
    from netconf_device.interop.strongswan import StrongswanError

    try:
        charon = adopt_charon(workdir, netns)
    except (StrongswanError, ValueError):
        return False
    charon.stop()
    return True


def host_route_args(gateway: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    return (["-6"] if gateway.version == 6 else []) + ["route", "replace", "default", "via", str(gateway)]
