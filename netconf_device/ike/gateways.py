"""What the engine knows about the configuration: gateways and VPNs resolved once from the intent
(proposals, keys, certificates, traffic selectors), with their negotiation counters and tunnel events."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes

from netconf_device.config.intent import DeadPeerDetection, Intent, IpsecVpn

from . import auth, proposals, selectors
from .proposals import IkeAlgorithms, ProposalError

if TYPE_CHECKING:  # pragma: no cover
    from .sa import IkeSa

# Junos' tunnel event texts, captured (reference §1.5 / §2.2) ...
EVENT_IPSEC_SA_UP = "IPSec SA negotiation successfully completed"
EVENT_IKE_SA_UP = "IKE SA negotiation successfully completed"
EVENT_IKE_SA_REKEY = "IKE SA rekey successfully completed"
EVENT_TUNNEL_READY = "Tunnel is ready. Waiting for trigger event or peer to trigger negotiation"
# ... and DERIVED ones in the same style (no capture)
EVENT_IPSEC_SA_REKEY = "IPSec SA rekey successfully completed"
EVENT_IKE_SA_DOWN = "IKE SA deleted"
EVENT_DPD_PEER_DOWN = "Peer is not responding to DPD. Tunnel is down"


class VpnState:
    """An IPsec VPN the engine negotiates children for."""

    def __init__(self, intent: IpsecVpn, max_events: int = 10):
        self.removed = False
        self.acquired = False
        self.last_error = ""
        self.failures = 0
        self.retry_at = 0.0
        # show security ipsec security-associations detail: Nego#, Fail#, Def-Del#, Tunnel events
        self.negotiations = 0
        self.negotiation_failures = 0
        self.deletions = 0
        # one entry per kind of event, as Junos keeps them: description -> [latest wall time, count], the
        # least recently seen first; a new kind beyond ``max_events`` pushes out the one seen longest ago
        self.events: dict[str, list] = {}
        self.max_events = max(1, max_events)
        self.update(intent)

    def event(self, when, description: str) -> None:
        """Note an event: a repeat of a kind moves it to the front with its new time and one more count."""
        entry = self.events.pop(description, None)
        if entry is None:
            if len(self.events) >= self.max_events:
                del self.events[next(iter(self.events))]
            entry = [when, 0]
        entry[0] = when
        entry[1] += 1
        self.events[description] = entry

    def events_newest_first(self) -> list[tuple]:
        """``(wall time, description, count)`` per kind of event, the most recent first (Junos' order)."""
        return [(when, description, count) for description, (when, count) in reversed(self.events.items())]

    def update(self, intent: IpsecVpn) -> None:
        self.intent = intent
        self.name = intent.name
        self.tunnel_index = intent.tunnel_index
        self.gateway_name = intent.gateway.name if intent.gateway else None
        pol = intent.ipsec_policy
        self.pfs_group = proposals.dh_group_number(pol.pfs_group) if pol and pol.pfs_group else None
        pairs = []
        for ts in intent.traffic_selectors:
            pairs.append(([selectors.from_network(ts.local)], [selectors.from_network(ts.remote)]))
        if not pairs:
            any_net = selectors.ANY_V4
            gw = intent.gateway
            if gw is not None and gw.addresses:
                try:
                    if ipaddress.ip_address(gw.addresses[0]).version == 6:
                        any_net = selectors.ANY_V6
                except ValueError:
                    pass
            pairs.append(([selectors.from_network(any_net)], [selectors.from_network(any_net)]))
        self.ts_pairs = pairs

    def wants_tunnel(self) -> bool:
        mode = self.intent.establish_tunnels
        return not self.removed and (mode == "immediately" or (mode == "on-traffic" and self.acquired))


class GatewayState:
    """An IKE gateway with what the engine needs resolved once (proposals, keys, certificates)."""

    def __init__(self, intent, full: Intent):
        self.index_keys: list = []
        self.waiting = False  # queued for an initiation slot
        self.vpns: dict[str, VpnState] = {}
        self.sas: list[IkeSa] = []
        self.removed = False
        self.last_error = ""
        self.failures = 0
        self.reinit_at = 0.0
        self.update(intent, full)

    def update(self, intent, full: Intent) -> None:
        self.intent = intent
        self.name = intent.name
        self._lifetimes: dict = {}
        policy = intent.policy
        self.offer_proposals = proposals.ike_proposals(policy.proposals)
        self.accept_proposals = proposals.ike_proposals(policy.proposals, accept=True)
        groups = []
        for p in policy.proposals:
            g = proposals.dh_group_number(p.dh_group)
            if g not in groups:
                groups.append(g)
        self.dh_groups = groups
        methods = {p.authentication_method for p in policy.proposals}
        self.uses_psk = "pre-shared-keys" in methods or not methods
        self.uses_certificates = not self.uses_psk
        self.psk = policy.pre_shared_key
        self.local_cert = None
        self.local_chain: list = []
        self.local_key = None
        if policy.local_certificate and policy.local_certificate in full.local_certificates:
            lc = full.local_certificates[policy.local_certificate]
            self.local_chain = auth.load_certificate_chain(lc.certificate_pem)
            self.local_cert = self.local_chain[0]
            self.local_key = auth.load_private_key(lc.private_key_pem)
        cas = []
        profiles = [full.ca_profiles[intent.ca_profile]] if intent.ca_profile in full.ca_profiles \
            else list(full.ca_profiles.values())
        for prof in profiles:
            if prof.certificate_pem:
                cas.append(auth.load_certificate(prof.certificate_pem))
        self.trusted_cas = cas
        self.material = (self.local_cert.fingerprint(hashes.SHA256()) if self.local_cert else None,
                         tuple(c.fingerprint(hashes.SHA256()) for c in cas))
        self.dpd: DeadPeerDetection | None = intent.dead_peer_detection
        self.remote_addrs = []
        for a in intent.addresses:
            try:
                self.remote_addrs.append(ipaddress.ip_address(a))
            except ValueError:
                continue  # a hostname: the configuration engine resolves names, we only take addresses
        self.address_index = 0
        self.remote_addr = self.remote_addrs[0] if self.remote_addrs else None
        self.local_addr = intent.local_address

    def lifetime_for(self, algs: IkeAlgorithms) -> int:
        cached = self._lifetimes.get(algs)
        if cached is None:
            cached = self._lifetimes[algs] = self._lifetime_for(algs)
        return cached

    @staticmethod
    def lifetime_key(p) -> IkeAlgorithms | None:
        """The negotiated-algorithm record one of our proposals would produce."""
        try:
            return IkeAlgorithms.from_proposal(proposals.ike_proposal(p, 1))
        except ProposalError:
            return None

    def _lifetime_for(self, algs: IkeAlgorithms) -> int:
        for p in self.intent.policy.proposals:
            try:
                if IkeAlgorithms.from_proposal(proposals.ike_proposal(p, 1)) == algs:
                    return p.lifetime_seconds
            except ProposalError:
                continue
        return self.intent.policy.proposals[0].lifetime_seconds if self.intent.policy.proposals else 28800


