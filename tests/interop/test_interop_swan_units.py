"""Root-free tests of the harness's pure parts: config rendering, vici codec, swanctl/log/probe parsers."""

from __future__ import annotations

import struct

import pytest

from netconf_device.interop import vici
from netconf_device.interop.charon_log import EspSaKeys, IkeSaKeys, extract_keys
from netconf_device.interop.ike_probe import NON_ESP_MARKER, build_ike_sa_init, parse_reply
from netconf_device.interop.strongswan import StrongswanError, parse_list_sas
from netconf_device.interop.swanctl_conf import (
    CharonSettings,
    Child,
    ConfigError,
    Connection,
    render_settings,
    render_strongswan_conf,
    render_swanctl_conf,
)
from netconf_device.interop.tshark import TsharkError, esp_uat_row, ike_uat_row


# ------------------------------------------------------------------------------------------ config
def test_interop_swanctl_conf_psk_is_hex_and_ids_quoted():
    conn = Connection(
        name="gw1", local_addrs=("10.0.0.1",), remote_addrs=("10.0.0.2",), psk='p#s"k {x}',
        local_id="C=CH, O=netconf-device, CN=left", remote_id="right@example.org", remote_port=4500,
        children=(Child(local_ts=("1.1.1.0/24", "1.1.2.0/24"), remote_ts=("2.2.2.0/24",), rekey_time=600),),
        dpd_delay=5, encap=True,
    )
    text = render_swanctl_conf([conn])
    assert 'p#s"k' not in text and "secret = 0x" + b'p#s"k {x}'.hex() in text
    assert 'id = "C=CH, O=netconf-device, CN=left"' in text
    assert "id-local = \"C=CH, O=netconf-device, CN=left\"" in text and "id-remote = right@example.org" in text
    assert "local_ts = 1.1.1.0/24, 1.1.2.0/24" in text and "remote_port = 4500" in text
    assert "encap = yes" in text and "dpd_delay = 5" in text and "rekey_time = 600" in text
    assert text.count("{") == text.count("}")


def test_interop_connection_validation():
    with pytest.raises(ConfigError, match="psk"):
        render_swanctl_conf([Connection(local_addrs=("10.0.0.1",))])
    with pytest.raises(ConfigError, match="cert"):
        render_swanctl_conf([Connection(auth="pubkey")])
    with pytest.raises(ConfigError, match="traffic selector"):
        render_swanctl_conf([Connection(psk="x", children=(Child(local_ts=("1.1.1.300/24",)),))])
    with pytest.raises(ConfigError, match="duplicate"):
        render_swanctl_conf([Connection(psk="x"), Connection(psk="y")])
    with pytest.raises(ConfigError, match="name"):
        render_swanctl_conf([Connection(name="bad name", psk="x")])
    with pytest.raises(ConfigError, match="line break"):
        render_settings({"a": "x\ny"})


def test_interop_charon_settings_rules():
    with pytest.raises(ConfigError, match="threads must be >= 10"):
        CharonSettings(threads=8).validate()
    with pytest.raises(ConfigError, match="differ"):
        CharonSettings(port=4500, port_nat_t=4500).validate()
    with pytest.raises(ConfigError, match="log group"):
        CharonSettings(log_levels={"nope": 1}).validate()
    text = render_strongswan_conf(CharonSettings(port=15500, port_nat_t=15501, reuse_ikesa=False),
                                  log_path="/x/charon.log", vici_uri="unix:///x/charon.vici")
    for line in ("port = 15500", "port_nat_t = 15501", "reuse_ikesa = no", "load_modular = no",
                 "socket = unix:///x/charon.vici", "path = /x/charon.log", "ike = 4", "chd = 4"):
        assert line in text
    assert "kernel-libipsec" in text and "kernel-netlink" in text


def test_interop_connection_to_vici_message():
    conn = Connection(name="b1", local_addrs=("10.0.0.1",), remote_addrs=("10.0.0.2",), psk="k",
                      unique="never", children=(Child(name="c1", start_action="start"),))
    msg = conn.to_vici()["b1"]
    assert msg["unique"] == "never" and msg["remote_port"] == "500" and msg["mobike"] == "no"
    assert msg["children"]["c1"]["start_action"] == "start"
    assert msg["children"]["c1"]["esp_proposals"] == ["aes256gcm16"]
    assert conn.vici_shared_secret() == {"id": "ike-b1", "type": "IKE", "data": "k",
                                         "owners": ["10.0.0.1", "10.0.0.2"]}


# ------------------------------------------------------------------------------------------ vici codec
def test_interop_vici_roundtrip_and_limits():
    msg = {"a": "1", "list": ["x", "y"], "sec": {"inner": {"k": "v"}, "empty": []}}
    assert vici.decode(vici.encode(msg)) == msg
    with pytest.raises(vici.ViciError, match="truncated"):
        vici.decode(vici.encode({"a": "12345"})[:-2])
    with pytest.raises(vici.ViciError, match="element type"):
        vici.decode(b"\x09")
    with pytest.raises(vici.ViciError, match="unterminated"):
        vici.decode(bytes([vici.SECTION_START, 1]) + b"s")
    with pytest.raises(vici.ViciError, match="exceeds"):
        vici._packet(vici.CMD_REQUEST, "load-conn", vici.encode({f"k{i}": "v" * 60000 for i in range(10)}))


# ------------------------------------------------------------------------------------------ list-sas
LIST_SAS_PRETTY = """\
list-sa event {
  peer {
    uniqueid = 3
    version = 2
    state = ESTABLISHED
    local-host = 10.200.0.1
    local-port = 4500
    local-id = C=CH, O=x, CN=left
    remote-host = 10.200.0.2
    remote-port = 4500
    remote-id = 10.200.0.2
    initiator = yes
    initiator-spi = 2bc0e0ac57bede20
    responder-spi = 508de6073aeea136
    nat-remote = yes
    nat-any = yes
    encr-alg = AES_CBC
    encr-keysize = 256
    integ-alg = HMAC_SHA2_256_128
    prf-alg = PRF_HMAC_SHA2_256
    dh-group = MODP_2048
    established = 7
    child-sas {
      net-1 {
        name = net
        uniqueid = 1
        reqid = 1
        state = INSTALLED
        mode = TUNNEL
        protocol = ESP
        encap = yes
        spi-in = 26e37494
        spi-out = 5466e994
        encr-alg = AES_GCM_16
        encr-keysize = 256
        bytes-in = 168
        packets-in = 2
        bytes-out = 252
        packets-out = 3
        install-time = 0
        local-ts = [
          1.1.1.0/24
        ]
        remote-ts = [
          2.2.2.0/24
          2.2.3.0/24
        ]
      }
    }
  }
}
list-sas reply {
}
"""


def test_interop_parse_list_sas_pretty():
    (sa,) = parse_list_sas(LIST_SAS_PRETTY)
    assert (sa.name, sa.uniqueid, sa.state, sa.initiator) == ("peer", 3, "ESTABLISHED", True)
    assert (sa.spi_i, sa.spi_r) == (0x2BC0E0AC57BEDE20, 0x508DE6073AEEA136)
    assert sa.local_id == "C=CH, O=x, CN=left" and sa.nat_remote and not sa.nat_local
    (c,) = sa.children
    assert (c.spi_in, c.spi_out, c.encap, c.encr_keysize) == (0x26E37494, 0x5466E994, True, 256)
    assert (c.bytes_in, c.packets_in, c.bytes_out, c.packets_out) == (168, 2, 252, 3)
    assert c.remote_ts == ("2.2.2.0/24", "2.2.3.0/24") and c.integ_alg is None
    with pytest.raises(StrongswanError):
        parse_list_sas("list-sa event {\n  peer {\n    what is this\n")


# ------------------------------------------------------------------------------------------ charon log
def _dump(tid: str, grp: str, prefix: str, label: str, data: bytes) -> list[str]:
    """Lines exactly as charon's %B prints them (16 bytes per row, hex then ASCII)."""
    head = f"2026-01-01 00:00:00 {tid}[{grp}] {prefix}"
    lines = [f"{head}{label} => {len(data)} bytes @ 0x7f0000001000"]
    for off in range(0, len(data), 16):
        row = data[off:off + 16]
        hexpart = " ".join(f"{b:02X}" for b in row).ljust(47)
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{head}{off:4d}: {hexpart}  {ascii_part}")
    return lines


def _line(tid: str, grp: str, prefix: str, msg: str) -> str:
    return f"2026-01-01 00:00:00 {tid}[{grp}] {prefix}{msg}"


def test_interop_extract_keys_attribution():
    """Initiator IKE keys + child keys with another thread's lines interleaved in the middle of a dump."""
    p = "<peer|1> "
    k = {n: bytes([i]) * ln for i, (n, ln) in enumerate(
        [("Sk_d", 32), ("Sk_ai", 32), ("Sk_ar", 32), ("Sk_ei", 32), ("Sk_er", 32), ("Sk_pi", 32), ("Sk_pr", 32)], 1)}
    enc_i, enc_r = bytes(range(36)), bytes(range(100, 136))
    log = [
        _line("13", "MGR", "", "checkout IKEv2 SA by message with SPIs 1111111111111111_i 0000000000000000_r"),
        _line("13", "ENC", p, "parsed IKE_SA_INIT response 0 [ SA KE No ]"),
        _line("13", "CFG", p, "selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"),
    ]
    for name, data in k.items():
        rows = _dump("13", "IKE", p, f"{name} secret", data)
        log += rows[:2] + [_line("07", "NET", "", "received packet: from 1.2.3.4[500]")] + rows[2:]
    log += [
        _line("13", "MGR", p, "checkin IKEv2 SA peer[1] with SPIs 1111111111111111_i 2222222222222222_r"),
        _line("14", "MGR", "", "checkout IKEv2 SA by message with SPIs 1111111111111111_i 2222222222222222_r"),
        _line("14", "ENC", p, "parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr ]"),
        _line("14", "CFG", p, "selected proposal: ESP:AES_GCM_16_256/NO_EXT_SEQ"),
        *_dump("14", "CHD", p, "encryption initiator key", enc_i),
        *_dump("14", "CHD", p, "encryption responder key", enc_r),
        _line("14", "CHD", p, "adding inbound ESP SA"),
        _line("14", "CHD", p, "  SPI 0xc0000001, src 10.0.0.2 dst 10.0.0.1"),
        _line("14", "CHD", p, "adding outbound ESP SA"),
        _line("14", "CHD", p, "  SPI 0xc0000002, src 10.0.0.1 dst 10.0.0.2"),
    ]
    keys = extract_keys("\n".join(log))
    (ike,) = keys.ike_sas
    assert (ike.name, ike.spi_i, ike.spi_r) == ("peer[1]", 0x1111111111111111, 0x2222222222222222)
    assert ike.proposal.startswith("IKE:AES_CBC_256/") and ike.encryption == "AES_CBC_256"
    assert ike.integrity == "HMAC_SHA2_256_128"
    assert (ike.sk_d, ike.sk_ei, ike.sk_pr) == (k["Sk_d"], k["Sk_ei"], k["Sk_pr"])
    (child,) = keys.child_sas
    # this node initiated IKE_AUTH (it parsed the response): it sends with the initiator key
    assert child.exchange_initiator and (child.spi_in, child.spi_out) == (0xC0000001, 0xC0000002)
    assert (child.key_out, child.key_in) == (enc_i, enc_r)
    assert child.outbound.src == "10.0.0.1" and child.inbound.dst == "10.0.0.1"
    assert keys.esp_sas()[0].encryption == "AES_GCM_16_256" and "sk_" not in repr(ike)
    assert enc_i.hex() not in repr(keys)  # secrets stay out of reprs (and so out of test logs)


def test_interop_extract_keys_responder_rekey_and_truncated_dump():
    """As the exchange responder (parsed a request) inbound uses the initiator key; a truncated dump is
    dropped instead of producing a short key."""
    p = "<peer|2> "
    enc_i, enc_r = bytes([1]) * 36, bytes([2]) * 36
    log = [
        _line("09", "MGR", "", "checkout IKEv2 SA by message with SPIs aaaaaaaaaaaaaaaa_i bbbbbbbbbbbbbbbb_r"),
        _line("09", "ENC", p, "parsed CREATE_CHILD_SA request 4 [ N(REKEY_SA) SA No KE TSi TSr ]"),
        *_dump("09", "CHD", p, "encryption initiator key", enc_i),
        *_dump("09", "CHD", p, "encryption responder key", enc_r),
        _line("09", "CHD", p, "adding inbound ESP SA"),
        _line("09", "CHD", p, "  SPI 0x00000011, src 10.0.0.1 dst 10.0.0.2"),
        _line("09", "CHD", p, "registering outbound ESP SA"),
        _line("09", "CHD", p, "  SPI 0x00000022, src 10.0.0.2 dst 10.0.0.1"),
        *_dump("10", "IKE", p, "Sk_d secret", bytes(32))[:2],  # cut short
        _line("10", "MGR", p, "checkin IKEv2 SA peer[2] with SPIs aaaaaaaaaaaaaaaa_i bbbbbbbbbbbbbbbb_r"),
    ]
    keys = extract_keys(log)
    (child,) = keys.child_sas
    assert not child.exchange_initiator and child.key_in == enc_i and child.key_out == enc_r
    assert child.proposal is None
    assert keys.ike_sas == () or all(len(k.sk_d) == 32 for k in keys.ike_sas)


# ------------------------------------------------------------------------------------------ probe / tshark rows
def test_interop_ike_probe_message_roundtrip():
    msg = build_ike_sa_init(b"\x01" * 8, group=19, natd=(("10.0.0.1", 500), ("10.0.0.2", 500)))
    assert struct.unpack("!I", msg[24:28])[0] == len(msg)
    reply = parse_reply(NON_ESP_MARKER + msg)
    assert reply.non_esp_marker and reply.spi_i == 0x0101010101010101 and reply.exchange == 34
    assert reply.payloads == ("SA", "KE", "Nonce", "N(NAT_DETECTION_SOURCE_IP)", "N(NAT_DETECTION_DESTINATION_IP)")
    assert not reply.is_ike_sa_init_response  # a request
    assert parse_reply(b"\x00" * 10) is None and parse_reply(msg[:27]) is None
    truncated = parse_reply(msg[:28] + msg[28:40])  # header length claims more than present
    assert truncated is None
    with pytest.raises(ValueError):
        build_ike_sa_init(b"short")


def test_interop_tshark_uat_rows():
    ike = IkeSaKeys("p[1]", 0x1, 0x2, "IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384", b"d", b"", b"",
                    b"\x0a" * 36, b"\x0b" * 36, b"p", b"q")
    assert ike_uat_row(ike) == (
        f'0000000000000001,0000000000000002,{"0a" * 36},{"0b" * 36},'
        '"AES-GCM-256 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"')
    esp = EspSaKeys(0xC0000001, "10.0.0.1", "10.0.0.2", "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ",
                    b"\x01" * 16, b"\x02" * 32)
    assert esp_uat_row(esp) == (
        f'"IPv4","10.0.0.1","10.0.0.2","0xc0000001","AES-CBC [RFC3602]","0x{"01" * 16}",'
        f'"HMAC-SHA-256-128 [RFC4868]","0x{"02" * 32}"')
    with pytest.raises(TsharkError, match="cannot decrypt"):
        esp_uat_row(EspSaKeys(1, "a", "b", "ESP:CAMELLIA_CBC_128/HMAC_SHA1_96", b"k", b"i"))


def test_interop_error_messages_never_carry_key_dumps(tmp_path):
    """charon's log tail goes into StrongswanError messages (and so into CI logs): no key material."""
    from netconf_device.interop.strongswan import Charon

    c = Charon(tmp_path, "x")
    c.dir.mkdir(parents=True)
    secret = bytes(range(0xA0, 0xC0))
    lines = [_line("13", "IKE", "<peer|1> ", "establishing CHILD_SA net{1}")]
    lines += _dump("13", "IKE", "<peer|1> ", "Sk_ei secret", secret)
    lines += _dump("13", "IKE", "<peer|1> ", "secret", b"my-psk")
    lines.append(_line("13", "IKE", "<peer|1> ", "IKE_SA peer[1] state change: CONNECTING => DESTROYING"))
    c.log_path.write_text("\n".join(lines) + "\n")
    text = c._diagnostics()
    assert "establishing CHILD_SA" in text and "DESTROYING" in text
    assert "A0 A1 A2" not in text and "my-psk" not in text and "bytes @" not in text
