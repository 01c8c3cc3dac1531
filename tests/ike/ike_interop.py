"""Helpers for the strongSwan interop tests of the IKE daemon.

Our daemon runs on its own asyncio loop in a background thread, with its UDP sockets created inside the left
network namespace (the test process itself stays in the host namespace); charon runs in the right one.
Independent checks: charon's own logged keys, scapy's ``SecurityAssociation`` building and opening ESP with our
keys, and tshark decrypting the captured IKE with our keys.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any

from netconf_device import sa as contract
from netconf_device.config.intent import Intent
from netconf_device.ike import message as m
from netconf_device.ike.daemon import IkeDaemon
from netconf_device.ike.options import EngineOptions
from netconf_device.interop.charon_log import EspSaKeys, IkeSaKeys

_ENCR = {(m.ENCR_AES_CBC, 128): "AES_CBC_128", (m.ENCR_AES_CBC, 192): "AES_CBC_192",
         (m.ENCR_AES_CBC, 256): "AES_CBC_256", (m.ENCR_AES_GCM_16, 128): "AES_GCM_16_128",
         (m.ENCR_AES_GCM_16, 256): "AES_GCM_16_256", (m.ENCR_3DES, None): "3DES_CBC"}
_INTEG = {m.INTEG_HMAC_SHA1_96: "HMAC_SHA1_96", m.INTEG_HMAC_SHA2_256_128: "HMAC_SHA2_256_128",
          m.INTEG_HMAC_SHA2_384_192: "HMAC_SHA2_384_192", m.INTEG_HMAC_SHA2_512_256: "HMAC_SHA2_512_256",
          m.INTEG_HMAC_MD5_96: "HMAC_MD5_96"}
_PRF = {m.PRF_HMAC_SHA1: "PRF_HMAC_SHA1", m.PRF_HMAC_SHA2_256: "PRF_HMAC_SHA2_256",
        m.PRF_HMAC_SHA2_384: "PRF_HMAC_SHA2_384", m.PRF_HMAC_SHA2_512: "PRF_HMAC_SHA2_512"}
_GROUP = {14: "MODP_2048", 19: "ECP_256", 20: "ECP_384", 21: "ECP_521", 31: "CURVE_25519"}


class DaemonThread:
    """An IkeDaemon on a private event loop thread; every call is marshalled onto that loop."""

    def __init__(self, options: EngineOptions, bind_addresses=(), socket_factory: Callable | None = None):
        self.events: list = []
        self.esp_in: list[tuple] = []  # (src, sport, dst, dport, payload) ESP-in-UDP that reached our sockets
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ike-daemon", daemon=True)
        self._thread.start()
        self.daemon = self.call(lambda: IkeDaemon(options, bind_addresses=bind_addresses, ipv6=False,
                                                  on_event=self._event, on_esp=self._esp,
                                                  socket_factory=socket_factory))
        self.run(self.daemon.start())

    def _event(self, ev) -> None:
        with self._lock:
            self.events.append(ev)

    def _esp(self, *args) -> None:
        with self._lock:
            self.esp_in.append(args)

    def call(self, fn: Callable[[], Any]) -> Any:
        fut: asyncio.Future = asyncio.run_coroutine_threadsafe(_wrap(fn), self._loop)
        return fut.result(timeout=30)

    def run(self, coro) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def apply(self, intent: Intent) -> None:
        self.call(lambda: self.daemon.apply_intent(intent))

    def installed(self) -> list[contract.ChildSa]:
        live: dict[int, contract.ChildSa] = {}
        with self._lock:
            for ev in self.events:
                if isinstance(ev, contract.ChildSaInstalled):
                    live[ev.sa.spi_in] = ev.sa
                elif isinstance(ev, contract.ChildSaDeleted):
                    live.pop(ev.spi_in, None)
        return list(live.values())

    def wait(self, what: str, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_children(self, count: int = 1, exclude: tuple[int, ...] = (), timeout: float = 15.0):
        return self.wait(f"{count} child SA(s)", lambda: (lambda c: c if len(c) >= count else None)(
            [c for c in self.installed() if c.spi_in not in exclude]), timeout)

    def ike_sas(self):
        return self.call(lambda: [s for s in self.daemon.engine.sas.values() if s.state == "ESTABLISHED"])

    def ike_keys(self) -> list[IkeSaKeys]:
        """Our established IKE SAs' keys in the form tshark is given them."""
        return self.call(lambda: [ike_sa_keys(s) for s in self.daemon.engine.sas.values() if s.keys is not None])

    def stop(self) -> None:
        try:
            self.run(self.daemon.stop(graceful=False))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()


async def _wrap(fn):
    return fn()


def ike_sa_keys(sa) -> IkeSaKeys:
    a = sa.algs
    parts = [_ENCR[(a.encr, a.encr_bits)]]
    if a.integ:
        parts.append(_INTEG[a.integ])
    parts += [_PRF[a.prf], _GROUP.get(a.dh_group, str(a.dh_group))]
    k = sa.keys
    return IkeSaKeys(f"ours[{sa.index}]", int.from_bytes(sa.spi_i, "big"), int.from_bytes(sa.spi_r, "big"),
                     "IKE:" + "/".join(parts), k.sk_d, k.sk_ai, k.sk_ar, k.sk_ei, k.sk_er, k.sk_pi, k.sk_pr)


def esp_keys(child: contract.ChildSa) -> list[EspSaKeys]:
    bits = {"aes-128-gcm": 128, "aes-256-gcm": 256}[child.encryption_algorithm]
    prop = f"ESP:AES_GCM_16_{bits}/NO_EXT_SEQ"
    local, remote = str(child.local_address), str(child.remote_address)
    return [EspSaKeys(child.spi_out, local, remote, prop, child.key_out, b""),
            EspSaKeys(child.spi_in, remote, local, prop, child.key_in, b"")]


def scapy_esp(child: contract.ChildSa, inner_src: str, inner_dst: str, seq: int = 1, outbound: bool = True):
    """A scapy SecurityAssociation for one direction of our child SA (built from our keys only)."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.ipsec import ESP, SecurityAssociation

    local, remote = str(child.local_address), str(child.remote_address)
    enc = child.encap
    if outbound:
        tunnel, udp = IP(src=local, dst=remote), (UDP(sport=enc.source_port, dport=enc.destination_port)
                                                 if enc else None)
        return SecurityAssociation(ESP, spi=child.spi_out, seq_num=seq, crypt_algo="AES-GCM",
                                   crypt_key=child.key_out, crypt_icv_size=child.icv_length,
                                   tunnel_header=tunnel, nat_t_header=udp)
    tunnel, udp = IP(src=remote, dst=local), (UDP(sport=enc.destination_port, dport=enc.source_port)
                                             if enc else None)
    return SecurityAssociation(ESP, spi=child.spi_in, crypt_algo="AES-GCM", crypt_key=child.key_in,
                               crypt_icv_size=child.icv_length, tunnel_header=tunnel, nat_t_header=udp)


def esp_ping_payloads(child: contract.ChildSa, inner_src: str, inner_dst: str, count: int = 3) -> list[bytes]:
    """ESP (the UDP payload, no marker) carrying ICMP echo requests, encrypted by scapy with our outbound key."""
    from scapy.layers.inet import ICMP, IP, UDP

    sa = scapy_esp(child, inner_src, inner_dst)
    out = []
    for i in range(count):
        pkt = sa.encrypt(IP(src=inner_src, dst=inner_dst) / ICMP(id=0x4e44, seq=i + 1) / (b"netconf-device" * 4))
        pkt = IP(bytes(pkt))
        out.append(bytes(pkt[UDP].payload) if UDP in pkt else bytes(pkt.payload))
    return out


def open_esp(child: contract.ChildSa, payload: bytes, src: str, sport: int, dst: str, dport: int):
    """Decrypt ESP-in-UDP that reached us with scapy and our inbound key; returns the inner IP packet."""
    from scapy.layers.inet import IP, UDP

    sa = scapy_esp(child, "", "", outbound=False)
    pkt = IP(src=src, dst=dst, proto=17) / UDP(sport=sport, dport=dport) / payload
    pkt = IP(bytes(pkt))
    return sa.decrypt(pkt)


def addr(text: str):
    return ipaddress.ip_address(text)
