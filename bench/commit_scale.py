"""Commit scale: load (set format) + validate + commit of a configuration with 2000 IPsec VPNs.

Each VPN has its own IKE gateway, IKE policy (own pre-shared key), st0 unit and static route
(``netconf_device.config.generate.vpn_config``). Measured in one run, in a temporary state directory:

* load:     ``Datastore.load`` of the set commands into an empty candidate (parse + apply)
* commit:   ``Datastore.commit`` (YANG + Junos validation, intent compile, apply, atomic write of running
            and rollback)
* validate: ``Schema.validate`` alone on the same tree
* reference: libyang parsing and validating the same data by itself (what the YANG engine costs without
            us), so the ratio shows our overhead

Goal (issue 2): load + commit <= 1 s. Prints the medians of ``--repeat`` runs; the last line is
``commit_scale: seconds=<s> validate_seconds=<s> peak_mb=<mb>`` (peak resident memory of the process).

    python bench/commit_scale.py [--vpns 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netconf_device.config.compile import compile_intent  # noqa: E402
from netconf_device.config.datastore import Datastore  # noqa: E402
from netconf_device.config.generate import vpn_config  # noqa: E402
from netconf_device.config.history import CommitStore  # noqa: E402
from netconf_device.schema import get_schema, secret  # noqa: E402


def libyang_reference(schema, tree) -> float:
    """Seconds for libyang alone (its own context on the same YANG modules) to parse and validate the same
    data, given the namespace-qualified XML libyang reads (prepared outside the timing)."""
    import oopt_gnpy_libyang as ly

    from netconf_device.schema.validate import CONF_MODULES

    ctx = ly.Context(str(schema.model.yang_dir), ly.ContextOptions.NoYangLibrary | ly.ContextOptions.DisableSearchCwd)
    for name in CONF_MODULES:
        ctx.load_module(name)
    xml = schema.validator.qualified_xml(tree)
    options = ly.ValidationOptions.Present | ly.ValidationOptions.NoState | ly.ValidationOptions.MultiError
    start = time.perf_counter()
    ctx.parse_data(xml, ly.DataFormat.XML, ly.ParseOptions.Strict, options)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vpns", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    schema = get_schema()
    print(f"schema load: {time.perf_counter() - started:.3f} s (once per process)")
    text = vpn_config(args.vpns)
    print(f"configuration: {args.vpns} VPNs, {text.count(chr(10))} set lines, {len(text) / 1e6:.2f} MB")

    loads, commits, totals, validates, references, compiles, writes, cpus = [], [], [], [], [], [], [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="commit_scale.") as state:
            ds = Datastore(state, schema=schema)
            ds.start(time.time())
            ds.open_session(1, "bench", client="cli", now=time.time())
            c0, t0 = time.process_time(), time.perf_counter()
            ds.load(1, text, format="set", action="set", now=time.time())
            t1 = time.perf_counter()
            result = ds.commit(1, time.time(), log="2000 VPNs")
            t2, c2 = time.perf_counter(), time.process_time()
            cpus.append(c2 - c0)
            assert len(result.new.ipsec_vpns) == args.vpns and len(ds.commit_history()) == 1
            loads.append(t1 - t0)
            commits.append(t2 - t1)
            totals.append(t2 - t0)
            tree = copy.deepcopy(ds.running())
        t0 = time.perf_counter()
        errors = [e for e in schema.validate(tree) if e.severity != "warning"]
        validates.append(time.perf_counter() - t0)
        assert not errors, errors[:3]
        t0 = time.perf_counter()
        compile_intent(tree, decode_secret=secret.decode9)
        compiles.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory(prefix="commit_scale.") as state:
            store = CommitStore(Path(state))
            t0 = time.perf_counter()
            info = store.prepare(tree, {"time": time.time(), "user": "bench", "client": "cli", "log": None,
                                        "comment": None})
            store.publish(info.sequence)
            writes.append(time.perf_counter() - t0)
        references.append(libyang_reference(schema, tree))

    total, validate, reference = (statistics.median(v) for v in (totals, validates, references))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load (set):   {statistics.median(loads):.3f} s")
    print(f"commit:       {statistics.median(commits):.3f} s  (validate + compile + apply + atomic write)")
    print(f"  validate:   {validate:.3f} s  (YANG via libyang + Junos rules)")
    print(f"  compile:    {statistics.median(compiles):.3f} s  (intent, secrets decoded)")
    print(f"  write:      {statistics.median(writes):.3f} s  (running + rollback, fsync, rename)")
    print(f"libyang only: {reference:.3f} s  (reference: parse + validate of the same data)")
    print(f"ratio load+commit / libyang: {total / reference:.1f}x; validate / libyang: {validate / reference:.1f}x")
    cpu = statistics.median(cpus)
    busy = "; CPU well below wall: the machine was busy" if cpu < 0.8 * total else ""
    print(f"load+commit:  {total:.3f} s wall, {cpu:.3f} s CPU  (load average {os.getloadavg()[0]:.1f}{busy})")
    print(f"goal load+commit <= 1 s: {'met' if total <= 1.0 else 'MISSED'}")
    print(f"commit_scale: seconds={total:.3f} validate_seconds={validate:.3f} peak_mb={peak_mb:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
