#!/usr/bin/env python3
"""Cost of `| display json` (`format="json"`) on the big listings: the IPsec SA listing of N tunnels.

    python bench/json_render.py                 # 2000 tunnels
    python bench/json_render.py --tunnels 500 --repeat 5

The replies are built by the show builders (``netconf_device/show/``) from N synthetic tunnel views, the
shape a device with N tunnels answers (brief: 60,000 elements, detail: 150,000 at 2000 tunnels). Timed
(best CPU time of ``--repeat``): ``rpc.render.to_json``, which writes Junos' layout itself. References in the
same run, on the same tree:

* ``indent``: the convention built as Python dicts and lists, then ``json.dumps(indent=4)`` -- the former
  implementation; with ``indent`` CPython runs its pure-Python encoder;
* ``compact``: the same dicts, then ``json.dumps`` without indent (the C encoder): the cost of merely turning
  the tree into Python objects and those into JSON text at C speed.

Last line: ``json_render: tunnels=<n> brief_ms=<ms> detail_ms=<ms> ratio_vs_indent=<detail ours / indent>
ratio_vs_compact=<detail ours / compact>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from netconf_device.rpc.render import to_json  # noqa: E402
from netconf_device.show.security_xml import build_ipsec_security_associations  # noqa: E402
from netconf_device.show.views import IpsecSaPair, IpsecTunnelView, TunnelEvent  # noqa: E402


def tunnels(n: int) -> list[IpsecTunnelView]:
    event = TunnelEvent(dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC), "IPSec SA negotiation succeeds", 1)
    return [IpsecTunnelView(500000 + i, f"vpn-{i}", "16.1.1.1", f"16.{2 + i // 250}.{i % 250}.1", "aes-256-gcm",
                            (IpsecSaPair(0x80000000 + i, 0x90000000 + i, 27000, 24000),),
                            bind_interface=f"st0.{i}", service_set="SS1", events=(event,))
            for i in range(1, n + 1)]


def _as_dicts(element: etree._Element) -> dict:
    """The convention as Python objects (what the former implementation handed to json.dumps)."""
    node: dict = {}
    if element.attrib:
        node["attributes"] = {etree.QName(k).localname: v for k, v in element.attrib.items()}
    kids = [c for c in element if isinstance(c.tag, str)]
    for kid in kids:
        node.setdefault(etree.QName(kid).localname, []).append(_as_dicts(kid))
    if not kids:
        text = element.text
        node["data"] = text if text is not None and text.strip() else [None]
    return node


def best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunnels", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    views = tunnels(args.tunnels)
    results = {}
    print(f"{'listing':8s} {'elements':>9s} {'ours ms':>8s} {'indent ms':>10s} {'compact ms':>11s} "
          f"{'vs indent':>10s} {'vs compact':>11s} {'KB':>7s}")
    for level in ("brief", "detail"):
        reply = build_ipsec_security_associations(views, level=level)
        ours = best_of(args.repeat, lambda: to_json([reply]))  # noqa: B023 - called right here
        indent = best_of(args.repeat, lambda: json.dumps({etree.QName(reply).localname: [_as_dicts(reply)]},  # noqa: B023
                                                         indent=4))
        compact = best_of(args.repeat, lambda: json.dumps({etree.QName(reply).localname: [_as_dicts(reply)]}))  # noqa: B023
        size = len(to_json([reply]))
        elements = sum(1 for _ in reply.iter())
        results[level] = (ours, indent, compact)
        print(f"{level:8s} {elements:9d} {ours * 1000:8.1f} {indent * 1000:10.1f} {compact * 1000:11.1f} "
              f"{ours / indent:10.2f} {ours / compact:11.2f} {size / 1024:7.0f}")
    brief, detail = results["brief"], results["detail"]
    print(f"json_render: tunnels={args.tunnels} brief_ms={brief[0] * 1000:.1f} detail_ms={detail[0] * 1000:.1f} "
          f"ratio_vs_indent={detail[0] / detail[1]:.2f} ratio_vs_compact={detail[0] / detail[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
