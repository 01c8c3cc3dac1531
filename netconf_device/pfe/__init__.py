"""The software PFE: an ESP (AES-GCM) datapath with routing, counters and wires.

For the device (integration):

* ``Datapath(name)`` -- the sans-IO engine. ``apply(diff)`` / ``apply_intent(intent)`` on every commit;
  ``process([(interface, packet), ...], now) -> [(interface, packet), ...]``; ``drain_events()`` returns
  ``IkeDatagram`` (inbound IKE, marker stripped), ``Acquire``, ``RekeyRequest`` and ``SaActivity``;
  ``handle_event(event, now)`` takes ``ChildSaInstalled`` / ``ChildSaDeleted`` / ``IkeDatagram`` (to send)
  and returns packets to transmit; ``set_ike_ports(ports)`` adds custom IKE/NAT-T ports.
* State for show commands: ``ipsec_statistics(tunnel_index=None)`` (keys are the element names of
  ``usp-ipsec-total-statistics-information`` with ``_``, plus the UDP-encapsulation drop reasons),
  ``ipsec_statistics_by_tunnel()``, ``clear_ipsec_statistics(index)``, ``interface_statistics(name)``,
  ``interface_oper_up("st0.1")``, ``tunnel_up(index)``, ``sa_usage(spi_in)``, ``sa_activity(spi_in)``,
  ``routes`` (iterable of ``routes.Route``).
* ``runner.PfeRunner(datapath, on_event=...)`` -- the asyncio shell: ``attach(interface, wire)``,
  ``handle_event(event)`` (from the IKE daemon), ``tick()`` (periodic activity reports without traffic).
* ``wires``: ``udp.UdpWire`` (unprivileged link, across processes), ``tun.TunWire`` (root; optional netns),
  ``pipe.pipe_pair`` (in-process), ``host.Host`` (a pingable host for tests and labs).

Interfaces are named as in the configuration; wires attach to physical names ("et-0/1/8", unit 0).
"""

from netconf_device.pfe.datapath import Datapath

__all__ = ["Datapath"]
