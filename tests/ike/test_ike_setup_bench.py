"""bench/ike_setup.py runs end to end on a few tunnels and reports CPU next to wall time (the real N is bench/)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+\.\d{3}"
HEADLINE = re.compile(rf"ike_setup: tunnels=(\d+) seconds=({NUMBER}) strongswan_seconds=(\S+) ratio=(\S+)")


def _run(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "bench/ike_setup.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def _fields(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.split()[1:])


def test_ike_setup_bench_reports_cpu_of_both_daemons_and_keeps_the_headline_format():
    lines = _run("--no-strongswan", "--tunnels", "40", "--groups", "19")
    (run,) = [line for line in lines if line.startswith("ours run")]
    assert "tunnels=40/40" in run and "ok=True" in run
    cpu_initiator = float(re.search(r"cpu_initiator=(\d+\.\d+)s", run).group(1))
    cpu_responder = float(re.search(r"cpu_responder=(\d+\.\d+)s", run).group(1))
    assert cpu_initiator > 0 and cpu_responder > 0  # each daemon did 40 key exchanges in the window
    (case,) = [_fields(line) for line in lines if line.startswith("ike_setup_case:")]
    assert float(case["cpu_seconds"]) == pytest.approx(cpu_initiator + cpu_responder, abs=0.002)
    assert case["strongswan_cpu_seconds"] == "n/a" and case["cpu_ratio"] == "n/a"
    assert lines[-2].startswith("ike_setup_cpu: tunnels=40 cpu_seconds=")
    headline = HEADLINE.fullmatch(lines[-1])
    assert headline and headline.group(1) == "40" and headline.group(3) == "n/a" and headline.group(4) == "n/a"


@pytest.mark.root
@pytest.mark.strongswan
def test_ike_setup_bench_measures_charon_cpu_in_the_same_run():
    lines = _run("--tunnels", "40", "--groups", "19")
    (swan_run,) = [line for line in lines if line.startswith("strongswan run")]
    assert "tunnels=40/40" in swan_run and "ok=True" in swan_run
    (case,) = [_fields(line) for line in lines if line.startswith("ike_setup_case:")]
    swan_wall, swan_cpu = float(case["strongswan_seconds"]), float(case["strongswan_cpu_seconds"])
    assert swan_wall > 0 and swan_cpu >= 0
    assert float(case["cpu_ratio"]) == pytest.approx(float(case["cpu_seconds"]) / swan_cpu, rel=0.01) \
        if swan_cpu else case["cpu_ratio"] == "n/a"
    assert lines[-2] == (f"ike_setup_cpu: tunnels=40 cpu_seconds={case['cpu_seconds']} "
                         f"strongswan_cpu_seconds={case['strongswan_cpu_seconds']} cpu_ratio={case['cpu_ratio']}")
    headline = HEADLINE.fullmatch(lines[-1])
    assert headline and headline.group(1) == "40" and float(headline.group(3)) == swan_wall
    assert headline.group(4) == case["ratio"] and float(case["ratio"]) > 0
