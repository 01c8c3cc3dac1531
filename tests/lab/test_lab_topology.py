"""Lab topology files: the shipped labs load, and every kind of mistake gets a clear error with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from netconf_device.lab.topology import GeneratedConfig, TopologyError, load_topology

REPO = Path(__file__).resolve().parents[2]


def write_lab(tmp_path: Path, text: str, files: tuple[str, ...] = ("a.set", "b.set")) -> Path:
    for name in files:
        (tmp_path / name).write_text("set system host-name x\n")
    path = tmp_path / "lab.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems(tmp_path: Path, text: str, **kwargs) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_topology(write_lab(tmp_path, text), **kwargs)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def test_lab_topology_seed_example_loads():
    topo = load_topology(REPO / "labs" / "mx304-p2p")
    assert topo.name == "mx304-p2p"
    assert set(topo.devices) == {"peer1", "peer2"}
    assert topo.devices["peer1"].config == REPO / "labs" / "mx304-p2p" / "peer1.set"
    assert (topo.devices["peer1"].user, topo.devices["peer1"].password) == ("lab", "lab123")
    assert str(topo.hosts["host1"].attach) == "peer1:et-0/1/8"
    assert [str(a) for a in topo.hosts["host2"].addresses] == ["2.2.2.2/24"]
    assert [str(g) for g in topo.hosts["host2"].gateways] == ["2.2.2.1"]
    assert [link.name for link in topo.links] == ["peer1:et-0/2/10--peer2:et-0/2/10"]
    assert not topo.needs_root
    assert topo.with_netns_hosts().needs_root


def test_lab_topology_all_shipped_labs_load():
    for lab_file in sorted(REPO.glob("labs/*/lab*.yaml")):
        topo = load_topology(lab_file)
        assert topo.devices, lab_file


def test_lab_topology_directory_without_lab_file(tmp_path):
    with pytest.raises(TopologyError, match="no such lab file"):
        load_topology(tmp_path)


def test_lab_topology_yaml_syntax_error_names_the_line(tmp_path):
    found = problems(tmp_path, """
        devices:
          a: {config: a.set
        hosts: {}
        """)
    assert len(found) == 1 and "lab.yaml:" in found[0] and "not valid YAML" in found[0]


def test_lab_topology_collects_every_problem_with_lines(tmp_path):
    found = problems(tmp_path, """
        name: bad lab
        devices:
          a:
            config: a.set
            modle: MX304
          b:
            config: missing.set
            port: 70000
        hosts:
          h1:
            attach: a:et-0/1/8
            addresses: [1.1.1.2/24]
            gateway: 1.1.2.1
          h2:
            attach: c:et-0/1/8
            addresses: [nonsense]
        links:
          - a:et-0/1/8 b:et-0/2/10
          - a:et-0/2/1 a:et-0/2/2
          - b:eth0 a:et-0/2/3
        """)
    text = "\n".join(found)
    expected = [
        ("lab.yaml:1: lab.name", "letters, digits"),
        ("lab.yaml:5: devices.a.modle", "did you mean 'model'"),
        ("lab.yaml:7: devices.b.config", "'missing.set' not found"),
        ("lab.yaml:8: devices.b.port", "1..65535"),
        ("lab.yaml:13: hosts.h1.gateway", "1.1.2.1 is not in any of the host's subnets (1.1.1.2/24)"),
        ("lab.yaml:15: hosts.h2.attach", "no device named 'c'"),
        ("lab.yaml:16: hosts.h2.addresses", "'nonsense' is not an address"),
        ("lab.yaml:18: links[0]", "a:et-0/1/8 is already used by host h1"),
        ("lab.yaml:19: links[1]", "both ends are on device a"),
        ("lab.yaml:20: links[2]", "'eth0' is not a physical interface name"),
    ]
    for where, what in expected:
        assert any(p.startswith(str(tmp_path / where)) and what in p for p in found), (where, what, text)
    assert len(found) == len(expected), text


def test_lab_topology_duplicate_names(tmp_path):
    found = problems(tmp_path, """
        devices:
          a: {config: a.set}
          a: {config: b.set}
        hosts:
          a: {attach: "a:et-0/0/0", addresses: 10.0.0.2/24}
        """)
    assert any(":3: a: defined twice" in p for p in found), found
    assert any("name 'a' is used by more than one device, host or peer" in p for p in found), found


def test_lab_topology_wrong_types_and_missing_keys(tmp_path):
    found = problems(tmp_path, """
        devices: [a, b]
        links: {a: b}
        """)
    assert any(":1: devices: expected a mapping of name -> settings, got a list" in p for p in found), found
    assert any(":2: links: expected a list of links, got a mapping" in p for p in found), found
    found = problems(tmp_path, """
        hosts:
          h: {addresses: [10.0.0.1/24], netns: "yes"}
        """)
    assert any("lab: missing required key 'devices'" in p for p in found), found
    assert any("hosts.h: missing required key 'attach'" in p for p in found), found


def test_lab_topology_host_needs_an_address(tmp_path):
    found = problems(tmp_path, """
        devices: {a: {config: a.set}}
        hosts:
          h: {attach: "a:et-0/0/1", netns: "yes"}
        """)
    assert any("hosts.h: a host needs at least one address" in p for p in found), found
    assert any("hosts.h.netns: expected true or false" in p for p in found), found


def test_lab_topology_peer_validation(tmp_path):
    found = problems(tmp_path, """
        devices: {mx: {config: a.set}}
        peers:
          swan:
            kind: racoon
            attach: mx:et-0/2/10
            address: 16.1.1.2/24
            connection: {remote: not-an-ip, psk: x, local_ts: [2.2.2.0/33]}
        hosts:
          h: {attach: swan, addresses: [2.2.2.2/24], gateway: 2.2.2.1}
        """)
    text = "\n".join(found)
    assert "peers.swan.kind: 'racoon': known kinds: strongswan" in text
    assert "peers.swan.connection.remote: 'not-an-ip' is not an IP address" in text
    assert "peers.swan.connection.local_ts: '2.2.2.0/33' is not a network" in text
    assert "hosts.h.attach: peer swan has no 'lan' address" in text


def test_lab_topology_generated_config_and_params(tmp_path):
    (tmp_path / "gen.py").write_text("print('set system host-name x')\n")
    path = write_lab(tmp_path, """
        params: {tunnels: 2000}
        devices:
          a:
            config: {generate: gen.py, args: [--tunnels, "${tunnels}", --peer, "1"]}
        """)
    topo = load_topology(path)
    assert topo.devices["a"].config == GeneratedConfig(tmp_path / "gen.py", ("--tunnels", "2000", "--peer", "1"))
    topo = load_topology(path, {"tunnels": "10"})
    assert topo.devices["a"].config.args[1] == "10"
    with pytest.raises(TopologyError, match="parameter 'tunels' is not declared in params"):
        load_topology(path, {"tunels": "10"})


def test_lab_topology_unknown_parameter_in_args(tmp_path):
    (tmp_path / "gen.py").write_text("")
    found = problems(tmp_path, """
        devices:
          a:
            config: {generate: gen.py, args: ["${nope}"]}
        """)
    assert any("unknown parameter ${nope}" in p for p in found), found


def test_lab_topology_namespace_hosts_need_root(tmp_path, monkeypatch):
    from netconf_device.lab import Lab, LabError

    monkeypatch.setattr("os.geteuid", lambda: 1000)
    lab = Lab.load(REPO / "labs" / "mx304-p2p", state_dir=tmp_path / "state", netns_hosts=True)
    with pytest.raises(LabError, match="needs root for its network-namespace hosts"):
        lab.up()
    lab = Lab.load(REPO / "labs" / "mx-strongswan", state_dir=tmp_path / "state")
    with pytest.raises(LabError, match="needs root for its strongSwan peers"):
        lab.up()
    assert not (tmp_path / "state" / "lab.json").exists()
