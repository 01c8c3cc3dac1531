"""ESP we produce, checked by tshark's ESP dissector (another independent implementation): every ICV
verifies (``esp.icv_good``) and the decrypted inner packets are the ones we sent.

tshark 4.0 has no extended-sequence-number support in its ESP SA table, so ESN traffic is checked by
scapy only (``test_pfe_esp_scapy.py``).
"""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess

import pytest
from pfe_testlib import KEYS, LAN, child_sa, host, make_intent, udp_packet

from netconf_device.config.intent import UdpEncapsulation
from netconf_device.pfe import Datapath
from netconf_device.sa import ChildSaInstalled, UdpEncap

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")

SERVICE_SET_PORT = 5000


def _write_pcap(path, packets: list[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for index, packet in enumerate(packets):
            f.write(struct.pack("<IIII", index, 0, len(packet), len(packet)))
            f.write(packet)


def test_pfe_tshark_verifies_our_esp(tmp_path):
    packets: list[bytes] = []
    expected_payloads: list[str] = []
    uat: list[str] = []
    combos = itertools.product(("aes-128-gcm", "aes-256-gcm"), (4, 6), (4, 6), ("plain", "nat-t", "service-set"))
    for number, (algorithm, inner, outer, encap_name) in enumerate(combos):
        encap = {"plain": None, "nat-t": UdpEncap("nat-t", 4500, 4500),
                 "service-set": UdpEncap("service-set", 0, SERVICE_SET_PORT)}[encap_name]
        intent = make_intent("a", udp_encapsulation=UdpEncapsulation(SERVICE_SET_PORT)
                             if encap_name == "service-set" else None)
        dp = Datapath("a")
        dp.apply_intent(intent)
        child = child_sa("a", outer_version=outer, algorithm=algorithm, encap=encap, spi_offset=number)
        dp.install(ChildSaInstalled(child))
        for size in (1, 200, 1300):
            payload = bytes([number]) * size
            out = dp.process([(LAN, udp_packet(host("a", inner), host("b", inner), payload=payload))], 1.0)
            assert len(out) == 1
            packets.append(out[0][1])
            expected_payloads.append(payload.hex())
        family = "IPv4" if outer == 4 else "IPv6"
        tshark_algorithm = "AES-GCM with 16 octet ICV [RFC4106]"
        key = "0x" + KEYS[(algorithm, "a->b")].hex()
        uat.append(f'"{family}","{child.local_address}","{child.remote_address}","0x{child.spi_out:08x}",'
                   f'"{tshark_algorithm}","{key}","NULL",""')
    pcap = tmp_path / "esp.pcap"
    _write_pcap(pcap, packets)
    command = ["tshark", "-r", str(pcap), "-d", f"udp.port=={SERVICE_SET_PORT},udpencap",
               "-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"]
    for entry in uat:
        command += ["-o", f"uat:esp_sa:{entry}"]
    command += ["-T", "fields", "-E", "separator=|", "-e", "esp.icv_good", "-e", "esp.icv_bad", "-e", "udp.payload"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines()]
    assert len(rows) == len(packets)
    for row, payload in zip(rows, expected_payloads, strict=True):
        icv_good, icv_bad, data = row
        assert (icv_good, icv_bad) == ("1", "0")
        assert data.split(",")[-1] == payload
