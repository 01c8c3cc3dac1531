"""`show security ipsec statistics [index N]`: XML (§1.6) and CLI text (§2.3)."""

from __future__ import annotations

from lxml import etree

from netconf_device.show.security_text import render_ipsec_statistics
from netconf_device.show.security_xml import build_ipsec_statistics
from netconf_device.show.text import render_text
from netconf_device.show.views import IpsecStatisticsView

# Toby NITA/tests/unit/security/ipsec/srx_ipsec_stats.xml (§1.6), followed by the four error counters of
# newer releases (YANG 24.4, in YANG order, matching the cSRX CLI lines of §2.3).
TOBY_STATISTICS = """
<usp-ipsec-total-statistics-information>
  <esp-statistics>
    <esp-encrypted-bytes>0</esp-encrypted-bytes>
    <esp-decrypted-bytes>0</esp-decrypted-bytes>
    <esp-encrypted-packets>0</esp-encrypted-packets>
    <esp-decrypted-packets>0</esp-decrypted-packets>
  </esp-statistics>
  <ah-statistics>
    <ah-input-bytes>0</ah-input-bytes>
    <ah-output-bytes>0</ah-output-bytes>
    <ah-input-packets>0</ah-input-packets>
    <ah-output-packets>0</ah-output-packets>
  </ah-statistics>
  <error-statistics>
    <ah-authentication-failures>0</ah-authentication-failures>
    <replay-errors>0</replay-errors>
    <esp-authentication-failures>0</esp-authentication-failures>
    <esp-decryption-failures>0</esp-decryption-failures>
    <bad-headers>0</bad-headers>
    <bad-trailers>0</bad-trailers>
    <invalid-spi-errors>0</invalid-spi-errors>
    <ts-check-fail-errors>0</ts-check-fail-errors>
    <exceeds-tunnel-mtu>0</exceeds-tunnel-mtu>
    <discard-errors>0</discard-errors>
  </error-statistics>
</usp-ipsec-total-statistics-information>
"""

# cSRX capture, reference §2.3 (spacing preserved).
CSRX_TEXT = """\
ESP Statistics:
  Encrypted bytes:         14689428
  Decrypted bytes:          7909692
  Encrypted packets:          94163
  Decrypted packets:          94163
AH Statistics:
  Input bytes:                    0
  Output bytes:                   0
  Input packets:                  0
  Output packets:                 0
Errors:
  AH authentication failures: 0, Replay errors: 0
  ESP authentication failures: 0, ESP decryption failures: 0
  Bad headers: 0, Bad trailers: 0
  Invalid SPI: 0, TS check fail: 129
  Exceeds tunnel MTU: 0
  Discarded: 129
"""

CSRX_VIEW = IpsecStatisticsView(
    encrypted_bytes=14689428,
    decrypted_bytes=7909692,
    encrypted_packets=94163,
    decrypted_packets=94163,
    ts_check_failures=129,
    discarded=129,
)


def test_zero_counters_match_toby_capture(xml_tools):
    built = build_ipsec_statistics(IpsecStatisticsView())
    reference = xml_tools.parse(TOBY_STATISTICS)
    assert etree.QName(built).localname == "usp-ipsec-total-statistics-information"
    assert xml_tools.shape(built) == xml_tools.shape(reference)
    assert xml_tools.leaves(built) == xml_tools.leaves(reference)


def test_every_counter_lands_in_its_own_element():
    values = {name: 1000 + i for i, name in enumerate(IpsecStatisticsView.__dataclass_fields__)}
    built = build_ipsec_statistics(IpsecStatisticsView(**values))
    leaves = [int(e.text) for e in built.iter() if len(e) == 0 and e is not built]
    assert sorted(leaves) == sorted(values.values())  # each field emitted exactly once
    assert built.findtext("esp-statistics/esp-encrypted-bytes") == str(values["encrypted_bytes"])
    assert built.findtext("error-statistics/invalid-spi-errors") == str(values["invalid_spi"])
    assert built.findtext("error-statistics/exceeds-tunnel-mtu") == str(values["exceeds_tunnel_mtu"])
    assert built.findtext("error-statistics/discard-errors") == str(values["discarded"])
    assert built.findtext("error-statistics/replay-errors") == str(values["replay_errors"])


def test_text_matches_csrx_capture_line_by_line():
    text = render_text(build_ipsec_statistics(CSRX_VIEW))
    assert text.splitlines() == CSRX_TEXT.splitlines()
    assert text == CSRX_TEXT


def test_large_counters_stay_right_aligned_and_never_touch_the_label():
    view = IpsecStatisticsView(encrypted_bytes=2**64 - 1, decrypted_bytes=12345678901234567)
    lines = render_ipsec_statistics(build_ipsec_statistics(view)).splitlines()
    assert lines[1] == "  Encrypted bytes: 18446744073709551615"
    assert lines[2] == "  Decrypted bytes: 12345678901234567"
    assert lines[3].endswith(" 0") and len(lines[3]) == 35


def test_total_sums_per_tunnel_counters():
    a = IpsecStatisticsView(encrypted_packets=3, decrypted_packets=5, replay_errors=1)
    b = IpsecStatisticsView(encrypted_packets=4, bad_headers=2)
    total = IpsecStatisticsView.total([a, b])
    assert (total.encrypted_packets, total.decrypted_packets, total.replay_errors, total.bad_headers) == (
        7,
        5,
        1,
        2,
    )
    assert IpsecStatisticsView.total([]) == IpsecStatisticsView()


def test_unknown_index_gives_empty_reply_and_no_text():
    built = build_ipsec_statistics(None)
    assert etree.QName(built).localname == "usp-ipsec-total-statistics-information"
    assert len(built) == 0
    assert render_text(built) == ""


def test_text_of_an_older_reply_without_the_new_counters(xml_tools):
    """A reply with only the six classic error counters (Toby's capture) prints the classic lines."""
    reply = xml_tools.parse(TOBY_STATISTICS)
    errors = reply.find("error-statistics")
    for name in ("invalid-spi-errors", "ts-check-fail-errors", "exceeds-tunnel-mtu", "discard-errors"):
        errors.remove(errors.find(name))
    lines = render_text(reply).splitlines()
    assert lines[-1] == "  Bad headers: 0, Bad trailers: 0"
    assert len(lines) == 14
