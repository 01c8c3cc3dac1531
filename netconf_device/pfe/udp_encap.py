"""UDP encapsulation of ESP: NAT-T (RFC 3948) and the seed's service-set encapsulation for multipath.

Outbound, NAT-T uses the IKE SA's floated ports with a zero IPv4 checksum; the service-set flavour sends
to the configured destination port (default 500) from a source port in 49152-65535 derived from the
inner flow, so that different inner flows take different ECMP paths and one flow keeps its port.

Inbound, one UDP port can carry both IKE and ESP, so a datagram addressed to the device is classified:

* port 500 (no non-ESP marker convention there): ESP when the first four bytes are the SPI of an SA
  that uses UDP encapsulation and the datagram does not look like an IKE header; IKE otherwise;
* any other IKE/ESP port (4500, custom): four zero bytes (the non-ESP marker) mean IKE, a single 0xFF
  byte is a NAT-keepalive (RFC 3948 2.3), anything else is ESP;
* other ports: ESP only if the SPI belongs to an encapsulating SA (so the port rule can count it).

The seed's drop rules then apply per SA (``inbound_encap_violation``): with encapsulation on, plain ESP
(no UDP header) is dropped, and so is ESP-in-UDP on a destination port other than the configured one
(which is 500 when none is configured). Each reason has its own counter.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Literal

from netconf_device.pfe import ip

IKE_PORT = 500
NAT_T_PORT = 4500
NON_ESP_MARKER = b"\0\0\0\0"
NAT_KEEPALIVE = b"\xff"
FLOW_PORT_BASE = 49152
FLOW_PORT_MASK = 0x3FFF  # 49152 + 0..16383 = 49152..65535

UdpKind = Literal["ike", "ike-marker", "esp", "keepalive", "other"]


def flow_source_port(inner: bytes) -> int:
    """Service-set source port from the inner flow: 49152-65535, the same for every packet of a flow.

    CRC-32 rather than ``hash()``: the port must survive a restart (``hash`` of bytes is randomised).
    """
    return FLOW_PORT_BASE | (zlib.crc32(ip.flow_key(inner)) & FLOW_PORT_MASK)


def looks_like_ike(payload: bytes) -> bool:
    """An IKEv2 header: version 2.0 (RFC 7296 3.1) and a length field equal to the datagram's length."""
    return (
        len(payload) >= 28
        and payload[17] == 0x20
        and int.from_bytes(payload[24:28], "big") == len(payload)
    )


def classify(
    dport: int,
    payload: bytes,
    ike_ports: frozenset[int] | set[int],
    encapsulating_spi: Callable[[int], bool],
) -> UdpKind:
    """What a UDP payload addressed to the device is (see the module docstring)."""
    if dport == IKE_PORT:
        if len(payload) >= 8 and not looks_like_ike(payload) and payload[:4] != NON_ESP_MARKER:
            if encapsulating_spi(int.from_bytes(payload[:4], "big")):
                return "esp"
        return "ike"
    if dport in ike_ports:
        if payload[:4] == NON_ESP_MARKER:
            return "ike-marker"
        if payload == NAT_KEEPALIVE:
            return "keepalive"
        return "esp"
    if len(payload) >= 8 and encapsulating_spi(int.from_bytes(payload[:4], "big")):
        return "esp"
    return "other"


def inbound_encap_violation(sa_encap: str | None, expected_port: int, port_configured: bool,
                            udp_dport: int | None) -> str | None:
    """The counter to drop an inbound ESP packet under, or None when its encapsulation is acceptable.

    ``udp_dport`` is None for plain ESP (IP protocol 50).
    """
    if sa_encap is None:
        # An SA negotiated without encapsulation only accepts plain ESP.
        return None if udp_dport is None else "bad_headers"
    if udp_dport is None:
        return "udp_encap_missing_udp_header"
    if udp_dport != expected_port:
        if sa_encap == "service-set" and not port_configured:
            return "udp_encap_port_not_500"
        return "udp_encap_port_mismatch"
    return None
