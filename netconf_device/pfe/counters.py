"""PFE counters: IPsec statistics (global and per tunnel index) and interface traffic statistics.

Field names follow Junos' ``usp-ipsec-total-statistics-information`` (reference/junos-xml.md section 1.6)
with dashes turned into underscores, so a renderer maps them one to one. Every error drop also counts
in ``discard_errors`` (the cSRX capture shows ``TS check fail: 129`` with ``Discarded: 129``).

The hot path increments plain ``int`` slots on the tunnel's ``IpsecCounters`` object (one attribute add
per group of packets, not a dictionary update per packet). A snapshot never goes backwards except after
``clear``: counters of a removed tunnel are folded into a retired total that the global view keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The error fields that a drop may name; each such drop also increments ``discard_errors``.
DROP_FIELDS = (
    "replay_errors",
    "esp_authentication_failures",
    "esp_decryption_failures",
    "bad_headers",
    "bad_trailers",
    "invalid_spi_errors",
    "ts_check_fail_errors",
    "exceeds_tunnel_mtu",
)
ERROR_FIELDS = frozenset(DROP_FIELDS)

#: Every counter, in the reply's element order.
IPSEC_FIELDS = (
    "esp_encrypted_bytes",
    "esp_decrypted_bytes",
    "esp_encrypted_packets",
    "esp_decrypted_packets",
    "ah_input_bytes",
    "ah_output_bytes",
    "ah_input_packets",
    "ah_output_packets",
    "ah_authentication_failures",
    *DROP_FIELDS,
    "discard_errors",
)

#: Our counter names -> the fields of ``show.views.IpsecStatisticsView`` (the show commands' typed view):
#: the same name except these.
_VIEW_NAMES = {
    "esp_encrypted_bytes": "encrypted_bytes",
    "esp_decrypted_bytes": "decrypted_bytes",
    "esp_encrypted_packets": "encrypted_packets",
    "esp_decrypted_packets": "decrypted_packets",
    "invalid_spi_errors": "invalid_spi",
    "ts_check_fail_errors": "ts_check_failures",
    "discard_errors": "discarded",
}
STATISTICS_VIEW_FIELDS = {name: _VIEW_NAMES.get(name, name) for name in IPSEC_FIELDS}


def statistics_view_kwargs(snapshot: dict[str, int]) -> dict[str, int]:
    """Keyword arguments for ``IpsecStatisticsView`` from an ``ipsec_statistics()`` snapshot."""
    return {STATISTICS_VIEW_FIELDS[name]: value for name, value in snapshot.items() if name in STATISTICS_VIEW_FIELDS}


#: Drop reasons for the seed's UDP-encapsulation rules, counted separately (and also as bad headers).
UDP_ENCAP_DROP_REASONS = (
    "udp_encap_missing_udp_header",  # encapsulation on, packet arrived as plain ESP (protocol 50)
    "udp_encap_port_mismatch",  # encapsulation on, UDP destination port differs from the configured one
    "udp_encap_port_not_500",  # encapsulation on with no port configured, destination port is not 500
)


class IpsecCounters:
    """One set of ``usp-ipsec-total-statistics-information`` counters (plus the UDP-encap drop reasons)."""

    __slots__ = IPSEC_FIELDS + UDP_ENCAP_DROP_REASONS

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` dropped packets under ``reason`` and in ``discard_errors``."""
        if reason in UDP_ENCAP_DROP_REASONS:
            setattr(self, reason, getattr(self, reason) + count)
            reason = "bad_headers"
        if reason != "discard_errors":
            setattr(self, reason, getattr(self, reason) + count)
        self.discard_errors += count

    def add_to(self, total: IpsecCounters) -> None:
        for name in self.__slots__:
            setattr(total, name, getattr(total, name) + getattr(self, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


INTERFACE_FIELDS = (
    "input_packets",
    "input_bytes",
    "output_packets",
    "output_bytes",
    "input_errors",
    "input_drops",
    "output_errors",
    "output_drops",
)


class InterfaceCounters:
    """Traffic statistics of one logical interface (``show interfaces ... statistics``)."""

    __slots__ = INTERFACE_FIELDS

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def add_to(self, total: InterfaceCounters) -> None:
        for name in self.__slots__:
            setattr(total, name, getattr(total, name) + getattr(self, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass
class CounterStore:
    """Owns every counter object of one PFE; the datapath keeps direct references for the hot path."""

    #: Errors that belong to no tunnel (unknown SPI, malformed packets before an SA is known).
    unattributed: IpsecCounters = field(default_factory=IpsecCounters)
    tunnels: dict[int, IpsecCounters] = field(default_factory=dict)
    #: Totals of tunnels that were removed, so the global view never goes backwards.
    retired: IpsecCounters = field(default_factory=IpsecCounters)
    interfaces: dict[str, InterfaceCounters] = field(default_factory=dict)

    def tunnel(self, tunnel_index: int) -> IpsecCounters:
        counters = self.tunnels.get(tunnel_index)
        if counters is None:
            counters = self.tunnels[tunnel_index] = IpsecCounters()
        return counters

    def retire_tunnel(self, tunnel_index: int) -> None:
        counters = self.tunnels.pop(tunnel_index, None)
        if counters is not None:
            counters.add_to(self.retired)

    def interface(self, name: str) -> InterfaceCounters:
        counters = self.interfaces.get(name)
        if counters is None:
            counters = self.interfaces[name] = InterfaceCounters()
        return counters

    # ----------------------------------------------------------------------------- snapshots
    def ipsec_snapshot(self, tunnel_index: int | None = None) -> dict[str, int]:
        """Counter values (global when ``tunnel_index`` is None). Raises KeyError for an unknown index."""
        if tunnel_index is not None:
            return self.tunnels[tunnel_index].as_dict()
        total = IpsecCounters()
        self.retired.add_to(total)
        self.unattributed.add_to(total)
        for counters in self.tunnels.values():
            counters.add_to(total)
        return total.as_dict()

    def interface_snapshot(self, name: str | None = None) -> dict[str, dict[str, int]]:
        """Per logical interface counters, plus each physical interface as the sum of its units."""
        result: dict[str, dict[str, int]] = {}
        physical: dict[str, InterfaceCounters] = {}
        for unit_name, counters in self.interfaces.items():
            result[unit_name] = counters.as_dict()
            device = unit_name.split(".", 1)[0]
            if device != unit_name:
                counters.add_to(physical.setdefault(device, InterfaceCounters()))
        for device, counters in physical.items():
            result.setdefault(device, counters.as_dict())
        if name is not None:
            return {name: result[name]} if name in result else {}
        return result

    def clear_ipsec(self, tunnel_index: int | None = None) -> None:
        if tunnel_index is not None:
            if tunnel_index in self.tunnels:
                self.tunnels[tunnel_index].clear()
            return
        self.unattributed.clear()
        self.retired.clear()
        for counters in self.tunnels.values():
            counters.clear()

    def clear_interfaces(self, name: str | None = None) -> None:
        for unit_name, counters in self.interfaces.items():
            if name is None or unit_name == name or unit_name.split(".", 1)[0] == name:
                counters.clear()
