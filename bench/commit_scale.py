"""Commit scale: load (set format) + validate + commit of a configuration with 2000 IPsec VPNs.

Each VPN has its own IKE gateway, IKE policy (own pre-shared key), st0 unit and static route
(``netconf_device.config.generate.vpn_config``). Measured in one run, in a temporary state directory, with
both wall time and CPU time (``time.process_time``; the machine is shared, so wall time includes waiting for
a core):

* load:     ``Datastore.load`` of the set commands into an empty candidate (parse, apply, type check; a load
            into an empty configuration validates it whole, so the commit of the same document does not run
            libyang a second time)
* commit:   ``Datastore.commit`` (validation, intent compile, apply, atomic write of running and rollback)
* parts, each alone on the committed tree: validation without the remembered document (libyang + Junos
  rules: what a commit of a changed configuration pays), intent compile, write
* reference: libyang parsing and validating the same data by itself (what the YANG engine costs without us)

Goal (issue 2): load + commit <= 1 s. Prints the medians of ``--repeat`` runs (and the range of the totals);
the last line is ``commit_scale: seconds=<s> validate_seconds=<s> peak_mb=<mb>`` (load + commit wall time,
validation alone, peak resident memory of the process).

    python bench/commit_scale.py [--vpns 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import copy
import gc
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
from netconf_device.schema.gcpause import collector_paused  # noqa: E402


class Clock:
    """Wall and CPU seconds of one block."""

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def libyang_reference(schema, tree) -> tuple[float, float]:
    """(wall, CPU) seconds for libyang alone (its own context on the same YANG modules) to parse and
    validate the same data, given the namespace-qualified XML libyang reads (prepared outside the timing)."""
    import oopt_gnpy_libyang as ly

    from netconf_device.schema.validate import CONF_MODULES

    ctx = ly.Context(str(schema.model.yang_dir), ly.ContextOptions.NoYangLibrary | ly.ContextOptions.DisableSearchCwd)
    for name in CONF_MODULES:
        ctx.load_module(name)
    xml = schema.validator.qualified_xml(tree)
    options = ly.ValidationOptions.Present | ly.ValidationOptions.NoState | ly.ValidationOptions.MultiError
    with Clock() as clock:
        ctx.parse_data(xml, ly.DataFormat.XML, ly.ParseOptions.Strict, options)
    return clock.wall, clock.cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vpns", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    schema = get_schema()
    print(f"schema load: {time.perf_counter() - started:.3f} s (once per process)")
    text = vpn_config(args.vpns)
    print(f"configuration: {args.vpns} VPNs, {text.count(chr(10))} set lines, {len(text) / 1e6:.2f} MB")

    runs: dict[str, list[tuple[float, float]]] = {}

    def record(name: str, clock) -> None:
        runs.setdefault(name, []).append((clock.wall, clock.cpu) if isinstance(clock, Clock) else clock)

    for _ in range(args.repeat):
        gc.collect()  # each run starts from the same heap
        with tempfile.TemporaryDirectory(prefix="commit_scale.") as state:
            ds = Datastore(state, schema=schema)
            ds.start(time.time())
            ds.open_session(1, "bench", client="cli", now=time.time())
            with Clock() as load:
                ds.load(1, text, format="set", action="set", now=time.time())
            with Clock() as commit:
                result = ds.commit(1, time.time(), log="2000 VPNs")
            with Clock() as collect:  # what the collector, paused during both, finds afterwards
                gc.collect()
            assert len(result.new.ipsec_vpns) == args.vpns and len(ds.commit_history()) == 1
            record("load", load)
            record("commit", commit)
            record("total", (load.wall + commit.wall, load.cpu + commit.cpu))
            record("gc", collect)
            tree = copy.deepcopy(ds.running())
        schema.validator.forget()  # time validation itself, not the remembered document
        with Clock() as clock:
            errors = [e for e in schema.validate(tree) if e.severity != "warning"]
        record("validate", clock)
        assert not errors, errors[:3]
        with Clock() as clock, collector_paused():
            compile_intent(tree, decode_secret=secret.decode9)
        record("compile", clock)
        with tempfile.TemporaryDirectory(prefix="commit_scale.") as state:
            store = CommitStore(Path(state))
            with Clock() as clock:
                info = store.prepare(tree, {"time": time.time(), "user": "bench", "client": "cli", "log": None,
                                            "comment": None})
                store.publish(info.sequence)
            record("write", clock)
        record("libyang", libyang_reference(schema, tree))

    def med(name: str, cpu: bool = False) -> float:
        return statistics.median(v[1 if cpu else 0] for v in runs[name])

    def line(label: str, name: str, note: str = "") -> None:
        print(f"{label:15s} {med(name):.3f} s wall  {med(name, True):.3f} s CPU{note}")

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"medians of {args.repeat} runs:")
    line("load (set)", "load")
    line("commit", "commit", "  (validate + compile + apply + atomic write)")
    line("  validate", "validate", "  (alone, nothing remembered: libyang + Junos rules)")
    line("  compile", "compile", "  (intent, secrets decoded)")
    line("  write", "write", "  (running + rollback, fsync, rename)")
    line("gc afterwards", "gc", "  (full collection after the commit; paused during it)")
    line("libyang only", "libyang", "  (reference: parse + validate of the same data)")
    total, cpu, reference = med("total"), med("total", True), med("libyang", True)
    walls = sorted(v[0] for v in runs["total"])
    cpus = sorted(v[1] for v in runs["total"])
    print(f"load+commit:    {total:.3f} s wall (range {walls[0]:.3f}-{walls[-1]:.3f}), {cpu:.3f} s CPU "
          f"(range {cpus[0]:.3f}-{cpus[-1]:.3f}); load average {os.getloadavg()[0]:.1f}")
    print(f"ratio load+commit / libyang alone (CPU): {cpu / reference:.1f}x; "
          f"validate / libyang: {med('validate', True) / reference:.1f}x")
    print(f"goal load+commit <= 1 s: {'met' if total <= 1.0 else 'MISSED'} (wall), "
          f"{'met' if cpu <= 1.0 else 'MISSED'} (CPU)")
    print(f"commit_scale: seconds={total:.3f} validate_seconds={med('validate'):.3f} peak_mb={peak_mb:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
