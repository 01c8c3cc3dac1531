"""``netconf-device lab up|status|ping|down``: labs from the command line (see docs/labs.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

STATE_ROOT = ".lab-state"


def register(subparsers: argparse._SubParsersAction) -> None:
    lab = subparsers.add_parser("lab", help="start, inspect and stop labs (topologies of emulated routers)",
                                description="Labs: topologies of emulated MX routers, hosts and peers "
                                            "(labs/<name>/lab.yaml). See docs/labs.md.")
    sub = lab.add_subparsers(dest="lab_command", metavar="ACTION")

    def common(p: argparse.ArgumentParser, lab_positional: bool) -> None:
        if lab_positional:
            p.add_argument("lab", nargs="?", help="lab directory, lab file or lab name (default: the one lab "
                                                  f"that is up under ./{STATE_ROOT})")
        p.add_argument("--state-dir", help=f"lab state directory (default ./{STATE_ROOT}/<lab name>)")

    up = sub.add_parser("up", help="start a lab and wait until its tunnels are up")
    up.add_argument("lab", help="lab directory (labs/mx304-p2p) or lab YAML file")
    up.add_argument("--state-dir", help=f"lab state directory (default ./{STATE_ROOT}/<lab name>)")
    up.add_argument("--netns-hosts", action="store_true", help="hosts as network namespaces (root): plain ping "
                                                               "works inside them")
    up.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a parameter of the lab file (e.g. tunnels=100)")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for all tunnels (default 60)")
    up.add_argument("--no-wait", action="store_true", help="return once the devices run")
    up.set_defaults(func=cmd_up)

    status = sub.add_parser("status", help="show devices, tunnels, hosts and peers of a running lab")
    common(status, True)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    ping = sub.add_parser("ping", help="ping from a lab host (emulated or namespace)")
    ping.add_argument("host", help="host name in the lab (e.g. host1)")
    ping.add_argument("address", help="destination address")
    ping.add_argument("-c", "--count", type=int, default=3, help="echo requests to send (default 3)")
    ping.add_argument("-i", "--interval", type=float, default=0.5, help="seconds between requests (default 0.5)")
    ping.add_argument("-W", "--timeout", type=float, default=1.0, help="seconds to wait for each reply")
    ping.add_argument("-s", "--size", type=int, default=56, help="payload bytes (default 56)")
    ping.add_argument("-I", "--source", help="source address (one of the host's; default its first)")
    ping.add_argument("--lab", help="lab directory or name (default: the lab that has this host)")
    ping.add_argument("--state-dir", help="lab state directory")
    ping.set_defaults(func=cmd_ping)

    down = sub.add_parser("down", help="stop a lab and remove what it created (also after a crash)")
    common(down, True)
    down.add_argument("--purge", action="store_true", help="also delete the state directory (logs)")
    down.set_defaults(func=cmd_down)

    lab.set_defaults(func=lambda args: (lab.print_help(), 2)[1])


# ------------------------------------------------------------------------------------------ finding labs
def _running_state_dirs() -> list[Path]:
    root = Path.cwd() / STATE_ROOT
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / "lab.json").is_file())


def _state_dir_for(lab_arg: str | None, state_dir: str | None) -> Path:
    """The state directory meant by the command line (see the help of each command)."""
    from netconf_device.lab.topology import load_topology

    if state_dir:
        return Path(state_dir)
    if lab_arg:
        path = Path(lab_arg)
        if path.exists():
            return Path.cwd() / STATE_ROOT / load_topology(path).name
        return Path.cwd() / STATE_ROOT / lab_arg
    running = _running_state_dirs()
    if len(running) == 1:
        return running[0]
    if not running:
        raise _NoLab(f"no lab is up here (nothing in ./{STATE_ROOT}); start one: netconf-device lab up labs/mx304-p2p")
    names = ", ".join(p.name for p in running)
    raise _Usage(f"several labs are up here ({names}); name one, e.g. `netconf-device lab status {running[0].name}`")


class _Usage(Exception):
    pass


class _NoLab(_Usage):
    """Nothing is up under ./.lab-state (`lab status` answers 3, as for a named lab that is not up)."""


def _fail(message: str, code: int = 1) -> int:
    print(f"netconf-device lab: {message}", file=sys.stderr)
    return code


def _say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------------------ commands
def cmd_up(args: argparse.Namespace) -> int:
    from netconf_device.lab import Lab, LabError, TopologyError, TunnelsNotUp

    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return _fail(f"--param wants NAME=VALUE, got {item!r}", 2)
        params[key] = value
    try:
        lab = Lab.load(args.lab, state_dir=args.state_dir, params=params, netns_hosts=args.netns_hosts)
    except TopologyError as exc:
        return _fail("invalid lab file:\n" + "\n".join(f"  {p}" for p in exc.problems), 2)
    started = time.monotonic()
    _say(f"lab {lab.name}: starting {len(lab.topology.devices)} device(s) (state in {_short(lab.state_dir)})")
    try:
        status = lab.up(wait=not args.no_wait, timeout=args.timeout, progress=_say)
    except TunnelsNotUp as exc:
        print(str(exc), file=sys.stderr)
        _print_logins(lab.status(tunnels=False))
        print(f"\nThe lab is still running: `netconf-device lab status {lab.name}{_where(args)}` to look again, "
              f"`netconf-device lab down {lab.name}{_where(args)}` to stop it.", file=sys.stderr)
        return 1
    except LabError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        lab.down()
        return _fail("interrupted; the lab was stopped", 130)
    elapsed = time.monotonic() - started
    if args.no_wait:
        _say(f"lab {lab.name} is up ({elapsed:.1f} s); tunnels are being negotiated")
    else:
        counts = ", ".join(f"{d.name} {d.tunnels.up}/{d.tunnels.total}" for d in status.devices if d.tunnels)
        _say(f"lab {lab.name} is up: all tunnels up after {elapsed:.1f} s ({counts})")
    _print_logins(status)
    emulated = [h for h in status.hosts if h.kind == "emulated"]
    if status.hosts:
        first = (emulated or status.hosts)[0]
        other = next((h for h in status.hosts if h.name != first.name), None)
        if other is not None:
            target = other.addresses[0].split("/")[0]
            _say(f"\nTry: netconf-device lab ping {first.name} {target}{_where(args)}")
    _say(f"Stop: netconf-device lab down {lab.name}{_where(args)}")
    return 0


def _where(args: argparse.Namespace) -> str:
    """The option later commands need to find a lab started with --state-dir."""
    return f" --state-dir {args.state_dir}" if args.state_dir else ""


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _print_logins(status) -> None:
    rows = [["device", "NETCONF (SSH)", "login", "pid"]]
    for d in status.devices:
        rows.append([d.name, d.address, f"{d.user} / {d.password}", str(d.pid or "-")])
    _say("")
    for line in _table(rows):
        _say(line)
    if status.hosts:
        rows = [["host", "addresses", "attached to", "kind"]]
        for h in status.hosts:
            gateway = f" via {', '.join(h.gateways)}" if h.gateways else ""
            kind = "emulated" if h.kind == "emulated" else f"namespace {h.endpoint}"
            rows.append([h.name, ", ".join(h.addresses + [f"{n} (all)" for n in h.owns]), f"{h.attach}{gateway}",
                         kind])
        for line in _table(rows):
            _say(line)


def cmd_status(args: argparse.Namespace) -> int:
    from netconf_device.lab import Lab, LabError

    try:
        state_dir = _state_dir_for(args.lab, args.state_dir)
        lab = Lab.attach(state_dir)
    except _Usage as exc:
        return _fail(str(exc), 3 if isinstance(exc, _NoLab) else 1)
    except LabError:
        return _fail(f"lab {args.lab or state_dir.name} is not up (no state in {_short(state_dir)})", 3)
    status = lab.status()
    running = sum(d.alive for d in status.devices)
    if args.json:
        print(json.dumps(_status_json(status), indent=2))
        return 0 if running == len(status.devices) else 1
    _say(f"lab {status.name}: {running}/{len(status.devices)} device(s) running (state in {_short(status.state_dir)})")
    rows = [["device", "NETCONF (SSH)", "login", "pid", "tunnels up", "IKE SAs up"]]
    notes = []
    for d in status.devices:
        pid = f"{d.pid} (running)" if d.alive else f"{d.pid or '-'} (not running)"
        if d.tunnels is not None:
            tunnels = f"{d.tunnels.up}/{d.tunnels.total}"
            ike = "?" if d.tunnels.ike_up is None else f"{d.tunnels.ike_up}/{d.tunnels.ike_total}"
            for vpn in d.tunnels.down[:5]:
                notes.append(f"  {d.name}: {vpn.name} ({vpn.bind_interface or 'no st0'}) is down: {vpn.why()}")
            if len(d.tunnels.down) > 5:
                notes.append(f"  {d.name}: ... and {len(d.tunnels.down) - 5} more tunnels down")
        else:
            tunnels = ike = "?"
            if d.error:
                notes.append(f"  {d.name}: NETCONF: {d.error}")
        rows.append([d.name, d.address, f"{d.user} / {d.password}", pid, tunnels, ike])
    for line in _table(rows):
        _say(line)
    for line in notes:
        _say(line)
    if status.hosts:
        rows = [["host", "addresses", "attached to", "endpoint"]]
        for h in status.hosts:
            gateway = f" via {', '.join(h.gateways)}" if h.gateways else ""
            endpoint = f"emulated, UDP {h.endpoint}" if h.kind == "emulated" else f"namespace {h.endpoint}"
            rows.append([h.name, ", ".join(h.addresses + [f"{n} (all)" for n in h.owns]), f"{h.attach}{gateway}",
                         endpoint])
        for line in _table(rows):
            _say(line)
    if status.peers:
        rows = [["peer", "kind", "namespace", "pid", "IKE SAs", "child SAs"]]
        for p in status.peers:
            rows.append([p.name, p.kind, p.netns, f"{p.pid or '-'} ({'running' if p.alive else 'not running'})",
                         "?" if p.ike_up is None else str(p.ike_up), "?" if p.children_up is None else str(p.children_up)])
        for line in _table(rows):
            _say(line)
    return 0 if running == len(status.devices) else 1


def _status_json(status) -> dict:
    def tunnels(t):
        if t is None:
            return None
        return {"total": t.total, "up": t.up, "ike_up": t.ike_up, "ike_total": t.ike_total,
                "down": [{"vpn": v.name, "bind_interface": v.bind_interface, "why": v.why()} for v in t.down]}

    return {
        "lab": status.name, "state_dir": str(status.state_dir), "up": status.up,
        "devices": [{"name": d.name, "host": d.host, "port": d.port, "user": d.user, "password": d.password,
                     "pid": d.pid, "alive": d.alive, "tunnels": tunnels(d.tunnels), "error": d.error}
                    for d in status.devices],
        "hosts": [{"name": h.name, "kind": h.kind, "attach": h.attach, "addresses": h.addresses,
                   "gateways": h.gateways, "owns": h.owns, "endpoint": h.endpoint} for h in status.hosts],
        "peers": [{"name": p.name, "kind": p.kind, "netns": p.netns, "pid": p.pid, "alive": p.alive,
                   "ike_up": p.ike_up, "children_up": p.children_up, "error": p.error} for p in status.peers],
    }


def cmd_ping(args: argparse.Namespace) -> int:
    from netconf_device.lab import Lab, LabError
    from netconf_device.lab.hosts import HostsBusy

    if args.count < 1:
        return _fail("-c wants at least 1", 2)
    try:
        if args.lab or args.state_dir:
            lab = Lab.attach(_state_dir_for(args.lab, args.state_dir))
        else:
            lab = _lab_with_host(args.host)
        host = lab.host(args.host)
    except (_Usage, LabError) as exc:
        return _fail(str(exc))
    try:
        if host.kind == "netns":
            from netconf_device.lab.hosts import netns_ping

            result = lab._with_emulated(lambda: netns_ping(host.netns, args.address, count=args.count,
                                                           interval=args.interval, timeout=args.timeout,
                                                           size=args.size, source=args.source, echo=_say))
            return 0 if result.received else 1
        return _emulated_ping(lab, args)
    except (HostsBusy, ValueError) as exc:
        return _fail(str(exc))
    finally:
        lab.release_hosts()


def _lab_with_host(host: str):
    from netconf_device.lab import Lab

    labs = []
    for state_dir in _running_state_dirs():
        try:
            lab = Lab.attach(state_dir)
        except Exception:
            continue
        if host in (lab._state or {}).get("hosts", {}):
            labs.append(lab)
    if len(labs) == 1:
        return labs[0]
    if not labs:
        if not _running_state_dirs():
            raise _Usage(f"no lab is up here (nothing in ./{STATE_ROOT}); start one: "
                         "netconf-device lab up labs/mx304-p2p")
        raise _Usage(f"no running lab here has a host named {host!r}")
    raise _Usage(f"several labs have a host {host!r} ({', '.join(lab.name for lab in labs)}); add --lab NAME")


def _emulated_ping(lab, args: argparse.Namespace) -> int:
    """Ping-like output: one line per reply (or error), then the summary with loss."""
    from netconf_device.pfe import ip

    runner = lab.hosts_runner()
    host = lab.host(args.host)
    source = args.source or host.addresses[0].split("/")[0]
    _say(f"PING {args.address} from {args.host} ({source}): {args.size} data bytes")
    sent = received = 0
    rtts = []
    for sequence in range(1, args.count + 1):
        result = runner.ping(args.host, args.address, count=1, timeout=args.timeout, size=args.size,
                             source=args.source)
        sent += 1
        if result.received:
            received += 1
            rtts.append(result.rtts[0] * 1000)
            _say(f"{args.size + 8} bytes from {args.address}: icmp_seq={sequence} time={rtts[-1]:.2f} ms")
        elif result.errors:
            _say(f"From {_icmp_error_text(result.errors[0], ip)} icmp_seq={sequence}")
        else:
            _say(f"Request timeout for icmp_seq={sequence}")
        if sequence < args.count:
            time.sleep(args.interval)
    loss = 100.0 * (sent - received) / sent
    _say(f"\n--- {args.address} ping statistics ---")
    _say(f"{sent} packets transmitted, {received} received, {loss:.0f}% packet loss")
    if rtts:
        _say(f"round-trip min/avg/max = {min(rtts):.2f}/{sum(rtts) / len(rtts):.2f}/{max(rtts):.2f} ms")
    return 0 if received else 1


def _icmp_error_text(packet: bytes, ip) -> str:
    import ipaddress

    if packet[0] >> 4 == 4:
        source = ipaddress.ip_address(packet[12:16])
        offset = (packet[0] & 0x0F) * 4
        kind, code = packet[offset], packet[offset + 1]
        texts = {(3, 0): "Destination Net Unreachable", (3, 1): "Destination Host Unreachable",
                 (3, 3): "Destination Port Unreachable", (11, 0): "Time to live exceeded"}
        if kind == 3 and code == 4:
            mtu = int.from_bytes(packet[offset + 6:offset + 8], "big")
            return f"{source}: Frag needed and DF set (mtu = {mtu})"
        return f"{source}: {texts.get((kind, code), f'ICMP type {kind} code {code}')}"
    source = ipaddress.ip_address(packet[8:24])
    return f"{source}: ICMPv6 error type {packet[40]}"


def cmd_down(args: argparse.Namespace) -> int:
    from netconf_device.lab import Lab, LabError

    if not args.lab and not args.state_dir and not _running_state_dirs():
        _say(f"no lab is up here (nothing in ./{STATE_ROOT})")
        return 0  # down is idempotent
    try:
        state_dir = _state_dir_for(args.lab, args.state_dir)
    except _Usage as exc:
        return _fail(str(exc))
    try:
        lab = Lab.attach(state_dir)
    except LabError:
        _say(f"lab {args.lab or state_dir.name} is not up (nothing to stop in {_short(state_dir)})")
        return 0
    done = lab.down(keep_logs=not args.purge)
    for line in done:
        _say(f"  {line}")
    _say(f"lab {lab.name} is down" + ("" if args.purge else f" (logs kept in {_short(state_dir)})"))
    return 0
