"""In-memory network and intent builders for the IKE engine tests: engines exchange datagrams through a
:class:`Network` that owns a fake clock and can drop, duplicate, reorder or NAT packets."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace

from netconf_device import sa as contract
from netconf_device.config.intent import (
    CaProfile,
    IkeGateway,
    IkePolicy,
    IkeProposal,
    Intent,
    IpsecPolicy,
    IpsecProposal,
    IpsecVpn,
    LocalCertificate,
    TrafficSelector,
    diff_intent,
)
from netconf_device.ike.engine import Engine
from netconf_device.ike.options import EngineOptions

A_ADDR = ipaddress.ip_address("192.0.2.1")
B_ADDR = ipaddress.ip_address("192.0.2.2")


class Nat:
    """A NAT in front of one node: rewrites its outgoing source (address, port) to a public mapping."""

    def __init__(self, public_addr, port_base: int = 40000):
        self.public_addr = ipaddress.ip_address(public_addr)
        self.port_base = port_base
        self.out: dict[tuple, int] = {}
        self.back: dict[int, tuple] = {}

    def outbound(self, d: contract.IkeDatagram) -> contract.IkeDatagram:
        key = (d.src, d.sport)
        port = self.out.get(key)
        if port is None:
            port = self.port_base + len(self.out)
            self.out[key] = port
            self.back[port] = key
        return replace(d, src=self.public_addr, sport=port)

    def inbound(self, d: contract.IkeDatagram) -> contract.IkeDatagram | None:
        key = self.back.get(d.dport)
        if key is None:
            return None
        return replace(d, dst=key[0], dport=key[1])


class Network:
    def __init__(self):
        self.now = 0.0
        self.nodes: dict[object, Engine] = {}
        self.names: dict[str, Engine] = {}
        self.nats: dict[str, Nat] = {}  # node name -> NAT in front of it
        self.filter: Callable[[str, contract.IkeDatagram], list[contract.IkeDatagram]] | None = None
        self.events: dict[str, list] = {}
        self.log: list[tuple[float, str, contract.IkeDatagram]] = []
        self.in_flight: list[tuple[str, contract.IkeDatagram]] = []

    def add(self, name: str, engine: Engine, *addresses) -> Engine:
        self.names[name] = engine
        self.events[name] = []
        for a in addresses:
            self.nodes[ipaddress.ip_address(a)] = engine
        return engine

    def name_of(self, engine: Engine) -> str:
        return next(n for n, e in self.names.items() if e is engine)

    # ---------------------------------------------------------------------------------------- movement
    def _collect(self) -> None:
        for name, eng in self.names.items():
            for d in eng.datagrams_to_send():
                self.log.append((self.now, name, d))
                nat = self.nats.get(name)
                if nat is not None:
                    d = nat.outbound(d)
                outs = self.filter(name, d) if self.filter else [d]
                for o in outs:
                    self.in_flight.append((name, o))
            while (ev := eng.next_event()) is not None:
                self.events[name].append(ev)

    def _deliver(self) -> bool:
        if not self.in_flight:
            return False
        batch, self.in_flight = self.in_flight, []
        for _sender, d in batch:
            target_d = d
            eng = self.nodes.get(d.dst)
            if eng is None:
                # maybe addressed to a NAT's public side
                for name, nat in self.nats.items():
                    if nat.public_addr == d.dst:
                        target_d = nat.inbound(d)
                        eng = self.names[name] if target_d is not None else None
                        break
            if eng is None or target_d is None:
                continue
            eng.receive_datagram(target_d, self.now)
        return True

    def settle(self, max_rounds: int = 10000) -> None:
        """Deliver datagrams and due timers at the current time until nothing moves."""
        for _ in range(max_rounds):
            self._collect()
            moved = self._deliver()
            fired = False
            for eng in self.names.values():
                t = eng.get_timer()
                if t is not None and t <= self.now:
                    eng.handle_timer(self.now)
                    fired = True
            self._collect()
            if not moved and not fired and not self.in_flight:
                return
        raise AssertionError("network did not settle")

    def next_deadline(self) -> float | None:
        ts = [t for t in (e.get_timer() for e in self.names.values()) if t is not None]
        return min(ts) if ts else None

    def advance(self, seconds: float) -> None:
        """Run the clock forward, firing timers in order and settling after each."""
        end = self.now + seconds
        self.settle()
        while True:
            t = self.next_deadline()
            if t is None or t > end:
                break
            self.now = max(self.now, t)
            self.settle()
        self.now = end
        self.settle()

    def events_of(self, name: str, kind) -> list:
        return [e for e in self.events[name] if isinstance(e, kind)]


# ------------------------------------------------------------------------------------------- intents
def ike_proposal(encr="aes-256-cbc", auth="sha-256", group="group14", method="pre-shared-keys",
                 lifetime=28800, name="ike-prop") -> IkeProposal:
    return IkeProposal(name=name, authentication_method=method, dh_group=group, authentication_algorithm=auth,
                       encryption_algorithm=encr, lifetime_seconds=lifetime)


def esp_proposal(encr="aes-256-gcm", lifetime=3600, name="esp-prop", kilobytes=None) -> IpsecProposal:
    return IpsecProposal(name=name, encryption_algorithm=encr, lifetime_seconds=lifetime,
                         lifetime_kilobytes=kilobytes)


def make_intent(local, remote, psk: bytes | None = b"secret-key", ike=None, esp=None, pfs=None,
                establish="immediately", ts=None, dpd=None, local_id=None, remote_id=None, n_vpns=1,
                gateway_name="gw", vpn_name="vpn", nat_keepalive=5, no_nat_traversal=False,
                fragmentation=True, fragmentation_size=None, reauth=None, cert: LocalCertificate | None = None,
                ca_pem: bytes | None = None, esn=False, tunnel_index=500001) -> Intent:
    ike_props = tuple(ike) if isinstance(ike, (list, tuple)) else (ike or ike_proposal(),)
    esp_props = tuple(esp) if isinstance(esp, (list, tuple)) else (esp or esp_proposal(),)
    policy = IkePolicy(name="ike-pol", proposals=ike_props, pre_shared_key=psk,
                       local_certificate=cert.name if cert else None, reauth_frequency=reauth)
    gw = IkeGateway(name=gateway_name, policy=policy, addresses=(str(remote),),
                    local_address=ipaddress.ip_address(local), dead_peer_detection=dpd,
                    nat_keepalive=nat_keepalive, no_nat_traversal=no_nat_traversal, local_identity=local_id,
                    remote_identity=remote_id, fragmentation=fragmentation, fragmentation_size=fragmentation_size,
                    ca_profile="ca" if ca_pem else None)
    ipol = IpsecPolicy(name="ipsec-pol", proposals=esp_props, pfs_group=pfs)
    vpns = {}
    for i in range(n_vpns):
        name = vpn_name if n_vpns == 1 else f"{vpn_name}{i + 1}"
        sels = ()
        if ts is not None:
            pairs = ts[i] if n_vpns > 1 else ts
            sels = tuple(TrafficSelector(f"ts{j}", ipaddress.ip_network(lo), ipaddress.ip_network(re))
                         for j, (lo, re) in enumerate(pairs))
        vpns[name] = IpsecVpn(name=name, bind_interface=f"st0.{i + 1}", tunnel_index=tunnel_index + i, gateway=gw,
                              ipsec_policy=ipol, establish_tunnels=establish, traffic_selectors=sels,
                              extended_sequence_number=esn)
    return Intent(
        ike_proposals={p.name: p for p in ike_props}, ike_policies={policy.name: policy},
        ike_gateways={gw.name: gw}, ipsec_proposals={p.name: p for p in esp_props},
        ipsec_policies={ipol.name: ipol}, ipsec_vpns=vpns,
        ca_profiles={"ca": CaProfile("ca", "ca", ca_pem)} if ca_pem else {},
        local_certificates={cert.name: cert} if cert else {})


def pair(a_intent: Intent, b_intent: Intent, a_opts: EngineOptions | None = None,
         b_opts: EngineOptions | None = None, apply: bool = True) -> tuple[Network, Engine, Engine]:
    net = Network()
    a = net.add("a", Engine(a_opts or EngineOptions(device_name="a", random_seed=1)), A_ADDR)
    b = net.add("b", Engine(b_opts or EngineOptions(device_name="b", random_seed=2)), B_ADDR)
    if apply:
        b.apply(diff_intent(Intent(), b_intent), net.now)
        a.apply(diff_intent(Intent(), a_intent), net.now)
        net.settle()
    return net, a, b


def symmetric(ike=None, esp=None, establish_b="responder-only", **kw) -> tuple[Intent, Intent]:
    """Intents for A (initiator, establish immediately) and B (responder-only by default)."""
    a_ts = kw.pop("ts", None)
    b_ts = [(r, lo) for lo, r in a_ts] if a_ts else None
    a_extra = {k[2:]: v for k, v in kw.items() if k.startswith("a_")}
    b_extra = {k[2:]: v for k, v in kw.items() if k.startswith("b_")}
    common = {k: v for k, v in kw.items() if not k.startswith(("a_", "b_"))}
    common.setdefault("ike", ike)
    common.setdefault("esp", esp)
    a = make_intent(A_ADDR, B_ADDR, **{"ts": a_ts, **common, **a_extra})
    b = make_intent(B_ADDR, A_ADDR, **{"ts": b_ts, "establish": establish_b, **common, **b_extra})
    return a, b


def installed(net: Network, name: str) -> list[contract.ChildSa]:
    """Child SAs currently installed in a node's PFE, according to its events."""
    live: dict[int, contract.ChildSa] = {}
    for ev in net.events[name]:
        if isinstance(ev, contract.ChildSaInstalled):
            live[ev.sa.spi_in] = ev.sa
        elif isinstance(ev, contract.ChildSaDeleted):
            live.pop(ev.spi_in, None)
    return list(live.values())


def assert_tunnel_pairs(net: Network, a: str = "a", b: str = "b") -> list[tuple]:
    """Every installed child on A has its mirror on B (SPIs swapped, keys swapped)."""
    la, lb = installed(net, a), installed(net, b)
    assert la and len(la) == len(lb), (la, lb)
    pairs = []
    for x in la:
        y = next((y for y in lb if y.spi_in == x.spi_out and y.spi_out == x.spi_in), None)
        assert y is not None, f"no mirror for {x.spi_in:08x}"
        assert x.key_out == y.key_in and x.key_in == y.key_out
        assert x.encryption_algorithm == y.encryption_algorithm
        pairs.append((x, y))
    return pairs
