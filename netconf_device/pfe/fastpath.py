"""Batched fast paths for the two packets that dominate a tunnel: IPv4 transit into a tunnel, and IPv4
ESP addressed to the device.

``FastTables.run`` classifies a batch in one pass (one dictionary lookup per packet on the destination
or SPI, cached decisions prepared from the general tables), groups packets per SA, and runs one tight
loop per SA with everything in local variables: no per-packet attribute lookups, header templates cached
per (length, DSCP, DF), counters added once per group. Anything unusual (TTL expiry, oversize, options,
lifetimes, sequence numbers near their limit, IPv6 or UDP-encapsulated SAs, ICMP, IKE ...) is handed to
the general per-packet path in ``datapath.py``, which is the reference: both paths produce the same
bytes (``tests/pfe/test_pfe_fastpath.py``). Packets diverted to the general path may leave after the
fast-path packets of the same batch.

Two implementations of the same loops: the C extension ``_espfast`` (built when a compiler is available;
the default then) and the Python code below (always available, the fallback). Both use the same cached
decisions and hand the same packets to the general path; ``FastTables(implementation=...)`` picks one.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag

from netconf_device.pfe import ip
from netconf_device.pfe.esp import NEXT_HEADER_IPV4, OUTER_TTL, PADDING, Drop, parse_plaintext

try:  # the optional C extension (setup.py); without it the Python loops below run
    from netconf_device.pfe import _espfast
except ImportError:  # pragma: no cover - depends on how the package was built
    _espfast = None

if TYPE_CHECKING:
    from netconf_device.pfe.datapath import Datapath

#: Fast-path implementations: the C extension and the pure-Python loops (same packets, same counters).
IMPLEMENTATIONS = ("c", "python")


def native_available() -> bool:
    """Whether the C fast path (``netconf_device.pfe._espfast``) was built and imports."""
    return _espfast is not None


def default_implementation() -> str:
    return "c" if _espfast is not None else "python"

#: Bounded caches of per-destination decisions (cleared when full, rebuilt on any table change).
CACHE_LIMIT = 65536
HEADER_CACHE_LIMIT = 4096

_TTL_PROTO_CHECKSUM = struct.Struct("!BBH").pack
_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s").pack
_IPV4_HEADER_12 = struct.Struct("!BBHHHBBH").pack
#: (TOS, total length, flags+offset, TTL, protocol, checksum) of an IPv4 header in one C call.
_INNER_FIELDS = struct.Struct("!xBHxxHBBH").unpack_from
#: (TOS, total length, flags+offset, ESP sequence number) of an outer IPv4 header with ESP behind it.
_OUTER_FIELDS = struct.Struct("!xBHxxH16xI").unpack_from
_OUTER_FIELDS_UDP = struct.Struct("!xBHxxH24xI").unpack_from
#: (version/IHL, total length, TTL, protocol, checksum, destination) of a decrypted IPv4 packet.
_PLAIN_FIELDS = struct.Struct("!BxHxxxxBBH4x4s").unpack_from
_UDP_HEADER = struct.Struct("!HHHH").pack
#: ESP trailer for an IPv4 inner packet by ``len(inner) & 3``: padding, pad length, next header 4.
_TRAILER_V4 = tuple(PADDING[(2 - n) & 3] + bytes(((2 - n) & 3, NEXT_HEADER_IPV4)) for n in range(4))
#: Bytes added to an inner packet of length n (outer IPv4 + ESP header + IV + trailer + ICV), by n & 3.
_GROWTH_V4 = tuple(20 + 8 + 8 + ((2 - n) & 3) + 2 + 16 for n in range(4))


class FastOut:
    """What the encapsulation loop needs about one outbound SA, resolved once into a tuple of locals."""

    __slots__ = ("pair", "sa", "egress", "wan", "st0", "tunnel", "max_inner", "params", "native")

    def __init__(self, pair, egress_port, st0_port, native: bool = False) -> None:
        sa = pair.outbound
        self.pair = pair
        self.sa = sa
        self.egress = egress_port.physical
        self.wan = egress_port.counters
        self.st0 = st0_port.counters
        self.tunnel = sa.counters
        self.max_inner = min(sa.max_inner, st0_port.mtu)
        udp = sa.encap == "nat-t"
        growth = tuple(g + (8 if udp else 0) for g in _GROWTH_V4)
        df_mode = {"copy": 0, "set": 1, "clear": 2}[sa.df_policy]
        self.params = (
            sa.aead.encrypt, sa.salt_high, sa.spi << 96, sa.spi << 64 if sa.esn else 0, sa.header_cache,
            self.max_inner, self.egress, df_mode, growth, sa.ip_base_sum, sa.local + sa.remote,
            ip.PROTO_UDP if udp else ip.PROTO_ESP, sa.sport if udp else 0, sa.dport,
        )
        self.native = _espfast.Encap(
            encrypt_into=sa.aead.encrypt_into, sa=sa, egress=self.egress, st0=self.st0, tunnel=self.tunnel,
            wan=self.wan, spi=sa.spi, salt=sa.salt, esn=sa.esn, max_inner=self.max_inner, df_mode=df_mode,
            sport=sa.sport if udp else 0, dport=sa.dport if udp else 0, local=sa.local, remote=sa.remote,
            seq_soft=sa.seq_soft,
        ) if native else None


class FastIn:
    """What the decapsulation loop needs about one inbound SA (plain ESP or ESP in UDP)."""

    __slots__ = ("pair", "sa", "st0_port", "st0", "tunnel", "params", "udp_port", "native")

    def __init__(self, pair, native: bool = False) -> None:
        sa = pair.inbound
        self.pair = pair
        self.sa = sa
        self.st0_port = pair.st0
        self.st0 = pair.st0.counters
        self.tunnel = sa.counters
        self.udp_port = sa.encap_port if sa.encap else 0
        offset = 28 if sa.encap else 20  # where the SPI starts (behind a UDP header when encapsulated)
        fields = _OUTER_FIELDS_UDP if sa.encap else _OUTER_FIELDS
        self.params = (sa.aead.decrypt, sa.salt, sa.esn, sa.spi << 64, sa.replay, offset, fields)
        self.native = _espfast.Decap(
            decrypt_into=sa.aead.decrypt_into, sa=sa, replay=sa.replay, tunnel=self.tunnel, st0=self.st0,
            spi=sa.spi, salt=sa.salt, esn=sa.esn, window=sa.replay.size,
            udp_port=self.udp_port if sa.encap else -1,
        ) if native else None


class FastForward:
    """A plain (non-tunnel) egress for decrypted packets."""

    __slots__ = ("egress", "counters", "mtu")

    def __init__(self, port) -> None:
        self.egress = port.physical
        self.counters = port.counters
        self.mtu = port.mtu


class FastTables:
    """Cached fast-path decisions; ``rebuild`` drops them whenever configuration or SAs change."""

    def __init__(self, implementation: str | None = None) -> None:
        if implementation is None:
            implementation = default_implementation()
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"unknown fast-path implementation {implementation!r} (c or python)")
        if implementation == "c" and _espfast is None:
            raise ValueError("the C fast path (netconf_device.pfe._espfast) is not built")
        self.implementation = implementation
        self._native = implementation == "c"
        self.ingress: dict[str, object] = {}
        self.own4: frozenset[bytes] = frozenset()
        self.inbound: dict[bytes, FastIn] = {}
        self.inbound_udp: dict[bytes, FastIn] = {}
        self.tunnel_by_dst: dict[bytes, FastOut | bool] = {}
        self.forward_by_dst: dict[bytes, FastForward | bool] = {}
        self._outs: dict[int, FastOut] = {}
        #: One FastForward per egress port, shared by every destination routed there (cheap per batch).
        self._forwards: dict[str, FastForward] = {}
        #: The C path's mirror of tunnel_by_dst / forward_by_dst by 32-bit address; cleared with them.
        self._dest_cache = _espfast.DestCache() if self._native else None
        #: Packets completed by the fast loops (encrypted + decrypted and forwarded), for tests and tuning.
        self.packets = 0
        #: C objects (Encap/Decap) holding deferred counters, each listed once until flushed (see ``flush``).
        self._dirty: list = []

    # ------------------------------------------------------------------ deferred counters (C only)
    def flush(self) -> None:
        """Write what the C loops deferred (per-SA ESP and st0 counters, ``last_used``) into the Python
        objects. ``Datapath`` calls it before it reads or clears counters, reports activity (every second)
        or changes the configuration. Only the objects the C loops listed since the last flush are visited
        (the list also keeps those of removed SAs until then); one that is freed flushes itself."""
        dirty = self._dirty
        if dirty:
            self._dirty = []
            for native in dirty:
                native.flush()

    def flush_pair(self, pair) -> None:
        """``flush`` before one SA pair's state is read or carried over. It writes back everything listed:
        a rekey or another tunnel's change drops the cached entries (``sas_changed``) while what they
        deferred stays listed, so the pair's own entries cannot be found reliably; the list is short (what
        ran since the last flush) and this is called on rare events only."""
        self.flush()

    def rebuild(self, dp: Datapath) -> None:
        self.ingress = {name: port for name, port in dp.interfaces.ingress.items() if not port.disabled}
        self.own4 = frozenset(address for address in dp.interfaces.own if len(address) == 4)
        self.inbound = {}
        self.inbound_udp = {}
        for pair in dp.sad.pairs.values():
            self._add_inbound(pair)
        self.forward_by_dst = {}
        self._forwards = {}
        self.sas_changed()

    def sa_added(self, pair) -> None:
        """An SA pair was installed: O(1), so that installing 2000 tunnels stays linear."""
        self._add_inbound(pair)
        self.sas_changed()

    def sa_removed(self, pair) -> None:
        key = pair.inbound.spi.to_bytes(4, "big")
        self.inbound.pop(key, None)
        self.inbound_udp.pop(key, None)
        self.sas_changed()

    def sas_changed(self) -> None:
        """Outbound decisions depend on which pair is newest per tunnel: recompute them lazily."""
        self.tunnel_by_dst = {}
        self._outs = {}
        self._clear_dest_cache()

    def _clear_dest_cache(self) -> None:
        """Whenever tunnel_by_dst or forward_by_dst lose entries, the C path's mirror of them goes too."""
        if self._dest_cache is not None:
            self._dest_cache.clear()

    def _add_inbound(self, pair) -> None:
        sa = pair.inbound
        key = sa.spi.to_bytes(4, "big")
        self.inbound.pop(key, None)
        self.inbound_udp.pop(key, None)
        if (pair.st0 is not None and not pair.st0.disabled and not sa.lifetime.limited
                and sa.remote_ts.any4 and sa.local_ts.any4):
            table = self.inbound_udp if sa.encap else self.inbound
            table[key] = FastIn(pair, self._native)

    # ------------------------------------------------------------------ cached decisions
    def _tunnel_decision(self, dp: Datapath, dst: bytes) -> FastOut | bool:
        """The FastOut for a transit destination routed into a tunnel, or False for the general path."""
        decision: FastOut | bool = False
        # Multicast, broadcast and 0/8 are never forwarded (the general path drops them).
        route = dp.routes.lookup(dst) if 0 < dst[0] < 224 else None
        if route is not None and route.kind in ("tunnel", "direct"):
            st0 = dp.interfaces.ports.get(route.interface)
            vpn = dp.vpn_by_st0.get(route.interface)
            pairs = dp.sad.by_tunnel.get(vpn.tunnel_index) if vpn is not None else None
            if st0 is not None and st0.kind == "st0" and not st0.disabled and pairs:
                pair = pairs[0]
                sa = pair.outbound
                # The newest pair carries every IPv4 packet only when its selectors are "any".
                if (sa.local_ts.any4 and sa.remote_ts.any4 and sa.egress is not None and not sa.outer_v6
                        and sa.encap != "service-set" and not (sa.encap and not sa.sport)
                        and not sa.lifetime.limited):
                    decision = self._outs.get(id(pair))
                    if decision is None:
                        decision = self._outs[id(pair)] = FastOut(pair, sa.egress, st0, self._native)
        if len(self.tunnel_by_dst) >= CACHE_LIMIT:
            self.tunnel_by_dst.clear()
            self._clear_dest_cache()
        self.tunnel_by_dst[dst] = decision
        return decision

    def _forward_decision(self, dp: Datapath, dst: bytes) -> FastForward | bool:
        decision: FastForward | bool = False
        route = dp.routes.lookup(dst) if 0 < dst[0] < 224 else None
        if route is not None and route.kind in ("direct", "interface"):
            port = dp.interfaces.ports.get(route.interface)
            if port is not None and port.kind != "st0" and not port.disabled:
                decision = self._forwards.get(port.name)
                if decision is None:
                    decision = self._forwards[port.name] = FastForward(port)
        if len(self.forward_by_dst) >= CACHE_LIMIT:
            self.forward_by_dst.clear()
            self._clear_dest_cache()
        self.forward_by_dst[dst] = decision
        return decision

    def _inbound_udp_for(self, packet: bytes) -> FastIn | None:
        """The fast inbound SA for ESP-in-UDP on the SA's port addressed to the device."""
        if packet[9] != 17 or len(packet) < 36:
            return None
        fast = self.inbound_udp.get(packet[28:32])
        if (fast is None or ((packet[22] << 8) | packet[23]) != fast.udp_port
                or ((packet[24] << 8) | packet[25]) != len(packet) - 20):
            return None  # IKE, a keepalive, a wrong port or a bad UDP length: the general path decides
        if fast.udp_port == 500 and packet[45:46] == b"\x20":
            return None  # could be an IKE header (version byte): let the general demultiplexer look
        return fast

    # ------------------------------------------------------------------ the batch
    def run(self, dp: Datapath, packets: list, now: float, out: list) -> list:
        """Process what the fast paths can; returns the packets left for the general path."""
        slow: list = []
        diverted: list = []  # already counted at ingress
        if self._native:
            self.packets += _espfast.run(self, dp, packets, now, out, slow, diverted)
            self._divert(dp, diverted, out)
            return slow
        encap_groups: dict[FastOut, list] = {}
        decap_groups: dict[FastIn, list] = {}
        ingress = self.ingress
        tunnel_get = self.tunnel_by_dst.get
        inbound_get = self.inbound.get
        own4 = self.own4
        last_name = None
        port = None
        count = 0
        nbytes = 0
        for item in packets:
            ifname, packet = item
            if ifname is not last_name:
                if port is not None and count:
                    port.counters.input_packets += count
                    port.counters.input_bytes += nbytes
                last_name = ifname
                port = ingress.get(ifname)
                count = nbytes = 0
            if port is None or len(packet) < 20 or packet[0] != 0x45:
                slow.append(item)
                continue
            dst = packet[16:20]
            decision = tunnel_get(dst)
            if decision is None:
                decision = self._tunnel_decision(dp, dst)
            if decision:
                group = encap_groups.get(decision)
                if group is None:
                    encap_groups[decision] = [item]
                else:
                    group.append(item)
            elif dst in own4:
                decap = inbound_get(packet[20:24]) if packet[9] == 50 else self._inbound_udp_for(packet)
                if decap is None:
                    slow.append(item)
                    continue
                group = decap_groups.get(decap)
                if group is None:
                    decap_groups[decap] = [item]
                else:
                    group.append(item)
            else:
                slow.append(item)
                continue
            count += 1
            nbytes += len(packet)
        if port is not None and count:
            port.counters.input_packets += count
            port.counters.input_bytes += nbytes
        for fast_out, group in encap_groups.items():
            self._encapsulate(dp, fast_out, group, now, out, diverted)
        for fast_in, group in decap_groups.items():
            self._decapsulate(dp, fast_in, group, now, out, diverted)
        self._divert(dp, diverted, out)
        return slow

    @staticmethod
    def _divert(dp: Datapath, diverted: list, out: list) -> None:
        """Classified packets the fast loops left for the general path (ingress already counted)."""
        if diverted:
            receive = dp._receive
            ports = dp.interfaces.ingress
            for ifname, packet in diverted:
                receive(ports[ifname], packet, out)

    # ------------------------------------------------------------------ encapsulation
    def _encapsulate(self, dp: Datapath, fast: FastOut, group: list, now: float, out: list, diverted: list) -> None:
        sa = fast.sa
        seq = sa.seq
        if seq + len(group) >= sa.seq_soft:
            diverted.extend(group)  # near the sequence limit: the general path allocates and warns
            return
        (encrypt, salt_high, spi_seq, esn_aad, header_cache, max_inner, egress, df_mode, growth, ip_base,
         addresses, proto, udp_sport, udp_dport) = fast.params
        append = out.append
        join = b"".join
        inner_fields = _INNER_FIELDS
        ttl_pack = _TTL_PROTO_CHECKSUM
        header_pack = _IPV4_HEADER_12
        trailers = _TRAILER_V4
        inner_bytes = 0
        outer_bytes = 0
        sent = 0
        for item in group:
            packet = item[1]
            n = len(packet)
            tos, length, flags, ttl, inner_proto, checksum = inner_fields(packet)
            if length != n or n > max_inner or ttl <= 1 or int.from_bytes(packet[:20], "big") % 0xFFFF:
                diverted.append(item)  # malformed, expiring or too big: the general path decides
                continue
            seq += 1
            total = n + growth[n & 3]
            if (flags & 0x4000 if df_mode == 0 else df_mode == 1):
                header = header_cache.get((total << 8) | tos)
                if header is None:
                    header = _outer_header(sa, total, tos, 0x4000, 0, udp_sport, udp_dport)
                    if len(header_cache) >= HEADER_CACHE_LIMIT:
                        header_cache.clear()
                    header_cache[(total << 8) | tos] = header
            else:
                # No DF: the ID varies (low sequence bits), so the checksum is summed here (RFC 1071).
                ident = seq & 0xFFFF
                word = ip_base + tos + total + ident
                word = (word & 0xFFFF) + (word >> 16)
                word = (word & 0xFFFF) + (word >> 16)
                header = header_pack(0x45, tos, total, ident, 0, OUTER_TTL, proto, word ^ 0xFFFF) + addresses
                if udp_sport:
                    header += _UDP_HEADER(udp_sport, udp_dport, total - 20, 0)
            esp = (spi_seq | (seq & 0xFFFFFFFF) << 64 | seq).to_bytes(16, "big")
            checksum += 0x100
            append((egress, join((header, esp, encrypt(
                (salt_high | seq).to_bytes(12, "big"),
                join((packet[:8], ttl_pack(ttl - 1, inner_proto, (checksum + (checksum >> 16)) & 0xFFFF),
                      packet[12:], trailers[n & 3])),
                (esn_aad | seq).to_bytes(12, "big") if esn_aad else esp[:8])))))
            sent += 1
            inner_bytes += n
            outer_bytes += total
        if not sent:
            return
        self.packets += sent
        sa.seq = seq
        sa.last_used = now
        st0 = fast.st0
        st0.output_packets += sent
        st0.output_bytes += inner_bytes
        tunnel = fast.tunnel
        tunnel.esp_encrypted_packets += sent
        tunnel.esp_encrypted_bytes += outer_bytes
        wan = fast.wan
        wan.output_packets += sent
        wan.output_bytes += outer_bytes

    # ------------------------------------------------------------------ decapsulation
    def _decapsulate(self, dp: Datapath, fast: FastIn, group: list, now: float, out: list, diverted: list) -> None:
        decrypt, salt, esn, spi64, replay, offset, outer_fields = fast.params
        tunnel = fast.tunnel
        size = replay.size
        top = replay.top
        bitmap = replay.bitmap
        mask = replay.mask
        forward_get = self.forward_by_dst.get
        append = out.append
        join = b"".join
        plain_fields = _PLAIN_FIELDS
        ttl_pack = _TTL_PROTO_CHECKSUM
        padding = PADDING
        minimum = offset + 54  # ESP header, IV, a 20-byte inner header, trailer, ICV
        aligned = offset + 32
        iv_at, data_at, seq_end = offset + 8, offset + 16, offset + 8
        general: list = []  # authenticated inner packets that need the general path
        received = 0
        inner_bytes = 0
        last_forward = None
        forward_packets = 0
        forward_bytes = 0
        done = 0
        for item in group:
            packet = item[1]
            length = len(packet)
            if length < minimum:
                diverted.append(item)
                continue
            tos, total, flags, seq = outer_fields(packet)
            if (total != length or flags & 0x3FFF or (length - aligned) & 3
                    or int.from_bytes(packet[:20], "big") % 0xFFFF):
                diverted.append(item)  # malformed, fragment or odd: the general path counts it
                continue
            if esn:
                replay.top = top
                seq = replay.infer(seq)
                aad = (spi64 | seq).to_bytes(12, "big")
            else:
                aad = packet[offset:seq_end]
            if size and seq <= top and (seq == 0 or top - seq >= size or (bitmap >> (top - seq)) & 1):
                tunnel.replay_errors += 1
                tunnel.discard_errors += 1
                continue
            try:
                plaintext = decrypt(salt + packet[iv_at:data_at], packet[data_at:], aad)
            except InvalidTag:
                tunnel.esp_authentication_failures += 1
                tunnel.discard_errors += 1
                continue
            if seq > top:
                bitmap = ((bitmap << (seq - top)) | 1) & mask if seq - top < size else 1
                top = seq
            elif size:
                bitmap |= 1 << (top - seq)
            end = len(plaintext) - 2
            pad = plaintext[end]
            version, total, ttl, proto, checksum, dst = plain_fields(plaintext)
            if (plaintext[end + 1] != 4 or version != 0x45 or total < 20 or total > end - pad
                    or (pad and plaintext[end - pad:end] != padding[pad])):
                general.append((packet, plaintext, False))  # IPv6, TFC dummy, options, bad padding ...
                continue
            received += 1
            inner_bytes += total
            forward = forward_get(dst)
            if forward is None:
                forward = self._forward_decision(dp, dst)
            if (not forward or ttl <= 1 or total > forward.mtu or tos & 3 == 3
                    or int.from_bytes(plaintext[:20], "big") % 0xFFFF):
                general.append((packet, plaintext[:total], True))  # (the last test: the inner checksum)
                continue
            checksum += 0x100
            append((forward.egress, join((plaintext[:8], ttl_pack(ttl - 1, proto, (checksum + (checksum >> 16)) & 0xFFFF),
                                          plaintext[12:total]))))
            if forward is not last_forward:
                if last_forward is not None:
                    last_forward.counters.output_packets += forward_packets
                    last_forward.counters.output_bytes += forward_bytes
                last_forward = forward
                forward_packets = forward_bytes = 0
            forward_packets += 1
            forward_bytes += total
            done += 1
        self.packets += done
        replay.top = top
        replay.bitmap = bitmap
        if last_forward is not None:
            last_forward.counters.output_packets += forward_packets
            last_forward.counters.output_bytes += forward_bytes
        st0 = fast.st0
        sa = fast.sa
        if received:
            sa.last_used = now
            tunnel.esp_decrypted_packets += received
            tunnel.esp_decrypted_bytes += inner_bytes
            st0.input_packets += received
            st0.input_bytes += inner_bytes
        if general:
            self._finish_decap(dp, fast, general, now, out)

    @staticmethod
    def _finish_decap(dp: Datapath, fast: FastIn, general: list, now: float, out: list) -> None:
        """Authenticated packets of one SA that the decapsulation loop (Python or C) left to the general
        path, in order: ``(outer, inner, True)`` was counted as decrypted already; ``(outer, plaintext,
        False)`` still needs its trailer parsed (``parse_plaintext``) and the traffic-selector check."""
        tunnel = fast.tunnel
        st0 = fast.st0
        sa = fast.sa
        st0_port = fast.st0_port
        for outer, data, counted in general:
            if counted:
                inner = data
            else:  # IPv6 or an unusual IPv4 header: check and count it as the general path would
                try:
                    inner = parse_plaintext(data)
                except Drop as drop:
                    tunnel.drop(drop.reason)
                    continue
                if inner is None:  # a TFC dummy packet
                    continue
                if not sa.permits(inner):
                    tunnel.drop("ts_check_fail_errors")
                    continue
                tunnel.esp_decrypted_packets += 1
                tunnel.esp_decrypted_bytes += len(inner)
                st0.input_packets += 1
                st0.input_bytes += len(inner)
                sa.last_used = now
            dp._receive(st0_port, ip.propagate_ecn(outer, inner), out)


def _outer_header(sa, total: int, tos: int, flags: int, ident: int, udp_sport: int, udp_dport: int) -> bytes:
    """Outer IPv4 header (+ UDP header for NAT-T) of an ESP packet of ``total`` bytes."""
    proto = ip.PROTO_UDP if udp_sport else ip.PROTO_ESP
    header = bytearray(_IPV4_HEADER(0x45, tos, total, ident, flags, OUTER_TTL, proto, 0, sa.local, sa.remote))
    header[10:12] = ip.checksum(header).to_bytes(2, "big")
    if udp_sport:
        return bytes(header) + _UDP_HEADER(udp_sport, udp_dport, total - 20, 0)
    return bytes(header)
