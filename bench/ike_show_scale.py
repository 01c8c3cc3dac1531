#!/usr/bin/env python3
"""What the show commands cost the IKE daemon and the device at scale (an NMS polls 2000 tunnels).

Two in-memory IKE engines establish N tunnels (one IKE SA and one child SA each, the gateways and VPNs of
``bench/ike_setup.py``); the initiator's child SAs are installed in a PFE. Then each show path is timed as the
device's RPCs run it (``live/views.py`` + the Junos XML builders), best of 3:

* IKE: brief listing, ``index N`` (detail), detail listing, active peers;
* IPsec: brief listing, detail listing, ``index N``.

Reference measured in the same run: the full IKE snapshot of every SA (what every IKE listing built before
the brief and per-index forms existed). No sockets, no root.

    python bench/ike_show_scale.py [--tunnels 2000]

Last line: ``ike_show_scale: tunnels=<n> ike_brief_ms=<x> ike_index_ms=<x> ipsec_detail_ms=<x>
full_snapshots_ms=<x>``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from ike_setup import build_intent  # noqa: E402

from netconf_device import sa as contract  # noqa: E402
from netconf_device.config.intent import Intent, diff_intent  # noqa: E402
from netconf_device.ike.daemon import IkeDaemon  # noqa: E402
from netconf_device.ike.engine import Engine  # noqa: E402
from netconf_device.ike.options import EngineOptions  # noqa: E402
from netconf_device.live import views  # noqa: E402
from netconf_device.pfe import Datapath  # noqa: E402
from netconf_device.show import security_xml  # noqa: E402


def establish(n: int) -> tuple[Engine, Intent]:
    responder = Engine(EngineOptions(device_name="r", random_seed=1, cookie_threshold=10 * n))
    initiator = Engine(EngineOptions(device_name="i", random_seed=2))
    intent = build_intent(n, 19, "initiator")
    responder.apply(diff_intent(Intent(), build_intent(n, 19, "responder")), 0.0)
    initiator.apply(diff_intent(Intent(), intent), 0.0)
    now = 0.0
    while sum(1 for sa in initiator.sas.values() if sa.is_up) < n or any(
            not sa.children for sa in initiator.sas.values()):
        moved = False
        for src, dst in ((initiator, responder), (responder, initiator)):
            for datagram in src.datagrams_to_send():
                dst.receive_datagram(datagram, now)
                moved = True
        for engine in (initiator, responder):
            deadline = engine.get_timer()
            if deadline is not None and deadline <= now:
                engine.handle_timer(now)
                moved = True
            while engine.next_event() is not None:
                pass
        if not moved:
            now += 0.01
            if now > 120:
                raise SystemExit("the tunnels did not come up")
    return initiator, intent


def best_ms(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tunnels", type=int, default=2000)
    args = parser.parse_args()
    n = args.tunnels
    started = time.perf_counter()
    engine, intent = establish(n)
    daemon = IkeDaemon(EngineOptions(device_name="i"))
    daemon.engine = engine  # the daemon's show methods, without its sockets and timers
    datapath = Datapath("i")
    datapath.apply_intent(intent)
    for child in list(engine._children.values()):
        datapath.install(contract.ChildSaInstalled(engine._contract_child(child.ike_sa, child)))
    engines = SimpleNamespace(iked=daemon, intent=intent, datapath=datapath, now=lambda: engine.now,
                              is_retiring=datapath.sad.is_retiring)
    print(f"{n} tunnels up in {time.perf_counter() - started:.1f} s (in memory); {len(datapath.sad)} SA pairs "
          f"in the PFE")
    last = max(sa.index for sa in engine.sas.values())
    results = {
        "full IKE snapshots (reference)": best_ms(lambda: engine.ike_sa_snapshots()),
        "IKE brief listing": best_ms(lambda: security_xml.build_ike_security_associations(
            views.ike_sa_views(engines, brief=True), level="brief")),
        "IKE index N": best_ms(lambda: security_xml.build_ike_security_associations(
            views.ike_sa_views(engines, index=last), index=last)),
        "IKE detail listing": best_ms(lambda: security_xml.build_ike_security_associations(
            views.ike_sa_views(engines), level="detail")),
        "IKE active peers": best_ms(lambda: views.active_peer_views(engines)),
        "IPsec brief listing": best_ms(lambda: views.ipsec_tunnel_views(engines, detail=False)),
        "IPsec detail listing": best_ms(lambda: views.ipsec_tunnel_views(engines, detail=True)),
        "IPsec index N": best_ms(lambda: views.ipsec_tunnel_views(engines, only_index=500000 + n)),
    }
    reference = results["full IKE snapshots (reference)"]
    for label, ms in results.items():
        print(f"{label:32s} {ms:8.1f} ms  ({ms / reference:.2f} x the full IKE snapshots)")
    print(f"ike_show_scale: tunnels={n} ike_brief_ms={results['IKE brief listing']:.1f} "
          f"ike_index_ms={results['IKE index N']:.1f} ipsec_detail_ms={results['IPsec detail listing']:.1f} "
          f"full_snapshots_ms={reference:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
