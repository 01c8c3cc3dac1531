"""Composition root of one emulated MX: configuration datastore + IKE daemon + PFE + RPC registry + NETCONF/SSH
server, in one asyncio event loop (docs/device.md).

With ``engines=True`` the device runs the IKE daemon and the PFE (``netconf_device.live.engines``): every
commit, rollback and expired confirmed commit reaches them through one apply callback, the PFE's
interfaces meet the outside world through the wires of ``DeviceOptions.wires``, and the live operational
commands (``netconf_device.live.rpcs``) read their state. Without engines (the NETCONF tests) the seams stay
open: :meth:`Device.add_apply_callback` (``callback(old_intent, new_intent)``, raise to veto),
``device.registry.add(...)`` plus a row in ``netconf_device.rpc.commands``, and ``device.interface_state``.
Confirmed-commit timers are driven by :meth:`Device.run_timers` from the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from netconf_device.netconf import passwords
from netconf_device.netconf.session import BASE_10, BASE_11, NetconfSession
from netconf_device.rpc.registry import RpcRegistry
from netconf_device.show.junos_version import JUNOS_NS, JUNOS_VERSION  # the one source of the release

if TYPE_CHECKING:
    from netconf_device.netconf.server import NetconfServer

log = logging.getLogger("netconf_device.device")


@dataclass
class DeviceOptions:
    state_dir: str
    hostname: str = "mx304"
    model: str = "MX304"
    listen: str = "127.0.0.1"
    port: int = 8300
    bootstrap_users: dict[str, str] = field(default_factory=dict)  # name -> "$6$" hash (super-user)
    max_sessions: int = 128
    max_startups: str = "128:30:256"  # unauthenticated connections, OpenSSH's start:rate:full (netconf/startups.py)
    per_source_max_startups: int = 128
    idle_timeout: float = 3600.0
    login_timeout: float = 30.0
    keepalive_interval: float = 0.0
    auth_failure_delay: float = 1.0
    max_message_size: int = 64 * 1024 * 1024
    max_queued_bytes: int = 8 * 1024 * 1024
    base11: bool = True  # advertise base:1.1 (chunked framing when the client has it too)
    wires: tuple = ()  # live.wirespec.UdpWireSpec | TunWireSpec: interfaces that meet the outside world
    reboot_seconds: float = 3.0  # how long `request system reboot` keeps the device down


@dataclass(frozen=True)
class DeviceIdentity:
    """What the box says about itself (show version, show chassis hardware)."""

    model: str
    serial_number: str
    version: str = JUNOS_VERSION
    re_model: str = "RE-MX304-LMIC16"
    boot_time: float = field(default_factory=time.time)


def _load_identity(state_dir: Path, model: str) -> DeviceIdentity:
    """Serial number and boot time: the serial is made once and kept, like a chassis' own."""
    path = state_dir / "chassis.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            log.warning("unreadable %s; making a new chassis identity", path)
    if not data.get("serial-number"):
        data = {"serial-number": "VM" + secrets.token_hex(5).upper()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    return DeviceIdentity(model=model.upper(), serial_number=data["serial-number"])


class Device:
    def __init__(self, options: DeviceOptions, *, datastore: Any = None, engines: bool = False) -> None:
        self.options = options
        self.state_dir = Path(options.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.identity = _load_identity(self.state_dir, options.model)
        self.junos_ns = JUNOS_NS
        self.registry = RpcRegistry()
        self.sessions: dict[int, NetconfSession] = {}
        self._next_session_id = 1000 + secrets.randbelow(20000)
        self.server: NetconfServer | None = None
        self.datastore = datastore
        # Seam for live link state and counters (the PFE): name -> rpc.interfaces.InterfaceState | None.
        self.interface_state: Callable[[str], Any] | None = None
        self._timer_task: asyncio.Task | None = None
        self._timer_wakeup = asyncio.Event()
        self._configuration_started = False
        from netconf_device.rpc import builtin

        builtin.register_all(self.registry)
        self.engines: Any = None  # live.engines.Engines when the device runs its IKE daemon and PFE
        self.wires: dict[str, Any] = {}
        self.port: int | None = None  # where the NETCONF server listens (bound port)
        self.pending_shutdown: PendingShutdown | None = None  # a `request system reboot|halt` not yet done
        self.down = False  # between going down and coming back (for good after a halt)
        self._shutdown_task: asyncio.Task | None = None
        if engines:
            self._compose_engines()

    def _compose_engines(self) -> None:
        """IKE daemon + PFE on the one apply path, their live commands in the registry."""
        if self.datastore is None:
            raise RuntimeError("a device with engines needs a configuration datastore")
        from netconf_device.live import rpcs
        from netconf_device.live.engines import Engines

        self.engines = Engines(self.options.hostname)
        self.datastore.add_apply_callback(self.engines.apply)
        self.interface_state = rpcs.interface_state_reader(self)
        self.registry.add_module(rpcs)

    # ------------------------------------------------------------------------------ identity
    @property
    def hostname(self) -> str:
        name = self.running_config().findtext("system/host-name")
        return (name or "").strip() or self.options.hostname

    # ------------------------------------------------------------------------------ configuration
    def running_config(self) -> etree._Element:
        """The committed configuration (read-only view)."""
        if self.datastore is None:
            return etree.Element("configuration")
        return self.datastore.running()

    def add_apply_callback(self, callback: Callable[[Any, Any], Any]) -> None:
        """Seam for the IKE daemon and the PFE: ``callback(old_intent, new_intent)`` runs on every commit,
        rollback and confirmed-commit expiry (raise to veto). Add callbacks before :meth:`start`."""
        if self.datastore is None:
            raise RuntimeError("this device has no configuration datastore")
        self.datastore.add_apply_callback(callback)

    # ------------------------------------------------------------------------------ users
    def _config_user(self, username: str) -> etree._Element | None:
        for user in self.running_config().iterfind("system/login/user"):
            if (user.findtext("name") or "").strip() == username:
                return user
        return None

    def authenticate_password(self, username: str, password: str) -> str | None:
        """The login class of ``username`` if ``password`` is right, else None."""
        boot = self.options.bootstrap_users.get(username)
        if boot and passwords.verify_password(password, boot):
            return "super-user"
        user = self._config_user(username)
        if user is None:
            passwords.verify_password(password, _DUMMY_HASH)  # same cost whether or not the user exists
            return None
        encrypted = (user.findtext("authentication/encrypted-password") or "").strip()
        if not passwords.verify_password(password, encrypted):
            return None
        return (user.findtext("class") or "unauthorized").strip()

    def authorize_public_key(self, username: str, public_key: str) -> str | None:
        """The login class of ``username`` if ``public_key`` (OpenSSH one line) is configured for them."""
        user = self._config_user(username)
        if user is None:
            return None
        wanted = public_key.split()[:2]
        for kind in ("ssh-rsa", "ssh-ecdsa", "ssh-ed25519"):
            for entry in user.iterfind(f"authentication/{kind}"):
                text = (entry.findtext("name") or entry.text or "").strip()
                if text.split()[:2] == wanted:
                    return (user.findtext("class") or "unauthorized").strip()
        return None

    # ------------------------------------------------------------------------------ sessions
    def open_session(self, user: str, login_class: str, transport: Any, *, peer: str = "") -> NetconfSession | None:
        if len(self.sessions) >= self.options.max_sessions:
            return None
        sid = self._next_session_id
        self._next_session_id += 1
        session = NetconfSession(self, sid, user, login_class, transport, peer=peer)
        self.sessions[sid] = session
        if self.datastore is not None:
            self.datastore.open_session(sid, user=user, client="netconf", now=time.time())
        log.info("session %d opened for %s (class %s) from %s", sid, user, login_class, peer)
        return session

    def session_ended(self, session: NetconfSession) -> None:
        if self.sessions.pop(session.session_id, None) is None:
            return
        if self.datastore is not None:
            try:
                self.datastore.close_session(session.session_id, time.time())
            except Exception:  # e.g. the rollback of its confirmed commit failed; the session is gone anyway
                log.exception("releasing the configuration state of session %d failed", session.session_id)
        self._timer_wakeup.set()

    def hello_message(self, session: NetconfSession) -> bytes:
        from netconf_device.netconf.capabilities import server_capabilities

        nc = "urn:ietf:params:xml:ns:netconf:base:1.0"
        hello = etree.Element(f"{{{nc}}}hello", nsmap={None: nc})
        caps = etree.SubElement(hello, f"{{{nc}}}capabilities")
        for uri in server_capabilities(self):
            if uri == BASE_11 and not self.options.base11:
                continue
            etree.SubElement(caps, f"{{{nc}}}capability").text = uri
        etree.SubElement(hello, f"{{{nc}}}session-id").text = str(session.session_id)
        preamble = (
            "<!-- No zombies were killed during the creation of this user interface -->\n"
            f"<!-- user {session.user}, class {_class_label(session.login_class)} -->\n"
        ).encode()
        return preamble + etree.tostring(hello)

    # ------------------------------------------------------------------------------ serving
    def start_configuration(self) -> None:
        """Bring the engines to the running configuration (once; apply callbacks must be added before)."""
        if self._configuration_started or self.datastore is None:
            return
        self._configuration_started = True
        self.datastore.start(time.time())

    async def start_engines(self) -> None:
        """Start the IKE daemon and the PFE and open the wires (once; before the configuration starts)."""
        if self.engines is None or self.engines.started:
            return
        from netconf_device.live.wirespec import open_wire

        await self.engines.start()
        for spec in self.options.wires:
            try:
                wire = await open_wire(spec)
            except Exception:
                for opened in self.wires.values():
                    opened.close()
                self.wires.clear()
                raise
            self.wires[spec.interface] = wire
            self.engines.attach(spec.interface, wire)
            log.info("wire %s", spec)

    async def start(self) -> int:
        """Start the engines and wires, the configuration (if not yet), the SSH server and the timers;
        returns the bound port."""
        from netconf_device.netconf.server import NetconfServer

        await self.start_engines()
        self.start_configuration()
        self.server = NetconfServer(self)
        port = await self.server.start(self.options.listen, self.options.port)
        self.port = port
        self._timer_task = asyncio.get_running_loop().create_task(self.run_timers(), name="config-timers")
        return port

    async def stop(self) -> None:
        if self._shutdown_task:
            self._shutdown_task.cancel()
        if self._timer_task:
            self._timer_task.cancel()
        for session in list(self.sessions.values()):
            session.close("device stopping")
        if self.server:
            await self.server.stop()
        if self.engines is not None:
            await self.engines.stop()  # DELETEs to the peers go out through the wires, then they close
            self.wires.clear()

    # ------------------------------------------------------------------------------ reboot and halt
    def schedule_shutdown(self, kind: str, at: float, *, user: str) -> PendingShutdown:
        """``request system reboot|halt|power-off``: go down at wall-clock time ``at`` (replacing a pending
        request), like the real box: every session and SSH connection ends, the IKE daemon and the PFE lose
        all their state (every SA, the interfaces and routes), and after a reboot, ``reboot_seconds`` later,
        they come back from the running configuration (tunnels are negotiated anew; INITIAL_CONTACT tells the
        peers to drop the SAs of the previous life) and NETCONF listens again on the same port. A halt (or
        power-off) stays down until the process is started again."""
        if kind not in ("reboot", "halt"):
            raise ValueError(f"unknown shutdown {kind!r}")
        if self._shutdown_task is not None:
            self._shutdown_task.cancel()
        self.pending_shutdown = PendingShutdown(kind, at, user)
        self._shutdown_task = asyncio.get_running_loop().create_task(self._shutdown(self.pending_shutdown),
                                                                     name=f"system-{kind}")
        return self.pending_shutdown

    async def _shutdown(self, pending: PendingShutdown) -> None:
        # At least a moment, so that the reply to the request is on its way before the sessions end.
        await asyncio.sleep(max(pending.at - time.time(), SHUTDOWN_GRACE))
        self.pending_shutdown = None
        log.warning("system %s requested by %s: going down", pending.kind, pending.user)
        await self._go_down()
        if pending.kind == "halt":
            log.warning("halted; start the process again to boot")
            return
        await asyncio.sleep(self.options.reboot_seconds)
        await self._come_up()

    async def _go_down(self) -> None:
        self.down = True
        if self._timer_task is not None:  # the box is off: its timers run again at boot
            self._timer_task.cancel()
            self._timer_task = None
        for session in list(self.sessions.values()):
            session.close("system going down")
        if self.server is not None:
            await self.server.stop()  # stops listening and ends every SSH connection
            self.server = None
        if self.engines is not None:
            from netconf_device.config.intent import Intent

            try:
                # every SA, interface and route gone (the name stays: the logs go on saying who it is)
                self.engines.apply(self.engines.intent, Intent(system=self.engines.intent.system))
            except Exception:
                log.exception("the engines could not drop their state")

    async def _come_up(self) -> None:
        from netconf_device.netconf.server import NetconfServer

        self.identity = dataclasses.replace(self.identity, boot_time=time.time())
        if self.engines is not None and self.datastore is not None:
            from netconf_device.config.intent import Intent

            try:
                running = self.datastore.running_intent
                self.engines.apply(Intent(system=running.system), running)
            except Exception:
                log.exception("the engines could not start from the running configuration")
        self.server = NetconfServer(self)
        await self.server.start(self.options.listen, self.port if self.port is not None else self.options.port)
        self._timer_task = asyncio.get_running_loop().create_task(self.run_timers(), name="config-timers")
        self.down = False
        log.warning("rebooted: listening again")

    def timers_changed(self) -> None:
        """A commit may have armed or cleared a confirmed-commit deadline."""
        self._timer_wakeup.set()

    async def run_timers(self) -> None:
        """Drive the datastore's confirmed-commit deadlines from the event loop."""
        while True:
            self._timer_wakeup.clear()
            deadline = None
            if self.datastore is not None:
                deadline = self.datastore.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            try:
                await asyncio.wait_for(self._timer_wakeup.wait(), timeout)
            except TimeoutError:
                try:
                    self.datastore.on_timer(time.time())
                except Exception:
                    log.exception("confirmed-commit timer failed")


@dataclass(frozen=True)
class PendingShutdown:
    kind: str  # "reboot" | "halt"
    at: float  # wall-clock time
    user: str


SHUTDOWN_GRACE = 0.5  # seconds between the answer to "reboot now" and going down


def _class_label(login_class: str) -> str:
    return login_class if login_class in ("super-user", "operator", "read-only", "unauthorized") else f"j-{login_class}"


_DUMMY_HASH = passwords.sha512_crypt("not-a-password", "$6$dummydummydummy")
__all__ = ["BASE_10", "Device", "DeviceIdentity", "DeviceOptions"]
