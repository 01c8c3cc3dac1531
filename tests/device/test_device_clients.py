"""Real clients read the live state of a device whose tunnel is up: PyEZ (RPC with detail, CLI text),
ncclient (`<command>` in XML and JSON) and an `ansible-playbook` run of `junos_command` with `display: xml`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from device_testlib import PASSWORD, USER, Vpn, ipsec_sas, open_host, settled, wait_for
from lxml import etree

PLAYBOOK = """
- hosts: mx
  gather_facts: false
  tasks:
    - name: live IKE and IPsec state
      junipernetworks.junos.junos_command:
        commands:
          - show security ike security-associations
          - show security ipsec security-associations
          - show security ipsec statistics
        display: xml
      register: live
    - ansible.builtin.assert:
        that:
          - "'<ike-sa-state>UP</ike-sa-state>' in live.stdout[0]"
          - "'<ike-sa-remote-address>16.1.1.2</ike-sa-remote-address>' in live.stdout[0]"
          - "'<sa-spi>' ~ inbound_spi ~ '</sa-spi>' in live.stdout[1]"
          - "'<esp-encrypted-packets>5</esp-encrypted-packets>' in live.stdout[2]"
          - live.output[1]['rpc-reply']['ipsec-security-associations-information']['total-active-tunnels'] == '1'
"""


def _ansible(tmp_path: Path, port: int, inbound_spi: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "live.yml"
    playbook.write_text(PLAYBOOK)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[mx]\n"
        f"dut ansible_host=127.0.0.1 ansible_port={port} ansible_user={USER} ansible_password={PASSWORD} "
        "ansible_connection=ansible.netcommon.netconf ansible_network_os=junipernetworks.junos.junos "
        f"ansible_python_interpreter={sys.executable} inbound_spi={inbound_spi}\n")
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {**os.environ, "HOME": str(home), "ANSIBLE_HOST_KEY_CHECKING": "False",
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ans-local"), "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ans-remote"),
           "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(tmp_path / "ans-pc"),
           "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_RETRY_FILES_ENABLED": "False", "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": "60"}
    binary = Path(sys.executable).parent / "ansible-playbook"
    return subprocess.run([str(binary), "-i", str(inventory), str(playbook)], env=env, capture_output=True,
                          text=True, timeout=240)


@pytest.mark.slow
def test_device_clients_read_live_state(pairs, tmp_path):
    from jnpr.junos import Device as PyEz

    pair = pairs.start([Vpn(1)])
    with pair.peer1.connect() as m, pair.peer2.connect() as m2:
        wait_for(lambda: ipsec_sas(m) and settled(m, m2, 1), what="tunnel up")
        spis = dict(ipsec_sas(m)[500001])

        async def ping():
            host1 = await open_host(pair, "host1", [1])
            await open_host(pair, "host2", [1])
            return await host1.ping("2.2.1.2", count=5, interval=0.02, timeout=2.0)

        assert asyncio.run(ping()).received == 5

        # --- ncclient: <command> in XML and in JSON
        xml = m.rpc(etree.fromstring("<command>show security ike security-associations</command>"))
        assert xml.xpath("//ike-security-associations/ike-sa-state")[0].text == "UP"
        js = m.rpc(etree.fromstring('<command format="json">show security ipsec security-associations</command>'))
        doc = json.loads(etree.fromstring(js.tostring).text)
        blocks = doc["ipsec-security-associations-information"][0]["ipsec-security-associations-block"]
        json_spis = {sa["sa-direction"][0]["data"]: sa["sa-spi"][0]["data"]
                     for block in blocks for sa in block["ipsec-security-associations"]}
        assert json_spis == spis

    # --- PyEZ
    with PyEz(host="127.0.0.1", port=pair.peer1.port, user=USER, passwd=PASSWORD, gather_facts=False) as dev:
        detail = dev.rpc.get_ike_security_associations_information(detail=True)
        assert detail.tag == "ike-security-associations-information"
        assert detail.findtext(".//ike-sa-remote-address") == "16.1.1.2"
        assert detail.findtext(".//ike-sa-state") == "UP"
        assert detail.findtext(".//ike-sa-lifetime").startswith("Expires in ")
        assert detail.findtext(".//ike-sa-local-gateway-interface") == "et-0/2/10.0"
        text = dev.cli("show security ipsec security-associations", format="text", warning=False)
        assert "Total active tunnels: 1" in text
        assert re.search(rf"<500001\s+ESP:aes-gcm-256/None\s+{spis['<']}", text), text
        stats = dev.rpc.get_ipsec_statistics_information()
        assert stats.findtext(".//esp-encrypted-packets") == "5"

    # --- ansible-playbook, junos_command with display: xml
    proc = _ansible(tmp_path, pair.peer1.port, spis["<"])
    recap = re.search(r"dut\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert proc.returncode == 0 and recap, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert recap.group(4) == "0" and recap.group(1) == "2"
