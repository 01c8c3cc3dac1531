"""Unit tests of the sans-IO parts: framing, hardened XML, password hashes, errors, command table, renderers."""

from __future__ import annotations

import json
import warnings

import pytest
from lxml import etree

from netconf_device.netconf.errors import RpcError, errors_from_exception, lock_denied
from netconf_device.netconf.framing import EOM, Framer, FramingError, MessageTooLarge
from netconf_device.netconf.passwords import sha512_crypt, verify_password
from netconf_device.netconf.xmlsafe import XmlSecurityError, parse_untrusted
from netconf_device.rpc.commands import COMMANDS, parse_command
from netconf_device.rpc.render import to_json


# ------------------------------------------------------------------------------------------- framing
def test_eom_messages_split_anywhere():
    framer = Framer()
    stream = b"<a/>" + EOM + b"<b>x</b>" + EOM
    for i in range(len(stream)):
        framer.feed(stream[i : i + 1])
    assert framer.next_message() == b"<a/>"
    assert framer.next_message() == b"<b>x</b>"
    assert framer.next_message() is None


def test_chunked_multi_chunk_message_and_encode_roundtrip():
    framer = Framer()
    framer.set_chunked()
    framer.feed(b"\n#4\n<rpc\n#17\n message-id='1'/>\n##\n\n#4\n<a/")
    assert framer.next_message() == b"<rpc message-id='1'/>"
    assert framer.next_message() is None
    framer.feed(b">\n##\n")
    assert framer.next_message() == b"<a/>"
    out = Framer()
    out.set_chunked()
    assert out.encode(b"<ok/>") == b"\n#5\n<ok/>\n##\n"


@pytest.mark.parametrize("bad", [b"junk\n#3\nabc\n##\n", b"\n#0\n\n##\n", b"\n#012\nabc", b"\n#abc\n",
                                 b"\n##\n", b"\n#99999999999\n"])
def test_chunked_framing_errors(bad):
    framer = Framer()
    framer.set_chunked()
    framer.feed(bad)
    with pytest.raises(FramingError):
        framer.next_message()


def test_oversized_messages_are_refused_without_growing_past_the_bound():
    limit = 1024
    framer = Framer(limit)
    for _ in range(3):
        framer.feed(b"x" * 400)
        if framer.buffered > limit + len(EOM):
            break
    with pytest.raises(MessageTooLarge):
        framer.next_message()
    chunked = Framer(limit)
    chunked.set_chunked()
    chunked.feed(b"\n#2000\n")  # the header alone announces too much
    with pytest.raises(MessageTooLarge):
        chunked.next_message()


# ------------------------------------------------------------------------------------------- XML
def test_dtd_and_entities_are_refused():
    laughs = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>'
    with pytest.raises(XmlSecurityError):
        parse_untrusted(laughs)
    external = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(XmlSecurityError):
        parse_untrusted(external)


def test_nesting_depth_is_bounded():
    deep = b"<a>" * 5000 + b"</a>" * 5000
    with pytest.raises(etree.XMLSyntaxError):
        parse_untrusted(deep)
    assert parse_untrusted(b"<a>" * 100 + b"</a>" * 100) is not None


# ------------------------------------------------------------------------------------------- passwords
def test_sha512_crypt_matches_the_specification_vectors():
    assert sha512_crypt("Hello world!", "$6$saltstring") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
    assert sha512_crypt("Hello world!", "$6$rounds=10000$saltstringsaltstring") == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.")


def test_sha512_crypt_agrees_with_libc_crypt_when_available():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")
    for password in ("", "a", "lab123", "x" * 80, "pässwörd"):
        reference = crypt.crypt(password, "$6$0123456789abcdef")
        assert sha512_crypt(password, reference) == reference
        assert verify_password(password, reference)
        assert not verify_password(password + "!", reference)


def test_verify_rejects_other_hash_kinds_and_fresh_hashes_verify():
    assert not verify_password("lab123", "$1$abc$def")
    assert not verify_password("lab123", "")
    fresh = sha512_crypt("s3cret")
    assert fresh.startswith("$6$") and verify_password("s3cret", fresh)
    seed = "$6$labsalt0$GwxpMJMhQY6Xsd1sjr8nouQcKnWqp/dgIMZyzwyYYMZ1F7raFw9FRs4HJoW0kRV7585DdcBHw1/gz3IbmrArE/"
    assert verify_password("lab123", seed)


# ------------------------------------------------------------------------------------------- errors
def test_rpc_error_element_has_junos_order_and_fields():
    err = RpcError("syntax error", bad_element="bogus", path="[edit system]", daemon="mgd")
    names = [c.tag for c in err.to_element()]
    assert names == ["error-type", "error-tag", "error-severity", "source-daemon", "error-path", "error-message",
                     "error-info"]
    denied = lock_denied(4242, "configuration database locked").to_element()
    assert denied.findtext("error-tag") == "lock-denied"
    assert denied.findtext("error-info/session-id") == "4242"


def test_unexpected_exceptions_become_internal_error_without_details():
    errors = errors_from_exception(ValueError("secret detail /etc/shadow"))
    assert len(errors) == 1 and "shadow" not in errors[0].message


# ------------------------------------------------------------------------------------------- commands
def _xml(element) -> str:
    return etree.tostring(element).decode()


def test_command_table_maps_cli_text_to_rpc_and_arguments():
    assert _xml(parse_command("show version")) == "<get-software-information/>"
    assert _xml(parse_command("show interfaces terse ge-0/0/0")) == (
        "<get-interface-information><terse/><interface-name>ge-0/0/0</interface-name></get-interface-information>")
    assert _xml(parse_command("sh int st0.1 te")) == (
        "<get-interface-information><interface-name>st0.1</interface-name><terse/></get-interface-information>")
    assert _xml(parse_command("show security ike security-associations index 500001 detail")) == (
        "<get-ike-security-associations-information><show-index-ike-security-association>500001"
        "</show-index-ike-security-association><detail/></get-ike-security-associations-information>")
    assert _xml(parse_command("show version invoke-on all-routing-engines")) == (
        "<get-software-information><invoke-on>all-routing-engines</invoke-on></get-software-information>")
    assert parse_command("show chassis fpc pic-status").tag == "get-pic-information"
    assert _xml(parse_command("show chassis fpc 0 pic 0")) == (
        "<get-pic-detail><fpc-slot>0</fpc-slot><pic-slot>0</pic-slot></get-pic-detail>")
    assert _xml(parse_command("show chassis fpc 0")) == "<get-fpc-information><fpc-slot>0</fpc-slot></get-fpc-information>"


def test_unknown_commands_are_syntax_errors_naming_the_word():
    with pytest.raises(RpcError) as info:
        parse_command("show bogus thing")
    assert info.value.message.startswith("syntax error") and info.value.bad_element == "bogus"
    with pytest.raises(RpcError):
        parse_command("show version extra-arg")


def test_table_rows_are_unique():
    keys = [row.words for row in COMMANDS]
    assert len(keys) == len(set(keys))


def test_json_has_junos_display_json_shape():
    root = etree.fromstring('<software-information xmlns:junos="http://xml.juniper.net/junos/24.4R0/junos" '
                            'junos:style="x"><host-name>mx</host-name><empty/></software-information>')
    doc = json.loads(to_json([root]))
    info = doc["software-information"][0]
    assert info["attributes"] == {"junos:style": "x"}
    assert info["host-name"] == [{"data": "mx"}]
    assert info["empty"] == [{"data": [None]}]


def test_a_session_needs_the_class_of_the_user_who_logged_in():
    """A key accepted in a query for one user name must not lend its class to a login under another name."""
    from types import SimpleNamespace

    from netconf_device.netconf.server import _SSHServer

    device = SimpleNamespace(options=SimpleNamespace(max_sessions=1))
    server = _SSHServer(SimpleNamespace(device=device, connections=0))
    server._conn = SimpleNamespace(get_extra_info=lambda name: {"username": "viewer"}.get(name))
    server._user, server._login_class = "admin", "super-user"  # left over from the unsigned query
    assert server.session_requested() is False
    server._user, server._login_class = "viewer", "read-only"
    assert server.session_requested() is not False
