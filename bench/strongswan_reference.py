#!/usr/bin/env python3
"""strongSwan reference: time for two charons (kernel-libipsec, two network namespaces) to bring up N IKEv2
tunnels (IKE_SA + CHILD_SA each, PSK). Method: netconf_device/interop/swan_bench.py and
docs/interop-strongswan.md. Needs root and strongSwan.

    python bench/strongswan_reference.py                       # N=100,2000 x ecp256,modp2048
    python bench/strongswan_reference.py --tunnels 100 --ike aes256-sha256-ecp256 --repeat 3

Per combination, the last line is
    strongswan_tunnels: tunnels=<n> seconds=<s> ike=<proposal>
(the median of the runs). Exit status 0 only if every run brought up all tunnels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from netconf_device.interop.swan_bench import measure  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tunnels", type=int, nargs="+", default=[100, 2000])
    ap.add_argument("--ike", nargs="+", default=["aes256-sha256-ecp256", "aes256-sha256-modp2048"])
    ap.add_argument("--esp", default="aes256gcm16")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-ping", action="store_true", help="skip the data-plane check after each run")
    ap.add_argument("--timeout", type=float, default=None, help="per-run limit (default 60 + N/20 s)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("strongswan_reference: needs root (network namespaces, kernel-libipsec)", file=sys.stderr)
        return 2
    ok = True
    for n in args.tunnels:
        for ike in args.ike:
            runs = measure(n, ike, args.esp, repeat=args.repeat, ping=not args.no_ping, timeout=args.timeout)
            for i, r in enumerate(runs, 1):
                print(f"run {i}/{len(runs)}: tunnels={r.established}/{n} seconds={r.seconds:.3f} ike={ike} "
                      f"esp={args.esp} cpu_initiator={r.cpu_initiator}s cpu_responder={r.cpu_responder}s "
                      f"responder_established={r.responder_established} ike_sas={r.ike_sas_initiator}/"
                      f"{r.ike_sas_responder} udp_out={r.udp_out_initiator}/{r.udp_out_responder} "
                      f"(expected {2 * n} each) udp_drops={r.udp_drops} dataplane={r.dataplane_ok}"
                      + (f" errors={list(r.errors)}" if r.errors else ""), flush=True)
            if all(r.ok for r in runs):
                median = statistics.median(r.seconds for r in runs)
                print(f"strongswan_tunnels: tunnels={n} seconds={median:.3f} ike={ike}", flush=True)
            else:
                ok = False
                print(f"strongswan_tunnels: tunnels={n} FAILED ike={ike}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
