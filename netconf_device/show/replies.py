"""Request element + live views -> reply element: what an RPC handler of the integration calls.

Each function parses the request's arguments (``queries``), selects and builds the reply
(``security_xml`` / ``chassis_xml``). Bad arguments raise ``ShowArgumentError``; the RPC layer turns it into
an ``<rpc-error>`` (``bad-element`` = ``error.element``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from netconf_device.show import mx304, queries
from netconf_device.show.chassis_xml import build_pic_detail
from netconf_device.show.security_xml import (
    build_ike_active_peers,
    build_ike_security_associations,
    build_ipsec_security_associations,
    build_ipsec_statistics,
)
from netconf_device.show.views import IkeActivePeerView, IkeSaView, IpsecStatisticsView, IpsecTunnelView
from netconf_device.show.xmlutil import Element


def ike_security_associations_reply(request: Element, sas: Iterable[IkeSaView]) -> Element:
    """``<get-ike-security-associations-information>``."""
    query = queries.parse_ike_sa_query(request)
    return build_ike_security_associations(
        sas, level=query.level, index=query.index, peer_address=query.peer_address, family=query.family
    )


def ike_active_peers_reply(request: Element, peers: Iterable[IkeActivePeerView]) -> Element:
    """``<get-ike-active-peers-information>``."""
    query = queries.parse_ike_active_peer_query(request)
    return build_ike_active_peers(peers, level=query.level, peer_address=query.peer_address, port=query.port)


def ipsec_security_associations_reply(request: Element, tunnels: Iterable[IpsecTunnelView]) -> Element:
    """``<get-security-associations-information>``."""
    query = queries.parse_ipsec_sa_query(request)
    return build_ipsec_security_associations(
        tunnels, level=query.level, index=query.index, family=query.family, vpn_name=query.vpn_name
    )


def ipsec_statistics_reply(
    request: Element,
    global_statistics: IpsecStatisticsView,
    per_tunnel: Mapping[int, IpsecStatisticsView],
) -> Element:
    """``<get-ipsec-statistics-information>``: the global counters, or one tunnel's with `index N`.

    An unknown index answers with the empty top element (no tunnel, no counters).
    """
    query = queries.parse_ipsec_statistics_query(request)
    if query.index is None:
        return build_ipsec_statistics(global_statistics)
    return build_ipsec_statistics(per_tunnel.get(query.index))


def pic_detail_reply(
    request: Element, *, ipsec_wan_interfaces: Iterable[str] = (), uptime_seconds: int = 0
) -> Element:
    """``<get-pic-detail>`` on the MX304; a slot the chassis does not have is a ``ShowArgumentError``."""
    query = queries.parse_pic_detail_query(request)
    try:
        view = mx304.pic_detail_view(
            query.fpc_slot,
            query.pic_slot,
            ipsec_wan_interfaces=ipsec_wan_interfaces,
            uptime_seconds=uptime_seconds,
        )
    except LookupError:
        raise queries.ShowArgumentError(
            f"FPC {query.fpc_slot} PIC {query.pic_slot} is not present", "pic-slot"
        ) from None
    return build_pic_detail(view)
