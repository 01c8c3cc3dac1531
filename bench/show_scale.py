#!/usr/bin/env python3
"""Cost of the live show commands on a device with many tunnels (what an NMS poller costs the device).

    python bench/show_scale.py                  # 2000 tunnels (labs/scale-2000's configurations)
    python bench/show_scale.py --tunnels 500 --repeat 5

Method: two devices of labs/scale-2000 run in this process (one event loop, joined by a UDP wire, as in
`netconf-device serve`); once every tunnel is up on peer1, each live RPC handler of peer1 is called
``--repeat`` times and the best CPU time (``time.process_time``) of each stage is kept: building the XML
reply from the engines' state, serializing it, and rendering the CLI text and the JSON from it (what
`<command format="text">` / `| display json` add). NETCONF framing and SSH come on top (measured over
NETCONF in a lab: about 15-20 ms per MB of reply).

Reference, measured in the same run: parsing the serialized reply back with lxml (``etree.fromstring``),
i.e. the C-speed cost of producing exactly that element tree; the ratio says how far above it the
builder is. The last line is the IPsec brief listing (the common full poll):
    show_scale: tunnels=<n> ipsec_brief_ms=<ms> ratio=<build / reference>
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from netconf_device.config.datastore import Datastore  # noqa: E402
from netconf_device.device import Device, DeviceOptions  # noqa: E402
from netconf_device.device_cli import load_initial_config  # noqa: E402
from netconf_device.lab.ports import free_udp_ports  # noqa: E402
from netconf_device.live.wirespec import parse_wire  # noqa: E402
from netconf_device.rpc.registry import as_reply  # noqa: E402
from netconf_device.rpc.render import render_reply  # noqa: E402

LAB = ROOT / "labs" / "scale-2000"

REQUESTS = {
    "show security ipsec security-associations": "<get-security-associations-information/>",
    "... detail": "<get-security-associations-information><detail/></get-security-associations-information>",
    "... index N": "<get-security-associations-information><show-index-ipsec-security-association>{index}"
                   "</show-index-ipsec-security-association></get-security-associations-information>",
    "show security ike security-associations": "<get-ike-security-associations-information/>",
    "... detail ": "<get-ike-security-associations-information><detail/></get-ike-security-associations-information>",
    "... index N detail": "<get-ike-security-associations-information><detail/><show-index-ike-security-association>"
                          "{ike_index}</show-index-ike-security-association></get-ike-security-associations-information>",
    "show security ike active-peer": "<get-ike-active-peers-information/>",
    "show security ipsec statistics": "<get-ipsec-statistics-information/>",
    "... index N ": "<get-ipsec-statistics-information><show-index-ipsec-statistics>{index}"
                    "</show-index-ipsec-statistics></get-ipsec-statistics-information>",
    "show security ipsec inactive-tunnels": "<get-inactive-tunnels/>",
    "show interfaces terse": "<get-interface-information><terse/></get-interface-information>",
    "show interfaces st0.N": "<get-interface-information><interface-name>st0.{unit}</interface-name>"
                             "</get-interface-information>",
    "show route": "<get-route-information/>",
}




class _Context:
    login_class = "super-user"

    def __init__(self, device: Device) -> None:
        self.device = device


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        result = fn()
        best = min(best, time.process_time() - t0)
    return best, result


async def measure(tunnels: int, repeat: int, workdir: Path) -> list[tuple[str, dict[str, float], int]]:
    ports = free_udp_ports(2)
    devices = []
    for peer, (local, remote) in ((1, ports), (2, ports[::-1])):
        directory = workdir / f"peer{peer}"
        directory.mkdir()
        config = directory / "peer.set"
        config.write_text(subprocess.run(
            [sys.executable, str(LAB / "generate.py"), "--peer", str(peer), "--tunnels", str(tunnels)],
            capture_output=True, text=True, check=True).stdout)
        options = DeviceOptions(state_dir=str(directory), port=0, wires=(
            parse_wire(f"et-0/2/10=udp:127.0.0.1:{local}:127.0.0.1:{remote}"),))
        device = Device(options, datastore=Datastore(directory), engines=True)
        await device.start_engines()
        device.start_configuration()
        devices.append((device, config))
    for device, config in reversed(devices):  # the responder first, so that nothing waits for a retransmission
        load_initial_config(device.datastore, config)
    for device, _ in devices:
        await device.start()
    peer1 = devices[0][0]
    engines = peer1.engines
    deadline = time.monotonic() + 120
    while sum(bool(engines.datapath.sad.outbound_pairs(v.tunnel_index))
              for v in engines.intent.ipsec_vpns.values()) < tunnels:
        if time.monotonic() > deadline:
            raise SystemExit("show_scale: the tunnels did not come up within 120 s")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # let the last IKE exchanges settle
    ike_indexes = sorted(sa.index for sa in engines.iked.engine.sas.values())
    middle = (tunnels + 1) // 2
    arguments = {"index": 500000 + middle, "unit": middle, "ike_index": ike_indexes[len(ike_indexes) // 2]}
    ctx = _Context(peer1)
    results = []
    for name, template in REQUESTS.items():
        request = etree.fromstring(template.format(**arguments))
        handler = peer1.registry.get(etree.QName(request).localname).handler
        build, reply = best_of(repeat, lambda: handler(ctx, request))  # noqa: B023 - called right here
        serialize, data = best_of(repeat, lambda: etree.tostring(reply))  # noqa: B023
        text, _ = best_of(repeat, lambda: render_reply(as_reply(reply), "text", peer1.registry.text_renderers))  # noqa: B023
        json, _ = best_of(repeat, lambda: render_reply(as_reply(reply), "json", peer1.registry.text_renderers))  # noqa: B023
        reference, _ = best_of(repeat, lambda: etree.fromstring(data))  # noqa: B023
        results.append((name, {"build": build, "serialize": serialize, "text": text, "json": json,
                               "reference": reference}, len(data)))
    for device, _ in devices:
        await device.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunnels", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="calls per stage; the best CPU time is kept")
    args = parser.parse_args(argv)
    import logging
    import os

    logging.basicConfig(level=logging.WARNING)
    load = os.getloadavg()
    print(f"show_scale: {args.tunnels} tunnels, load average {load[0]:.2f}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="show-scale-") as tmp:
        results = asyncio.run(measure(args.tunnels, args.repeat, Path(tmp)))
    print(f"{'command':42s} {'build ms':>9s} {'ratio':>6s} {'ser. ms':>8s} {'text ms':>8s} {'json ms':>8s} {'KB':>7s}")
    for name, t, size in results:
        ratio = t["build"] / t["reference"] if t["reference"] > 0 else float("nan")
        print(f"{name:42s} {t['build'] * 1000:9.1f} {ratio:6.1f} {t['serialize'] * 1000:8.1f} "
              f"{t['text'] * 1000:8.1f} {t['json'] * 1000:8.1f} {size / 1024:7.0f}")
    brief = results[0][1]
    print(f"show_scale: tunnels={args.tunnels} ipsec_brief_ms={brief['build'] * 1000:.1f} "
          f"ratio={brief['build'] / brief['reference']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
