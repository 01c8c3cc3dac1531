"""``netconf-device config check|show|convert`` as a user runs it (a real subprocess from the repo root)."""

from __future__ import annotations

import re
import subprocess
import sys

from config_testlib import REPO, SEED

from netconf_device.schema import secret


def _plain(text: str) -> str:
    """Secrets decoded: every conversion of a plain-text key picks a fresh random $9$ salt, as Junos does."""
    return re.sub(r'"(\$9\$[^"]+)"', lambda m: repr(secret.decode9(m.group(1))), text)


def run_cli(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netconf_device", "config", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_readme_main_job_checks_the_seed_example():
    result = run_cli("check", "labs/mx304-p2p/peer1.set", "labs/mx304-p2p/peer2.set")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "labs/mx304-p2p/peer1.set: configuration check succeeds",
        "labs/mx304-p2p/peer2.set: configuration check succeeds",
    ]


def test_check_reports_junos_errors_and_fails(tmp_path):
    broken = (SEED / "peer1.set").read_text().replace("ike-policy ike_policy", "ike-policy no_such_policy")
    broken += "set security ipsec proposal ipsec_prop authentication-algorithm hmac-sha1-96\n"
    path = tmp_path / "broken.set"
    path.write_text(broken)
    result = run_cli("check", str(path))
    assert result.returncode == 1
    out = result.stdout
    assert "[edit security ike gateway ike_gw]" in out
    assert "Referenced IKE policy must be defined under [edit security ike policy]" in out
    assert "HMAC Authentication is not compatible with AES-GCM" in out
    assert out.rstrip().endswith("error: configuration check-out failed")
    assert "configuration check succeeds" not in out


def test_check_reports_syntax_error_with_line(tmp_path):
    path = tmp_path / "typo.set"
    path.write_text("set system host-name ok\nset system hostname-typo x\n")
    result = run_cli("check", str(path))
    assert result.returncode == 1
    assert f"{path}:2:" in result.stdout and "error: configuration load failed" in result.stdout


def test_check_reports_unreadable_pem(tmp_path):
    text = (SEED / "peer1.set").read_text() + (
        "set security pki local-certificate lc1 certificate-file /nonexistent/cert.pem\n"
        "set security pki local-certificate lc1 private-key-file /nonexistent/key.pem\n")
    path = tmp_path / "pki.set"
    path.write_text(text)
    result = run_cli("check", str(path))
    assert result.returncode == 1
    assert "[edit security pki local-certificate lc1]" in result.stdout
    assert "/nonexistent/cert.pem" in result.stdout


def test_convert_round_trips_through_every_format(tmp_path):
    source = SEED / "peer1.set"
    produced = {}
    for fmt in ("xml", "text", "json", "set"):
        result = run_cli("convert", "--format", fmt, str(source))
        assert result.returncode == 0, result.stderr
        produced[fmt] = result.stdout
        (tmp_path / f"peer1.{ {'text': 'conf'}.get(fmt, fmt) }").write_text(result.stdout)
    assert produced["xml"].lstrip().startswith("<configuration")
    assert "security {" in produced["text"] and "ipsec-vpn ipsec_vpn;" in produced["text"]
    assert '"configuration"' in produced["json"]
    assert "set security ipsec vpn ipsec_vpn bind-interface st0.1" in produced["set"]
    # each converted file converts back to the same set commands (formats detected from the file names)
    for name in ("peer1.xml", "peer1.conf", "peer1.json"):
        back = run_cli("convert", "--format", "set", str(tmp_path / name))
        assert back.returncode == 0, back.stderr
        assert _plain(back.stdout) == _plain(produced["set"]), name
    # and the input format can be forced
    forced = run_cli("show", "--input-format", "xml", str(tmp_path / "peer1.xml"))
    assert forced.returncode == 0 and _plain(forced.stdout) == _plain(produced["text"])
    assert "lab-secret-123" not in produced["set"] and "## SECRET-DATA" in produced["text"]
    assert run_cli("check", str(tmp_path / "peer1.json")).stdout.strip() == "configuration check succeeds"


def test_missing_file_is_a_clear_error(tmp_path):
    result = run_cli("check", str(tmp_path / "nope.set"))
    assert result.returncode == 1 and "No such file or directory" in result.stderr
