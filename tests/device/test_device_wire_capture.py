"""What two devices put on the wire, captured by tcpdump on their UDP link and decoded by scapy (independent
decoders):
a service set with UDP encapsulation sends ESP in UDP to its configured port with per-flow source ports;
a tunnel MTU smaller than the packets pre-fragments them before encryption, end to end."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
from device_testlib import Vpn, ipsec_sas, settled, statistics, wait_for
from scapy.layers.inet import IP, UDP
from scapy.utils import rdpcap

ENCAP_PORT = 5000


class Capture:
    """tcpdump on the loopback UDP link between the two devices; ``packets`` are (direction, IP packet)."""

    def __init__(self, path, port1: int, port2: int) -> None:
        self.path, self.port1 = path, port1
        self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "--immediate-mode", "-B", "32768", "-U", "-n", "-s", "0", "-w", str(path),
                                      f"udp and (port {port1} or port {port2})"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()  # "listening on lo ..."
        assert "listening" in line, line
        time.sleep(0.5)  # tcpdump says "listening" a moment before its socket sees packets

    def stop(self) -> list[tuple[str, IP]]:
        time.sleep(0.2)
        self.proc.terminate()
        self.summary = self.proc.communicate(timeout=10)[1]
        out = []
        for frame in rdpcap(str(self.path)):
            if UDP in frame:
                out.append(("1>2" if frame[UDP].sport == self.port1 else "2>1", IP(bytes(frame[UDP].payload))))
        return out


def _outer(packets, direction: str, src_prefix: str):
    return [p for d, p in packets if d == direction and p.src.startswith(src_prefix)]


@pytest.mark.root
def test_device_udp_encapsulation_and_tunnel_mtu_on_the_wire(pairs, tmp_path):
    assert shutil.which("tcpdump"), "tcpdump is installed with the test tools (CI installs it)"
    vpns = [Vpn(1, udp_encapsulation=ENCAP_PORT), Vpn(2, tunnel_mtu=600)]
    pair = pairs.start(vpns)
    with pair.peer1.connect() as m1, pair.peer2.connect() as m2:
        wait_for(lambda: 500001 in ipsec_sas(m1) and 500002 in ipsec_sas(m2) and settled(m1, m2, 2),
                 timeout=20, what="both tunnels up")
        detail = m1.command("show security ipsec security-associations index 500001 detail", format="xml")
        assert detail.xpath("//sa-packet-encapsulation-destination-port")[0].text == str(ENCAP_PORT)
        capture = Capture(tmp_path / "wan.pcap", *pair.lab.link_ports("peer1:et-0/2/10"))

        async def traffic(hosts):
            host1, host2 = hosts["host1"], hosts["host2"]
            for flow in range(24):  # 24 inner flows (different UDP source ports) through VPN 1
                host1.send_udp("2.2.1.2", 9000, b"flow %d" % flow, sport=20000 + flow)
            arrived = []
            for _ in range(24):
                packet = await host2.wait_received(timeout=2.0)
                if packet is not None:
                    arrived.append(packet)
            ping1 = await host1.ping("2.2.1.2", count=3, interval=0.02, timeout=2.0)
            big = await host1.ping("2.2.2.2", count=5, interval=0.02, timeout=2.0, size=1400)
            return arrived, ping1, big

        arrived, ping1, big = pair.run_hosts(traffic)
        packets = capture.stop()
        assert len(arrived) == 24 and ping1.received == 3
        assert big.received == 5, big

    # --- VPN 1: every ESP packet rides in UDP to port 5000 from a per-flow port in 49152-65535
    encap = [p for p in _outer(packets, "1>2", "16.1.1.") if UDP in p and p[UDP].dport != 500]
    assert re.search(r"^0 packets dropped by kernel", capture.summary, re.M), capture.summary
    assert len(encap) == 24 + 3
    assert {p[UDP].dport for p in encap} == {ENCAP_PORT}
    sports = {p[UDP].sport for p in encap}
    assert all(49152 <= port <= 65535 for port in sports)
    assert len(sports) >= 10  # different inner flows take different source ports (ECMP entropy)
    flows_of_pings = {p[UDP].sport for p in encap[-3:]}
    assert len(flows_of_pings) == 1  # one inner flow keeps one source port
    assert not [p for p in _outer(packets, "1>2", "16.1.1.") if p.proto == 50]  # no plain ESP for VPN 1
    back = [p for p in _outer(packets, "2>1", "16.1.1.") if UDP in p and p[UDP].dport != 500]
    assert back and {p[UDP].dport for p in back} == {ENCAP_PORT}

    # --- VPN 2: 1428-byte packets into a 600-byte tunnel: fragmented before ESP, never after
    esp2 = [p for p in _outer(packets, "1>2", "16.1.2.") if p.proto == 50]
    assert esp2 and all(len(p) <= 600 for p in esp2)
    assert all(p.flags.MF == 0 and p.frag == 0 for p in esp2)  # outer packets are not fragments
    assert len(esp2) >= 5 * 3  # each 1428-byte echo request needed at least three ESP packets
    with pair.peer2.connect() as m2:
        stats = statistics(m2, 500002)
        assert stats["esp-decrypted-packets"] == len(esp2)  # every fragment decrypted on its own
