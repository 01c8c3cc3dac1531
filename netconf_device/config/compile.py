"""Validated Junos XML configuration -> typed ``Intent`` (``intent.py``), with Junos' defaults applied.

The tree has passed YANG validation, so types, ranges and references are known good; this module still
fails cleanly (``DatastoreError``, Junos-shaped, all problems at once) on what only compilation can see:
unreadable PEM files, undecodable secrets, wrong manual-SA key lengths. Inactive statements
(``inactive="inactive"``) are ignored, as Junos does on commit. Secrets are decoded here (``$9$``) and only
ever live in the intent (``repr=False`` fields); nothing here logs them.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from netconf_device.config.errors import DatastoreError, Problem, problem
from netconf_device.config.intent import (
    TUNNEL_INDEX_BASE,
    CaProfile,
    DeadPeerDetection,
    IkeGateway,
    IkeIdentity,
    IkePolicy,
    IkeProposal,
    InlineServicesPic,
    Intent,
    IpAddress,
    IpsecPolicy,
    IpsecProposal,
    IpsecVpn,
    LocalCertificate,
    LogicalInterface,
    LoginUser,
    ManualSa,
    PhysicalInterface,
    ServiceSet,
    StaticRoute,
    SystemIntent,
    TrafficSelector,
    UdpEncapsulation,
)

MAX_ST0_UNIT = 16385
FALLBACK_INDEX_BASE = TUNNEL_INDEX_BASE + MAX_ST0_UNIT + 1  # indices no st0 unit can claim
GCM_KEY_BYTES = {"aes-128-gcm": 16, "aes-192-gcm": 24, "aes-256-gcm": 32}  # plus a 4-byte salt (RFC 4106)
DEFAULT_NETCONF_SSH_PORT = 830
DEFAULT_UDP_ENCAP_PORT = 500

SecretDecoder = Callable[[str], str]


def compile_intent(tree: etree._Element, *, decode_secret: SecretDecoder, previous: Intent | None = None,
                   base_dir: Path | None = None) -> Intent:
    """Compile a validated ``<configuration>`` into an ``Intent``.

    ``previous`` (the running intent) keeps fallback tunnel indices stable across commits; ``base_dir``
    anchors relative PEM file names (default: the current directory).
    """
    return _Compiler(tree, decode_secret, previous, base_dir).run()


# ------------------------------------------------------------------------------------- tree helpers
def _active(tree: etree._Element) -> etree._Element:
    """The tree without ``inactive="inactive"`` statements (copied only when it has any)."""
    if not tree.xpath("boolean(//*[@inactive])"):
        return tree
    tree = copy.deepcopy(tree)
    for element in tree.findall(".//*[@inactive]"):
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    return tree


class _View:
    """An element with its children indexed by tag: compiling 2000 VPNs asks ~100k questions about
    present-or-absent children; a dict answers each in a fraction of what an lxml ``find`` costs."""

    __slots__ = ("element", "kids")

    def __init__(self, element: etree._Element):
        self.element = element
        kids: dict[str, list[etree._Element]] = {}
        for child in element:  # plain iteration: a tag filter costs more than the whole loop here
            tag = child.tag
            if tag.__class__ is str:  # elements only (no comments / PIs)
                same = kids.get(tag)
                if same is None:
                    kids[tag] = [child]
                else:
                    same.append(child)
        self.kids = kids

    @property
    def text(self) -> str | None:
        return self.element.text


def _kids(parent: _View | None, tag: str) -> list[_View]:
    if parent is None:
        return []
    return [_View(c) for c in parent.kids.get(tag, ())]


def _kid(parent: _View | None, tag: str) -> _View | None:
    if parent is None:
        return None
    found = parent.kids.get(tag)
    return _View(found[0]) if found else None


def _path(parent: _View | None, *tags: str) -> _View | None:
    node = parent
    for tag in tags:
        node = _kid(node, tag)
        if node is None:
            return None
    return node


def _text(parent: _View | None, tag: str) -> str | None:
    if parent is None:
        return None
    found = parent.kids.get(tag)
    if not found or found[0].text is None:
        return None
    return found[0].text.strip()


def _texts(parent: _View | None, tag: str) -> tuple[str, ...]:
    if parent is None:
        return ()
    return tuple(n.text.strip() for n in parent.kids.get(tag, ()) if n.text is not None)


def _int(parent: _View | None, tag: str, default: int | None = None) -> int | None:
    value = _text(parent, tag)
    return int(value) if value is not None else default


def _has(parent: _View | None, tag: str) -> bool:
    return parent is not None and tag in parent.kids


def _name(entry: _View) -> str:
    return _text(entry, "name") or ""


def _entries(parent: _View | None, tag: str) -> list[tuple[str, _View]]:
    return [(_name(e), e) for e in _kids(parent, tag)]


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _network(prefix: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """``ip_network(prefix, strict=False)`` without its IPv4-then-IPv6 guessing (2000 routes per commit)."""
    if ":" in prefix:
        return ipaddress.IPv6Network(prefix, strict=False)
    return ipaddress.IPv4Network(prefix, strict=False)


def _ifl_name(name: str) -> str:
    """``et-0/2/10`` means unit 0 (``et-0/2/10.0``), as Junos reads an external-interface without a unit."""
    return name if "." in name else f"{name}.0"


class _Compiler:
    def __init__(self, tree, decode_secret, previous, base_dir):
        self.root = tree
        self.decode_secret = decode_secret
        self.previous = previous
        self.base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
        self.problems: list[Problem] = []

    def problem(self, message: str, path: tuple[str, ...], statement: str | None = None) -> None:
        self.problems.append(problem(message, edit_path=path, statement=statement,
                                     error_type="application", error_tag="invalid-value"))

    def run(self) -> Intent:
        root = _View(_active(self.root))
        security = _kid(root, "security")
        ike = _kid(security, "ike")
        ipsec = _kid(security, "ipsec")
        interfaces = self.interfaces(_kid(root, "interfaces"))
        logical = {u.name: u for ifd in interfaces.values() for u in ifd.units}
        ca_profiles, local_certificates = self.pki(_kid(security, "pki"))
        ike_proposals = {n: self.ike_proposal(n, e) for n, e in _entries(ike, "proposal")}
        ike_policies = {n: self.ike_policy(n, e, ike_proposals) for n, e in _entries(ike, "policy")}
        ike_gateways = {n: self.ike_gateway(n, e, ike_policies, logical) for n, e in _entries(ike, "gateway")}
        ipsec_proposals = {n: self.ipsec_proposal(n, e) for n, e in _entries(ipsec, "proposal")}
        ipsec_policies = {n: self.ipsec_policy(n, e, ipsec_proposals) for n, e in _entries(ipsec, "policy")}
        service_sets = {n: self.service_set(n, e) for n, e in _entries(_kid(root, "services"), "service-set")}
        vpns = self.vpns(ipsec, ike_gateways, ipsec_policies, service_sets, logical)
        if self.problems:
            raise DatastoreError(self.problems)
        return Intent(
            system=self.system(_kid(root, "system")),
            inline_services=self.inline_services(_kid(root, "chassis")),
            interfaces=interfaces,
            static_routes=self.static_routes(_kid(root, "routing-options")),
            service_sets=service_sets,
            ike_proposals=ike_proposals,
            ike_policies=ike_policies,
            ike_gateways=ike_gateways,
            ipsec_proposals=ipsec_proposals,
            ipsec_policies=ipsec_policies,
            ipsec_vpns=vpns,
            ca_profiles=ca_profiles,
            local_certificates=local_certificates,
        )

    # ------------------------------------------------------------------------------------- system
    def system(self, system) -> SystemIntent:
        if system is None:
            return SystemIntent()
        users = []
        for name, user in _entries(_kid(system, "login"), "user"):
            auth = _kid(user, "authentication")
            keys = tuple(_name(k) for tag in ("ssh-rsa", "ssh-ecdsa", "ssh-ed25519") for k in _kids(auth, tag))
            users.append(LoginUser(name=name, login_class=_text(user, "class") or "unauthorized",
                                   encrypted_password=_text(auth, "encrypted-password"),
                                   ssh_public_keys=keys, uid=_int(user, "uid")))
        ssh = _path(system, "services", "netconf", "ssh")
        return SystemIntent(
            host_name=_text(system, "host-name") or SystemIntent.host_name,
            domain_name=_text(system, "domain-name"),
            users=tuple(users),
            netconf_ssh_port=_int(ssh, "port", DEFAULT_NETCONF_SSH_PORT) if ssh is not None else None,
        )

    def inline_services(self, chassis) -> tuple[InlineServicesPic, ...]:
        pics = []
        for fpc_name, fpc in _entries(chassis, "fpc"):
            for pic_name, pic in _entries(fpc, "pic"):
                services = _kid(pic, "inline-services")
                if services is not None:
                    pics.append(InlineServicesPic(int(fpc_name), int(pic_name), _text(services, "bandwidth")))
        return tuple(pics)

    # ------------------------------------------------------------------------------------- interfaces
    def interfaces(self, interfaces) -> dict[str, PhysicalInterface]:
        result = {}
        for name, ifd in _entries(interfaces, "interface"):
            units = []
            for unit_name, unit in _entries(ifd, "unit"):
                family = _kid(unit, "family")
                inet, inet6 = _kid(family, "inet"), _kid(family, "inet6")
                units.append(LogicalInterface(
                    name=f"{name}.{unit_name}",
                    unit=int(unit_name),
                    description=_text(unit, "description"),
                    mtu=_int(inet, "mtu"),
                    inet=tuple(ipaddress.IPv4Interface(a) for a, _ in _entries(inet, "address")),
                    inet6=tuple(ipaddress.IPv6Interface(a) for a, _ in _entries(inet6, "address")),
                    family_inet=inet is not None,
                    family_inet6=inet6 is not None,
                    service_domain=_text(unit, "service-domain"),
                    disabled=_has(unit, "disable"),
                ))
            result[name] = PhysicalInterface(name=name, description=_text(ifd, "description"), mtu=_int(ifd, "mtu"),
                                             disabled=_has(ifd, "disable"), units=tuple(units))
        return result

    def static_routes(self, routing) -> tuple[StaticRoute, ...]:
        tables = [_kid(routing, "static")]
        tables += [_kid(rib, "static") for name, rib in _entries(routing, "rib") if name == "inet6.0"]
        routes = []
        for static in tables:
            for prefix, route in _entries(static, "route"):
                routes.append(StaticRoute(prefix=_network(prefix),
                                          next_hops=_texts(route, "next-hop"),
                                          discard=_has(route, "discard"), reject=_has(route, "reject")))
        return tuple(routes)

    # ------------------------------------------------------------------------------------- PKI
    def pki(self, pki) -> tuple[dict[str, CaProfile], dict[str, LocalCertificate]]:
        cas = {}
        for name, profile in _entries(pki, "ca-profile"):
            where = ("security", "pki", "ca-profile", name)
            pem = self.read_pem(_text(profile, "certificate-file"), where, "certificate-file", "certificate")
            cas[name] = CaProfile(name=name, ca_identity=_text(profile, "ca-identity") or name, certificate_pem=pem)
        certs = {}
        for name, entry in _entries(pki, "local-certificate"):
            where = ("security", "pki", "local-certificate", name)
            cert_file, key_file = _text(entry, "certificate-file"), _text(entry, "private-key-file")
            if cert_file is None or key_file is None:
                self.problem("certificate-file and private-key-file must both be configured", where,
                             "private-key-file" if cert_file else "certificate-file")
                continue
            cert = self.read_pem(cert_file, where, "certificate-file", "certificate")
            key = self.read_pem(key_file, where, "private-key-file", "private key")
            if cert is not None and key is not None:
                certs[name] = LocalCertificate(name=name, certificate_pem=cert, private_key_pem=key)
        return cas, certs

    def read_pem(self, file_name: str | None, where: tuple[str, ...], leaf: str, kind: str) -> bytes | None:
        """Read and parse a PEM file; every failure becomes a commit error naming the file."""
        if file_name is None:
            return None
        path = Path(file_name)
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.problem(f"cannot read {kind} file {file_name}: {exc.strerror or exc}", where, leaf)
            return None
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        try:
            if kind == "certificate":
                x509.load_pem_x509_certificate(data)
            else:
                serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.problem(f"{kind} file {file_name} is not a valid PEM {kind}: {reason}", where, leaf)
            return None
        return data

    # ------------------------------------------------------------------------------------- IKE
    def ike_proposal(self, name: str, entry) -> IkeProposal:
        encryption = _text(entry, "encryption-algorithm") or IkeProposal.encryption_algorithm
        default_auth = None if encryption.endswith("-gcm") else IkeProposal.authentication_algorithm
        return IkeProposal(
            name=name,
            authentication_method=_text(entry, "authentication-method") or IkeProposal.authentication_method,
            dh_group=_text(entry, "dh-group") or IkeProposal.dh_group,
            authentication_algorithm=_text(entry, "authentication-algorithm") or default_auth,
            encryption_algorithm=encryption,
            lifetime_seconds=_int(entry, "lifetime-seconds", IkeProposal.lifetime_seconds),
        )

    def ike_policy(self, name: str, entry, proposals: dict[str, IkeProposal]) -> IkePolicy:
        psk = None
        key = _kid(entry, "pre-shared-key")
        if key is not None:
            psk = self.secret(key, ("security", "ike", "policy", name), "pre-shared-key")
        return IkePolicy(
            name=name,
            mode=_text(entry, "mode") or "main",
            proposals=tuple(proposals[p] for p in _texts(entry, "proposals") if p in proposals),
            pre_shared_key=psk,
            local_certificate=_text(_kid(entry, "certificate"), "local-certificate"),
            reauth_frequency=_int(entry, "reauth-frequency"),
        )

    def secret(self, key, where: tuple[str, ...], leaf: str) -> bytes | None:
        """A ``{ascii-text | hexadecimal}`` choice, ``$9$``-decoded, as bytes."""
        ascii_text, hexadecimal = _text(key, "ascii-text"), _text(key, "hexadecimal")
        try:
            if ascii_text is not None:
                return self.decode_secret(ascii_text).encode("utf-8")
            if hexadecimal is not None:
                digits = self.decode_secret(hexadecimal).strip()
                digits = digits[2:] if digits.lower().startswith("0x") else digits
                return bytes.fromhex(digits)
        except ValueError as exc:
            self.problem(f"invalid {leaf}: {exc}", where, leaf)
        return None

    def ike_gateway(self, name: str, entry, policies: dict[str, IkePolicy], logical) -> IkeGateway | None:
        policy = policies.get(_text(entry, "ike-policy") or "")
        where = ("security", "ike", "gateway", name)
        if policy is None:  # YANG validation refuses this; keep the compiler total anyway
            self.problem("Referenced IKE policy must be defined under [edit security ike policy]", where, "ike-policy")
            return None
        addresses = _texts(entry, "address")
        external = _text(entry, "external-interface")
        external = _ifl_name(external) if external else None
        dpd = None
        dpd_node = _kid(entry, "dead-peer-detection")
        if dpd_node is not None:
            mode = next((m for m in ("always-send", "probe-idle-tunnel", "optimized") if _has(dpd_node, m)), "optimized")
            dpd = DeadPeerDetection(mode=mode, interval=_int(dpd_node, "interval", DeadPeerDetection.interval),
                                    threshold=_int(dpd_node, "threshold", DeadPeerDetection.threshold))
        fragmentation = _kid(entry, "fragmentation")
        local = _text(entry, "local-address")
        local_address = ipaddress.ip_address(local) if local else self.address_of(logical.get(external), addresses)
        return IkeGateway(
            name=name,
            policy=policy,
            addresses=addresses,
            external_interface=external,
            local_address=local_address,
            version=_text(entry, "version") or "v1-only",  # Junos default; VPNs need v2-only (validated)
            dead_peer_detection=dpd,
            nat_keepalive=_int(entry, "nat-keepalive", IkeGateway.nat_keepalive),
            no_nat_traversal=_has(entry, "no-nat-traversal"),
            local_identity=self.identity(_kid(entry, "local-identity")),
            remote_identity=self.identity(_kid(entry, "remote-identity")),
            fragmentation=not _has(fragmentation, "disable"),
            fragmentation_size=_int(fragmentation, "size"),
        )

    @staticmethod
    def address_of(ifl: LogicalInterface | None, remote: tuple[str, ...]) -> IpAddress | None:
        """The local tunnel endpoint: the first address of the external interface, in the remote's family."""
        if ifl is None:
            return None
        want_v6 = False
        if remote:
            if ":" in remote[0]:  # only an IPv6 literal has a colon (host names and IPv4 cannot)
                want_v6 = True
            elif not ifl.inet and ifl.inet6:  # a host name takes IPv6 when the interface has only IPv6
                want_v6 = not _is_ipv4(remote[0])
        candidates = ifl.inet6 if want_v6 else ifl.inet
        return candidates[0].ip if candidates else None

    @staticmethod
    def identity(node) -> IkeIdentity | None:
        if node is None:
            return None
        for kind, leaf in (("inet", "identity-ipv4"), ("inet6", "identity-ipv6"), ("hostname", "identity-hostname"),
                           ("user-at-hostname", "identity-user")):
            choice = _kid(node, kind)
            if choice is not None:
                return IkeIdentity(kind=kind, value=_text(choice, leaf) or (choice.text or "").strip() or None)
        dn = _kid(node, "distinguished-name")
        if dn is not None:
            return IkeIdentity(kind="distinguished-name", dn_container=_text(dn, "container"),
                               dn_wildcard=_text(dn, "wildcard"))
        return None

    # ------------------------------------------------------------------------------------- IPsec
    def ipsec_proposal(self, name: str, entry) -> IpsecProposal:
        return IpsecProposal(
            name=name,
            protocol=_text(entry, "protocol") or "esp",
            encryption_algorithm=_text(entry, "encryption-algorithm") or IpsecProposal.encryption_algorithm,
            authentication_algorithm=_text(entry, "authentication-algorithm"),
            lifetime_seconds=_int(entry, "lifetime-seconds", IpsecProposal.lifetime_seconds),
            lifetime_kilobytes=_int(entry, "lifetime-kilobytes"),
        )

    def ipsec_policy(self, name: str, entry, proposals: dict[str, IpsecProposal]) -> IpsecPolicy:
        return IpsecPolicy(
            name=name,
            proposals=tuple(proposals[p] for p in _texts(entry, "proposals") if p in proposals),
            pfs_group=_text(_kid(entry, "perfect-forward-secrecy"), "keys"),
        )

    def service_set(self, name: str, entry) -> ServiceSet:
        hop = _kid(entry, "next-hop-service")
        encap = _kid(entry, "udp-encapsulation")
        return ServiceSet(
            name=name,
            inside_service_interface=_text(hop, "inside-service-interface"),
            outside_service_interface=_text(hop, "outside-service-interface"),
            ipsec_vpn=_text(entry, "ipsec-vpn"),
            udp_encapsulation=(UdpEncapsulation(_int(encap, "destination-port", DEFAULT_UDP_ENCAP_PORT))
                               if encap is not None else None),
        )

    def vpns(self, ipsec, gateways, policies, service_sets, logical) -> dict[str, IpsecVpn]:
        entries = _entries(ipsec, "vpn")
        indices = self.tunnel_indices(entries)
        by_vpn = {s.ipsec_vpn: s for s in service_sets.values() if s.ipsec_vpn}
        result = {}
        for name, entry in entries:
            where = ("security", "ipsec", "vpn", name)
            ike = _kid(entry, "ike")
            manual_node = _kid(entry, "manual")
            manual = self.manual_sa(manual_node, where, logical) if manual_node is not None else None
            selectors = [TrafficSelector(ts, ipaddress.ip_network(_text(t, "local-ip"), strict=False),
                                         ipaddress.ip_network(_text(t, "remote-ip"), strict=False))
                         for ts, t in _entries(entry, "traffic-selector")
                         if _text(t, "local-ip") and _text(t, "remote-ip")]
            proxy = _kid(ike, "proxy-identity")
            if proxy is not None and not selectors:  # proxy-identity is the single-selector form
                local, remote = _text(proxy, "local"), _text(proxy, "remote")
                selectors.append(TrafficSelector("proxy-identity",
                                                 ipaddress.ip_network(local or "0.0.0.0/0", strict=False),
                                                 ipaddress.ip_network(remote or "0.0.0.0/0", strict=False)))
            service_set = by_vpn.get(name)
            result[name] = IpsecVpn(
                name=name,
                bind_interface=_text(entry, "bind-interface"),
                tunnel_index=indices[name],
                gateway=gateways.get(_text(ike, "gateway") or "") if ike is not None else None,
                ipsec_policy=policies.get(_text(ike, "ipsec-policy") or "") if ike is not None else None,
                manual=manual,
                establish_tunnels=_text(entry, "establish-tunnels") or "on-traffic",
                traffic_selectors=tuple(selectors),
                df_bit=_text(entry, "df-bit") or "copy",
                tunnel_mtu=_int(entry, "tunnel-mtu"),
                anti_replay_window=0 if _has(ike, "no-anti-replay") else _int(entry, "anti-replay-window-size", 64),
                extended_sequence_number=_has(entry, "extended-sequence-number"),
                udp_encapsulation=service_set.udp_encapsulation if service_set else None,
                service_set=service_set.name if service_set else None,
            )
        return result

    def tunnel_indices(self, entries) -> dict[str, int]:
        """500000 + st0 unit; a VPN that cannot have it (no st0 binding, or a unit another VPN took first
        in name order) keeps the index it had in the running intent, else gets the lowest free index above
        every st0-derived one. Deterministic for a given (configuration, previous intent)."""
        indices: dict[str, int] = {}
        taken: set[int] = set()
        leftovers = []
        for name, entry in sorted(entries, key=lambda item: item[0]):
            bind = _text(entry, "bind-interface") or ""
            ifd, _, unit = bind.partition(".")
            if ifd == "st0" and unit.isdigit() and int(unit) <= MAX_ST0_UNIT:
                index = TUNNEL_INDEX_BASE + int(unit)
                if index not in taken:
                    indices[name] = index
                    taken.add(index)
                    continue
            leftovers.append(name)
        previous = self.previous.ipsec_vpns if self.previous is not None else {}
        for name in leftovers:
            old = previous.get(name)
            if old is not None and old.tunnel_index >= FALLBACK_INDEX_BASE and old.tunnel_index not in taken:
                indices[name] = old.tunnel_index
                taken.add(old.tunnel_index)
        candidate = FALLBACK_INDEX_BASE
        for name in leftovers:
            if name in indices:
                continue
            while candidate in taken:
                candidate += 1
            indices[name] = candidate
            taken.add(candidate)
        return indices

    def manual_sa(self, node, where: tuple[str, ...], logical) -> ManualSa | None:
        encryption = _kid(node, "encryption")
        algorithm = _text(encryption, "algorithm") or "aes-256-gcm"
        key_node = _kid(encryption, "key")
        key = self.secret(key_node, (*where, "manual", "encryption"), "key") if key_node is not None else None
        expected = GCM_KEY_BYTES.get(algorithm, 0) + 4
        if key is None:
            self.problem("manual SA needs an encryption key", (*where, "manual", "encryption"), "key")
            return None
        if len(key) != expected:
            self.problem(f"key for {algorithm} must be {expected} bytes ({expected - 4}-byte key and 4-byte salt),"
                         f" not {len(key)}", (*where, "manual", "encryption"), "key")
            return None
        external = _text(node, "external-interface")
        external = _ifl_name(external) if external else None
        gateway = ipaddress.ip_address(_text(node, "gateway"))
        return ManualSa(
            gateway=gateway,
            external_interface=external,
            local_address=self.address_of(logical.get(external), (str(gateway),)),
            spi=_int(node, "spi"),
            encryption_algorithm=algorithm,
            key=key,
        )
