"""Robustness and security of the NETCONF/SSH server (issue item 8), against a real `serve` process.

Each bad input gets an <rpc-error> or a closed session, never affects other sessions, never crashes.
"""

from __future__ import annotations

import asyncio
import socket
import time

import asyncssh
import pytest
from lxml import etree
from ndnc_support import CH, EOM, NC, RawNetconf, start_device


def run(coro):
    return asyncio.run(coro)


def parse(reply: bytes) -> etree._Element:
    return etree.fromstring(reply)


def assert_alive(port: int) -> None:
    async def check():
        client = await RawNetconf.open(port)
        reply = parse(await client.rpc("<get-software-information/>", "alive"))
        client.close()
        assert reply.find(f"{NC}software-information/{NC}product-model").text == "mx304"

    run(check())


def test_hello_has_session_id_capabilities_and_no_xml_declaration(device):
    async def go():
        client = await RawNetconf.open(device.port)
        client.close()
        return client.hello

    hello = run(go())
    assert b"<?xml" not in hello
    root = parse(hello[hello.index(b"<hello"):])
    caps = [c.text for c in root.iter(f"{NC}capability")]
    for cap in ("urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1",
                "urn:ietf:params:netconf:capability:candidate:1.0",
                "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
                "urn:ietf:params:netconf:capability:validate:1.0", "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring",
                "http://xml.juniper.net/netconf/junos/1.0"):
        assert cap in caps
    assert any("?module=" in c for c in caps), "YANG modules of yang/ are advertised"
    assert int(root.findtext(f"{NC}session-id")) > 0


def test_malformed_xml_gets_rpc_error_and_the_session_goes_on(device):
    async def go():
        client = await RawNetconf.open(device.port)
        client.writer.write(b"<rpc message-id='7'><get-software-information></rpc" + EOM)
        bad = parse(await client.read_eom())
        good = parse(await client.rpc("<get-software-information/>", "8"))
        client.close()
        return bad, good

    bad, good = run(go())
    assert bad.find(f"{NC}rpc-error/{NC}error-tag").text == "malformed-message"
    assert good.get("message-id") == "8" and good.find(f"{NC}software-information") is not None


def test_unknown_rpc_gets_junos_syntax_error_with_message_id(device):
    async def go():
        client = await RawNetconf.open(device.port)
        reply = parse(await client.rpc("<get-bogus-information/>", "u-1"))
        client.close()
        return reply

    reply = run(go())
    assert reply.get("message-id") == "u-1"
    err = reply.find(f"{NC}rpc-error")
    assert err.findtext(f"{NC}error-message") == "syntax error"
    assert err.findtext(f"{NC}error-info/{NC}bad-element") == "get-bogus-information"


def test_entities_and_dtds_are_refused(device):
    async def go():
        client = await RawNetconf.open(device.port)
        client.writer.write(b'<!DOCTYPE rpc [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                            b'<rpc message-id="1"><command>&x;</command></rpc>' + EOM)
        reply = await client.read_eom()
        client.close()
        return reply

    reply = run(go())
    assert b"root:" not in reply
    assert parse(reply).find(f"{NC}rpc-error/{NC}error-tag").text == "malformed-message"


def test_pipelined_requests_are_answered_in_order(device):
    async def go():
        client = await RawNetconf.open(device.port)
        batch = b"".join(
            b'<nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="%d">%s</nc:rpc>%s'
            % (i, body, EOM)
            for i, body in enumerate([b"<get-software-information/>", b"<nc:get-chassis-inventory/>",
                                      b"<bogus/>", b"<get-route-engine-information/>"] * 5))
        client.writer.write(batch)
        replies = [parse(await client.read_eom()) for _ in range(20)]
        client.close()
        return replies

    replies = run(go())
    assert [r.get("message-id") for r in replies] == [str(i) for i in range(20)]
    assert replies[1].find(f"{CH}chassis-inventory") is not None  # nc:-prefixed op dispatched on local name
    assert replies[2].find(f"{NC}rpc-error") is not None


def test_broken_chunked_framing_closes_only_that_session(device):
    async def go():
        other = await RawNetconf.open(device.port)
        client = await RawNetconf.open(device.port, hello=False)
        client.writer.write(b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>'
                            b"urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>" + EOM)
        client.writer.write(b"\n#not-a-size\n<rpc/>\n##\n")
        data = await asyncio.wait_for(client.reader.read(), 10)  # until the server closes the channel
        reply = parse(await other.rpc("<get-software-information/>"))
        other.close()
        client.close()
        return data, reply

    data, reply = run(go())
    assert b"rpc-error" in data and b"malformed-message" in data
    assert reply.find(f"{NC}software-information") is not None


def test_100_mb_message_is_refused_without_memory_blowup(device):
    pid = device.proc.pid

    def rss_kb() -> int:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    before = rss_kb()

    async def go():
        client = await RawNetconf.open(device.port)
        block = b"<x>" + b"a" * (1024 * 1024 - 3)
        sent = 0
        closed = False
        try:
            for _ in range(100):
                client.writer.write(block)
                await asyncio.wait_for(client.writer.drain(), 20)
                sent += len(block)
                if client.reader.at_eof():
                    closed = True
                    break
        except (asyncssh.Error, ConnectionError, BrokenPipeError):
            closed = True
        rest = await asyncio.wait_for(client.reader.read(), 20)
        client.close()
        return sent, closed, rest

    sent, closed, rest = run(go())
    assert b"rpc-error" in rest and b"message too large" in rest
    # refused at the 64 MB bound: the session ends before the client could send all 100 MB
    assert closed and sent < 100 * 1024 * 1024
    assert rss_kb() - before < 300 * 1024
    assert_alive(device.port)


def test_half_open_handshakes_do_not_block_other_logins(device):
    idle = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", device.port))
        idle.append(s)
    banner_only = socket.create_connection(("127.0.0.1", device.port))
    banner_only.sendall(b"SSH-2.0-half-open\r\n")
    try:
        start = time.monotonic()
        assert_alive(device.port)
        assert time.monotonic() - start < 5
    finally:
        for s in [*idle, banner_only]:
            s.close()
    assert device.proc.poll() is None


def test_wrong_password_is_rejected_after_a_delay_and_secrets_stay_out_of_logs(device):
    async def attempt(password: str) -> float:
        start = time.monotonic()
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect("127.0.0.1", device.port, username="admin", password=password,
                                   known_hosts=None, client_keys=None, preferred_auth="password")
        return time.monotonic() - start

    elapsed = run(attempt("Wr0ng-Pa55word"))
    assert elapsed >= 0.9
    assert_alive(device.port)
    log = device.log_text()
    assert "failed password for admin" in log
    for secret in ("Wr0ng-Pa55word", "admin123", "lab-secret-123", "lab123"):
        assert secret not in log


def test_session_bound_and_idle_timeout(tmp_path):
    dev = start_device(tmp_path, "--max-sessions", "2", "--idle-timeout", "1", config=None)
    try:
        async def go():
            a = await RawNetconf.open(dev.port)
            b = await RawNetconf.open(dev.port)
            with pytest.raises((asyncssh.Error, asyncio.IncompleteReadError, asyncio.TimeoutError, EOFError)):
                await RawNetconf.open(dev.port)
            assert parse(await a.rpc("<get-software-information/>")).find(f"{NC}software-information") is not None
            await asyncio.sleep(2.5)  # both idle past the timeout: the server closes them
            data = await asyncio.wait_for(a.reader.read(), 5)
            a.close()
            b.close()
            c = await RawNetconf.open(dev.port)  # the slots are free again
            c.close()
            return data

        assert run(go()) == b""
    finally:
        assert dev.stop() == 0


def test_keyboard_interactive_uses_the_same_password(device):
    async def login(password: str) -> None:
        conn = await asyncssh.connect("127.0.0.1", device.port, username="lab", password=password,
                                      known_hosts=None, client_keys=None, preferred_auth="keyboard-interactive")
        conn.close()

    run(login("lab123"))  # the seed's `system login user lab` ($6$ hash in the configuration)
    with pytest.raises(asyncssh.PermissionDenied):
        run(login("not-lab123"))


def test_two_rpcs_in_one_frame_are_both_answered_and_rpc_without_message_id(device):
    async def go():
        client = await RawNetconf.open(device.port)
        client.writer.write(b'<?xml version="1.0" encoding="UTF-8"?><rpc message-id="a"><get-software-information/>'
                            b'</rpc>\n<rpc message-id="b"><get-chassis-inventory/></rpc>' + EOM)
        first, second = parse(await client.read_eom()), parse(await client.read_eom())
        client.writer.write(b"<rpc><get-route-engine-information/></rpc>" + EOM)  # Zabbix sends no message-id
        bare = parse(await client.read_eom())
        client.writer.write(b'<rpc message-id="c"><get-software-information/></rpc>junk' + EOM)
        junk = parse(await client.read_eom())
        client.close()
        return first, second, bare, junk

    first, second, bare, junk = run(go())
    assert first.get("message-id") == "a" and first.find(f"{NC}software-information") is not None
    assert second.get("message-id") == "b" and second.find(f"{CH}chassis-inventory") is not None
    assert "message-id" not in bare.attrib and bare.find(f"{CH}route-engine-information") is not None
    assert junk.find(f"{NC}rpc-error/{NC}error-tag").text == "malformed-message"


def test_catastrophic_match_pattern_is_refused_in_time(device):
    async def go():
        client = await RawNetconf.open(device.port)
        client.writer.write(b'<rpc message-id="re"><command format="text">show configuration | match "(.*)*x"'
                            b"</command></rpc>" + EOM)
        reply = parse(await client.read_eom(timeout=30))  # without the guard: minutes, the whole device stalled
        client.close()
        return reply

    reply = run(go())
    assert "too complex" in reply.findtext(f"{NC}rpc-error/{NC}error-message")
    assert_alive(device.port)


def test_junos_exec_fallback_works_and_other_channels_are_refused(device):
    """ncclient's Junos handler falls back to ``exec xml-mode netconf need-trailer``; a shell is refused."""
    async def go():
        conn = await asyncssh.connect("127.0.0.1", device.port, username="admin", password="admin123",
                                      known_hosts=None, client_keys=None, preferred_auth="password")
        writer, reader, _ = await conn.open_session(command="xml-mode netconf need-trailer", encoding=None)
        await asyncio.wait_for(reader.readuntil(EOM), 10)
        writer.write(b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>'
                     b"urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>" + EOM
                     + b'<rpc message-id="x"><get-software-information/></rpc>' + EOM)
        reply = parse((await asyncio.wait_for(reader.readuntil(EOM), 10))[:-len(EOM)])
        refused = []
        for kwargs in ({}, {"command": "start shell"}):
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_session(**kwargs)
            refused.append(kwargs)
        conn.close()
        return reply, refused

    reply, refused = run(go())
    assert reply.find(f"{NC}software-information/{NC}host-name").text == "peer1"
    assert len(refused) == 2


def test_runaway_xpath_filter_is_stopped_and_other_sessions_go_on(device):
    costly = "//*[count(//*[count(//*[count(//*[count(//*) = 9])=0]) = 9])=9]"  # fifth power of the size

    async def go():
        slow = await RawNetconf.open(device.port)
        other = await RawNetconf.open(device.port)
        slow.writer.write(b'<rpc message-id="x"><get-config><source><running/></source><filter type="xpath" select="'
                          + costly.encode() + b'"/></get-config></rpc>' + EOM)
        await asyncio.sleep(0.2)
        order = []

        async def read(client, name, send=None):
            reply = parse(await client.rpc(send, name) if send else await client.read_eom(timeout=60))
            order.append(name)
            return reply

        refused, answered = await asyncio.gather(read(slow, "xpath"), read(other, "other", "<get-software-information/>"))
        slow.close()
        other.close()
        return refused, answered, order

    refused, answered, order = run(go())
    assert "too expensive" in refused.findtext(f"{NC}rpc-error/{NC}error-message")
    assert answered.find(f"{NC}software-information") is not None
    assert order == ["other", "xpath"], "the event loop kept serving while the expression ran"
    assert_alive(device.port)


def test_invalid_utf8_is_a_malformed_message_and_latin1_declared_is_decoded(device):
    async def go():
        client = await RawNetconf.open(device.port)
        client.writer.write(b'<rpc message-id="u"><load-configuration action="set" format="text"><configuration-set>'
                            b"set interfaces lo0 description a\xffb</configuration-set></load-configuration></rpc>" + EOM)
        bad = parse(await client.read_eom())
        latin1 = await client.rpc(b'<load-configuration action="set" format="text"><configuration-set>set interfaces '
                                  b"lo0 description caf\xe9</configuration-set></load-configuration>", "l1")
        client.close()
        return bad, latin1

    # (the second request has no declaration, so \xe9 alone is invalid UTF-8 too: also refused cleanly)
    bad, latin1 = run(go())
    assert bad.find(f"{NC}rpc-error/{NC}error-tag").text == "malformed-message"
    assert parse(latin1).find(f"{NC}rpc-error/{NC}error-tag").text == "malformed-message"

    async def declared():
        client = await RawNetconf.open(device.port)
        client.writer.write(b'<?xml version="1.0" encoding="ISO-8859-1"?><rpc message-id="d"><load-configuration '
                            b'action="set" format="text"><configuration-set>set interfaces lo0 description caf\xe9'
                            b"</configuration-set></load-configuration></rpc>" + EOM)
        loaded = parse(await client.read_eom())
        diff = parse(await client.rpc('<get-configuration compare="rollback" rollback="0" format="text"/>', "c"))
        await client.rpc("<discard-changes/>", "x")
        client.close()
        return loaded, diff

    loaded, diff = run(declared())
    assert loaded.find(f"{NC}load-configuration-results/{NC}ok") is not None
    assert "description café;" in diff.findtext(f".//{NC}configuration-output")
