"""NETCONF over SSH (RFC 6242) with asyncssh.

* Subsystem ``netconf`` (and, for ncclient's Junos fallback, ``exec xml-mode netconf need-trailer``).
* Password and keyboard-interactive authentication against ``system login user`` of the running
  configuration (``$6$`` hashes) and the device's bootstrap users; public keys configured for a user.
  Unknown keys are simply refused, so paramiko moves on to the password. A failed password costs the
  client ``auth_failure_delay`` seconds.
* The host key is generated once into the state directory and given to asyncssh as a *loaded key object*
  (a file name would be re-read at every login: ~128 ms instead of ~2 ms).
* Bounds: unauthenticated connections by :class:`~netconf_device.netconf.startups.StartupGate` (OpenSSH's
  MaxStartups, per source too, idle ones closed to make room for clients that log in), authenticated
  connections and NETCONF sessions by ``max_sessions``, the login time (``login_timeout``: a half-open
  handshake is dropped), per-session input (see ``session.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from netconf_device.netconf.session import NetconfSession
from netconf_device.netconf.startups import MaxStartups, StartupGate

if TYPE_CHECKING:
    from netconf_device.device import Device

log = logging.getLogger("netconf_device.netconf")

HOST_KEY_FILE = "ssh_host_ed25519_key"


def load_or_create_host_key(state_dir: Path) -> asyncssh.SSHKey:
    """The device's SSH host key: created on first start, then reused (clients pin it)."""
    path = state_dir / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key())
    os.replace(tmp, path)
    (state_dir / (HOST_KEY_FILE + ".pub")).write_bytes(key.export_public_key())
    return key


class _ChannelTransport:
    """What NetconfSession needs from an SSH channel."""

    def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def write(self, data: bytes) -> None:
        if not self._chan.is_closing():
            self._chan.write(data)

    def close(self) -> None:
        self._chan.close()  # flushes what is buffered, then closes

    def pause_reading(self) -> None:
        self._chan.pause_reading()

    def resume_reading(self) -> None:
        self._chan.resume_reading()


class _NetconfChannel(asyncssh.SSHServerSession):
    def __init__(self, device: Device, conn: asyncssh.SSHServerConnection, user: str, login_class: str) -> None:
        self._device = device
        self._conn = conn
        self._user = user
        self._login_class = login_class
        self._chan: asyncssh.SSHServerChannel | None = None
        self._session: NetconfSession | None = None

    def connection_made(self, chan: Any) -> None:
        self._chan = chan

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "netconf"

    def exec_requested(self, command: str) -> bool:
        return command.split()[:2] == ["xml-mode", "netconf"]

    def shell_requested(self) -> bool:
        return False

    def session_started(self) -> None:
        assert self._chan is not None
        peer = self._conn.get_extra_info("peername") or ("", 0)
        session = self._device.open_session(
            self._user, self._login_class, _ChannelTransport(self._chan), peer=f"{peer[0]}:{peer[1]}"
        )
        if session is None:
            log.warning("session limit reached; refusing a NETCONF session for %s", self._user)
            self._chan.close()
            return
        self._session = session
        session.start()

    def data_received(self, data: bytes, datatype: Any) -> None:
        if self._session is not None:
            self._session.data_received(data)

    def eof_received(self) -> bool:
        if self._session is not None:
            self._session.close("end of input")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._session is not None:
            self._session.connection_lost()

    def pause_writing(self) -> None:
        if self._session is not None:
            self._session.pause_writing()

    def resume_writing(self) -> None:
        if self._session is not None:
            self._session.resume_writing()


class _SSHServer(asyncssh.SSHServer):
    def __init__(self, server: NetconfServer) -> None:
        self._server = server
        self._device = server.device
        self._conn: asyncssh.SSHServerConnection | None = None
        self._user: str | None = None
        self._login_class = "unauthorized"
        self._established = False

    # --------------------------------------------------------------------------------- connection
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._server.open_connections.add(self)
        sock = conn.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self._server.admit(self):
            conn.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.open_connections.discard(self)
        self._server.gate.leave(self)
        if self._established:
            self._established = False
            self._server.established -= 1

    def close_idle(self) -> None:
        """Closed by the gate to make room: this connection made no progress towards a login."""
        log.info("closing idle unauthenticated connection from %s", self._peer())
        if self._conn is not None:
            self._conn.close()

    def _progress(self) -> None:
        self._server.gate.progress(self, time.monotonic())

    # --------------------------------------------------------------------------------- auth
    def begin_auth(self, username: str) -> bool:
        self._progress()  # the key exchange is done
        return True  # every user must authenticate

    def auth_completed(self) -> None:
        self._server.gate.leave(self)
        self._established = True
        self._server.established += 1
        limit = self._device.options.max_sessions
        if self._server.established > limit and self._conn is not None:
            log.warning("session limit (%d) reached; closing the connection of %s from %s", limit, self._user,
                        self._peer())
            self._conn.close()

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        self._progress()
        return await self._check_password(username, password)

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> Any:
        return "", "", "", [("Password: ", False)]

    async def validate_kbdint_response(self, username: str, responses: Any) -> bool:
        self._progress()
        if not responses or len(responses) != 1:
            return False
        return await self._check_password(username, responses[0])

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        self._progress()
        login_class = self._device.authorize_public_key(username, key.export_public_key().decode())
        if login_class is None:
            return False  # paramiko then tries its next key or the password
        self._authenticated(username, login_class, "public key")
        return True

    async def _check_password(self, username: str, password: str) -> bool:
        login_class = self._device.authenticate_password(username, password)
        if login_class is None:
            # Never log the password; the user name is fine (Junos logs failed logins too).
            log.warning("failed password for %s from %s", username, self._peer())
            await asyncio.sleep(self._device.options.auth_failure_delay)
            return False
        self._authenticated(username, login_class, "password")
        return True

    def _authenticated(self, username: str, login_class: str, method: str) -> None:
        self._user = username
        self._login_class = login_class
        log.info("accepted %s for %s (class %s) from %s", method, username, login_class, self._peer())

    def _peer(self) -> str:
        peer = self._conn.get_extra_info("peername") if self._conn else None
        return f"{peer[0]}:{peer[1]}" if peer else "?"

    # --------------------------------------------------------------------------------- sessions
    def session_requested(self) -> Any:
        # The class comes from the check that let this user in; a public key accepted in a query for another
        # user name (never signed) must not lend its class to a later login.
        if self._user is None or self._conn is None or self._user != self._conn.get_extra_info("username"):
            return False
        return _NetconfChannel(self._device, self._conn, self._user, self._login_class)


class NetconfServer:
    """The listening SSH server of one device."""

    def __init__(self, device: Device) -> None:
        self.device = device
        opts = device.options
        self.gate = StartupGate(MaxStartups.parse(opts.max_startups), opts.per_source_max_startups)
        self.established = 0  # authenticated connections (bounded by max_sessions)
        self.open_connections: set[_SSHServer] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._refusals_logged_at = -1.0

    def admit(self, server: _SSHServer) -> bool:
        """Let an unauthenticated connection in (closing idle ones to make room) or refuse it."""
        peer = server._conn.get_extra_info("peername") if server._conn is not None else None
        source = str(peer[0]) if peer else "?"
        admitted, idle = self.gate.admit(server, source, time.monotonic())
        for victim in idle:
            victim.close_idle()
        if not admitted:
            now = time.monotonic()
            if now - self._refusals_logged_at >= 1.0:  # a flood must not flood the log too
                self._refusals_logged_at = now
                counters = self.gate.counters
                log.warning("refusing unauthenticated connections (max-startups %s, per source %d): "
                            "%d pending; refused so far %d per source, %d early; from %s", self.gate.limits,
                            self.gate.per_source, self.gate.pending, counters.refused_per_source,
                            counters.refused_early, source)
        return admitted

    async def start(self, host: str, port: int) -> int:
        opts = self.device.options
        host_key = load_or_create_host_key(Path(opts.state_dir))
        self._acceptor = await asyncssh.create_server(
            lambda: _SSHServer(self),
            host,
            port,
            server_host_keys=[host_key],
            login_timeout=opts.login_timeout,
            encoding=None,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            keepalive_interval=opts.keepalive_interval,
            server_version="OpenSSH_8.6",  # what Junos 2x announces; some tools look at it
            reuse_address=True,
        )
        return self._acceptor.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and end every SSH connection."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for server in list(self.open_connections):
            if server._conn is not None:
                server._conn.close()
