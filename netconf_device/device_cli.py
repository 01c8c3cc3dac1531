"""``netconf-device serve``: run one emulated MX (NETCONF over SSH, IKE daemon, PFE, wires) until SIGTERM or
Ctrl-C. See docs/device.md."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("netconf_device.device")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run one emulated MX304 with NETCONF over SSH")
    p.add_argument("--port", type=int, default=8300, help="TCP port of NETCONF over SSH (default 8300; 0: any)")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--state-dir", help="where configuration, rollbacks and the SSH host key are kept "
                                        "(default: a new temporary directory)")
    p.add_argument("--hostname", default="mx304", help="host name when the configuration sets none")
    p.add_argument("--model", default="MX304", help="chassis model (default MX304)")
    p.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                   help="bootstrap login with class super-user (repeatable)")
    p.add_argument("--config", help="initial configuration (set, text, XML or JSON) if the state dir is empty")
    p.add_argument("--max-sessions", type=int, default=128, help="bound on concurrent NETCONF sessions")
    p.add_argument("--idle-timeout", type=float, default=3600.0, help="seconds before an idle session is closed")
    p.add_argument("--max-startups", default="128:30:256", metavar="START:RATE:FULL",
                   help="unauthenticated connections, as OpenSSH's MaxStartups (default 128:30:256)")
    p.add_argument("--per-source-max-startups", type=int, default=128, metavar="N",
                   help="unauthenticated connections from one address (default 128)")
    p.add_argument("--wire", action="append", default=[], metavar="IFD=SPEC",
                   help="connect a physical interface to the outside world (repeatable): "
                        "IFD=udp:LOCAL_IP:LOCAL_PORT:REMOTE_IP:REMOTE_PORT (a UDP link, one IP packet per "
                        "datagram) or IFD=tun:NAME[,netns=NS][,address=CIDR][,route=PREFIX][,mtu=N] (root)")
    p.add_argument("--no-engines", action="store_true",
                   help="run the management plane only (no IKE daemon, no PFE)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=serve)


def _config_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xml", ".json", ".set"):
        return suffix[1:]
    head = next((line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if head.startswith("<"):
        return "xml"
    if head.startswith(("{", "[")) and '"configuration"' in text:
        return "json"
    if head.split(" ", 1)[0] in ("set", "delete", "deactivate", "activate"):
        return "set"
    return "text"


def load_initial_config(datastore, path: Path) -> None:
    """Commit ``path`` as the first configuration of an empty device (user root, client other)."""
    text = path.read_text()
    fmt = _config_format(path, text)
    sid = 0
    now = time.time()
    datastore.open_session(sid, "root", client="other", now=now)
    try:
        datastore.load(sid, text, format=fmt, action="set" if fmt == "set" else "override", now=now)
        datastore.commit(sid, now, log=f"initial configuration from {path.name}")
    finally:
        datastore.close_session(sid, time.time())


class _DeviceName(logging.Filter):
    """Puts the device's host name in every log record (several devices often share one terminal)."""

    def __init__(self) -> None:
        super().__init__()
        self.device = None

    def filter(self, record: logging.LogRecord) -> bool:
        record.device = self.device.hostname if self.device is not None else "-"
        return True


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(device)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    name_filter = _DeviceName()
    for handler in logging.getLogger().handlers:
        handler.addFilter(name_filter)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # it logs every channel; ours say what matters
    from netconf_device.live import logbursts

    # 2000 tunnels coming up must not write 8000 lines: bursts of one message are summarised (not at debug)
    summary = logbursts.install(logging.getLogger().handlers, logging.getLogger().level)
    from netconf_device.config.datastore import Datastore
    from netconf_device.config.errors import DatastoreError
    from netconf_device.device import Device, DeviceOptions
    from netconf_device.live.wirespec import WireSpecError, parse_wires
    from netconf_device.netconf.passwords import sha512_crypt
    from netconf_device.netconf.startups import MaxStartups, StartupGate

    state_dir = Path(args.state_dir) if args.state_dir else Path(tempfile.mkdtemp(prefix="netconf-device-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    users = {}
    for spec in args.user:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            print(f"netconf-device serve: --user wants NAME:PASSWORD, got {name!r}", file=sys.stderr)
            return 2
        users[name] = sha512_crypt(password)
    try:
        wires = parse_wires(args.wire)
    except WireSpecError as exc:
        print(f"netconf-device serve: {exc}", file=sys.stderr)
        return 2
    if wires and args.no_engines:
        print("netconf-device serve: --wire needs the engines (drop --no-engines)", file=sys.stderr)
        return 2
    try:
        StartupGate(MaxStartups.parse(args.max_startups), args.per_source_max_startups)
    except ValueError as exc:
        print(f"netconf-device serve: {exc}", file=sys.stderr)
        return 2
    options = DeviceOptions(
        state_dir=str(state_dir), hostname=args.hostname, model=args.model, listen=args.listen, port=args.port,
        bootstrap_users=users, max_sessions=args.max_sessions, idle_timeout=args.idle_timeout, wires=tuple(wires),
        max_startups=args.max_startups, per_source_max_startups=args.per_source_max_startups,
    )
    try:
        datastore = Datastore(state_dir)
    except DatastoreError as exc:  # in use by another device, or a damaged state file
        print(f"netconf-device serve: {exc}", file=sys.stderr)
        return 1
    device = Device(options, datastore=datastore, engines=not args.no_engines)
    name_filter.device = device
    return asyncio.run(_run(device, Path(args.config) if args.config else None, log_summary=summary))


async def _flush_log_summary(summary) -> None:
    while True:
        await asyncio.sleep(1.0)
        summary.flush()


async def _run(device, initial_config: Path | None = None, *, log_summary=None) -> int:
    flusher = asyncio.get_running_loop().create_task(_flush_log_summary(log_summary)) if log_summary else None
    try:
        return await _serve_until_stopped(device, initial_config)
    finally:
        if flusher is not None:
            flusher.cancel()
            log_summary.flush(force=True)


async def _serve_until_stopped(device, initial_config: Path | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Engines and wires first, so the first configuration (and IKE) meets a running PFE on a running loop.
    try:
        await device.start_engines()
    except OSError as exc:
        print(f"netconf-device serve: cannot open a wire: {exc}", file=sys.stderr)
        await device.stop()
        return 1
    device.start_configuration()
    if initial_config is not None and not device.datastore.commit_history():
        try:
            load_initial_config(device.datastore, initial_config)
        except Exception as exc:
            detail = exc.cli_text() if hasattr(exc, "cli_text") else str(exc)
            print(f"netconf-device serve: {initial_config}: {detail}", file=sys.stderr)
            await device.stop()
            return 1
    try:
        port = await device.start()
    except OSError as exc:  # the port is taken, or the address is not ours
        print(f"netconf-device serve: cannot listen on {device.options.listen}:{device.options.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        await device.stop()
        return 1
    print(f"netconf-device: {device.hostname} ({device.identity.model}) listening on "
          f"{device.options.listen}:{port} (NETCONF over SSH), state in {device.state_dir}", flush=True)
    await stop.wait()
    await device.stop()
    print("netconf-device: stopped", flush=True)
    return 0
