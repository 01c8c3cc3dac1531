"""Labs: ready topologies of emulated MX routers, hosts and real peers, started with one command.

Command line (``docs/labs.md``)::

    netconf-device lab up labs/mx304-p2p          # start, wait until every tunnel is up, print logins
    netconf-device lab status                     # devices (NETCONF, login, pid, tunnels), hosts, peers
    netconf-device lab ping host1 2.2.2.2 -c 5    # ICMP echo from an emulated host, through the tunnel
    netconf-device lab down                       # stop everything, remove namespaces (idempotent)

Python API (for end-to-end tests)::

    from netconf_device.lab import Lab

    lab = Lab.load("labs/mx304-p2p", state_dir=tmp_path / "lab")   # TopologyError lists every problem
    lab.up(wait=True, timeout=60)        # LabError: could not start (cleaned up); TunnelsNotUp: still up,
                                         #   .status = {device: TunnelSummary}, message says why per VPN
    try:
        lab.status()                     # LabStatus: .devices[DeviceStatus(name, host, port, user, password,
                                         #   pid, alive, tunnels=TunnelSummary(total, up, ike_up, ike_total,
                                         #   vpns=(VpnState(name, bind_interface, tunnel_index, gateway,
                                         #   gateway_addresses, up, ike_state, reason), ...)))], .hosts, .peers
        r = lab.ping("host1", "2.2.2.2", count=5)          # r.sent, r.received, r.loss, r.rtts
        dev = lab.device("peer1")        # .host .port .user .password .pid .alive .state_dir .log_path
        with dev.connect() as m:         # ncclient manager (Junos handler), logged in
            m.command("show security ipsec statistics", format="xml")
        with dev.pyez() as jdev:         # jnpr.junos.Device, opened by `with`
            jdev.rpc.get_ike_security_associations_information(detail=True)
        dev.command("show security ike security-associations")      # CLI text over NETCONF
        dev.tunnels()                    # TunnelSummary; dev.ipsec_statistics(index=None) -> {name: int}
        dev.stop() / dev.kill() / dev.start() / dev.restart()       # keeps its configuration and ports
        lab.wait_tunnels(timeout=30)     # after a change: until all configured VPNs are up again
        h1 = lab.host("host1")           # emulated: .ping(addr, count, interval=, timeout=, size=),
        h1.send_udp("2.2.2.2", 5000, b"x")   # .send_udp(...), .wait_received(timeout) -> IP packet | None
        lab.hosts_runner().run(coro_fn)  # coro_fn(hosts: {name: pfe.wires.host.Host}) on the hosts' loop
        lab.release_hosts()              # unbind the emulated hosts (lab ping from a shell works again)
        lab.host("h1").run(["ping", "-c1", "2.2.2.2"])  # netns hosts (root): a command in the namespace
        lab.charon("swan")               # strongSwan peer: interop.strongswan.Charon (list_sas, ...)
        lab.link_ports("peer1:et-0/2/10")    # (this end's UDP port, far end's) of a link, for tcpdump
    finally:
        lab.down()                       # or `with Lab.load(...) as lab:`; Lab.attach(state_dir) for a
                                         # lab that `lab up` started

Emulated hosts are bound by the process that sends (one at a time per lab): ``lab.host(...)`` binds all
emulated hosts of the lab until ``release_hosts()``/``down()``; ``lab ping`` binds them for its duration.
``Lab.load(..., params={"tunnels": 50})`` overrides a lab's ``params`` (labs/scale-2000);
``netns_hosts=True`` turns every host into a network namespace (root).
"""

from __future__ import annotations

import importlib

# Imported on first use: `netconf-device serve` builds the whole CLI parser (this package included) at
# every start, and should not pay for the lab's imports.
_EXPORTS = {
    "netconf_device.lab.lab": ("DeviceStatus", "HostStatus", "Lab", "LabDevice", "LabError", "LabHost",
                               "LabStatus", "PeerStatus", "TunnelsNotUp"),
    "netconf_device.lab.query": ("TunnelSummary", "VpnState"),
    "netconf_device.lab.topology": ("Topology", "TopologyError", "load_topology"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
