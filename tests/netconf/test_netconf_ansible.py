"""ansible-playbook (ansible 12.x: junipernetworks.junos + ansible.netcommon) against a real device (item 9).

One playbook run covers junos_facts, junos_config with ``lines`` (check mode with diff, backup, a clear-text
pre-shared key) and with ``src`` in text and XML (each run twice: the second reports changed=false),
``rollback``, ``confirm`` and ``confirm_commit``, junos_command (text/xml/json), junos_rpc, and netconf_get /
netconf_config (``validate: true``) / netconf_rpc; the playbook's own ``assert`` tasks check the results, and
the test checks the recap.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PLAYBOOK = """
- hosts: mx
  gather_facts: false
  tasks:
    - name: facts
      junipernetworks.junos.junos_facts:
        gather_subset: [all]
    - ansible.builtin.assert:
        that:
          - ansible_net_hostname == "peer1"
          - ansible_net_model == "mx304"
          - ansible_net_version == "24.4R1.9"
          - ansible_net_serialnum is match("VM")
          - ansible_net_memtotal_mb > 0
          - ansible_net_interfaces | length > 0

    - name: config lines in check mode
      junipernetworks.junos.junos_config:
        lines: "{{ config_lines }}"
      check_mode: true
      diff: true
      register: lines0
    - name: config lines
      junipernetworks.junos.junos_config:
        lines: "{{ config_lines }}"
        comment: lines from ansible
        backup: true
      register: lines1
    - name: config lines again
      junipernetworks.junos.junos_config:
        lines: "{{ config_lines }}"
      register: lines2
    - ansible.builtin.assert:
        that:
          - lines0 is changed and "description ansible-lines;" in lines0.diff.prepared
          - lines1 is changed  # check mode committed nothing
          - lines1.backup_path is file
          - lines2 is not changed  # the clear-text pre-shared key set again changes nothing

    - name: config src xml (a whole configuration file, as show configuration | display xml writes it)
      junipernetworks.junos.junos_config:
        src: "{{ src_xml }}"
        src_format: xml
      register: xml1
    - name: config src xml again
      junipernetworks.junos.junos_config:
        src: "{{ src_xml }}"
        src_format: xml
      register: xml2
    - name: rollback 1 (undoes the xml change)
      junipernetworks.junos.junos_config:
        rollback: 1
      diff: true
      register: rb1
    - name: confirmed commit
      junipernetworks.junos.junos_config:
        lines: [set interfaces lo0 unit 0 description confirmed-by-ansible]
        confirm: 5
      register: conf1
    - name: confirm it
      junipernetworks.junos.junos_config:
        confirm_commit: true
    - name: history
      junipernetworks.junos.junos_command:
        commands: [show system commit]
      register: history
    - ansible.builtin.assert:
        that:
          - xml1 is changed and xml2 is not changed
          - rb1 is changed and "from-xml" in rb1.diff.prepared
          - conf1 is changed
          - "'commit confirmed, rollback in 5mins' in history.stdout[0]"

    - name: config src
      junipernetworks.junos.junos_config:
        src: "{{ src_file }}"
        src_format: text
      register: src1
    - name: config src again
      junipernetworks.junos.junos_config:
        src: "{{ src_file }}"
        src_format: text
      register: src2
    - ansible.builtin.assert:
        that: [src1 is changed, src2 is not changed]

    - name: commands
      junipernetworks.junos.junos_command:
        commands:
          - show version
          - show interfaces terse lo0
        display: text
      register: text_out
    - name: commands xml
      junipernetworks.junos.junos_command:
        commands: [show chassis hardware]
        display: xml
      register: xml_out
    - name: commands json
      junipernetworks.junos.junos_command:
        commands: [show version]
        display: json
      register: json_out
    - ansible.builtin.assert:
        that:
          - "'Hostname: peer1' in text_out.stdout[0]"
          - "'10.9.9.9/32' in text_out.stdout[1]"
          - xml_out.output[0]['rpc-reply']['chassis-inventory']['chassis']['description'] == 'MX304'
          - json_out.stdout[0]['software-information'][0]['host-name'][0]['data'] == 'peer1'

    - name: rpc
      junipernetworks.junos.junos_rpc:
        rpc: get-route-engine-information
        output: xml
      register: rpc_out
    - ansible.builtin.assert:
        that: ["'mastership-state' in rpc_out.xml"]

    - name: netconf_get
      ansible.netcommon.netconf_get:
        source: running
        filter: <configuration><interfaces/></configuration>
      register: get_out
    - name: netconf_config
      ansible.netcommon.netconf_config:
        content: <config><configuration><interfaces><interface><name>lo0</name><unit><name>0</name><description>floor4</description></unit></interface></interfaces></configuration></config>
        validate: true
      register: cfg_out
    - name: netconf_config again
      ansible.netcommon.netconf_config:
        content: <config><configuration><interfaces><interface><name>lo0</name><unit><name>0</name><description>floor4</description></unit></interface></interfaces></configuration></config>
        validate: true
      register: cfg_out2
    - name: netconf_rpc
      ansible.netcommon.netconf_rpc:
        rpc: get-chassis-inventory
        display: xml
      register: nrpc_out
    - ansible.builtin.assert:
        that:
          - "'ansible-text' in get_out.stdout"
          - cfg_out is changed
          - cfg_out2 is not changed
          - "'chassis-inventory' in (nrpc_out.stdout | string)"
"""

CONFIG_LINES = [
    "set interfaces lo0 description ansible-lines",
    "set interfaces lo0 unit 0 family inet address 10.9.9.9/32",
    'set security ike policy ike_policy pre-shared-key ascii-text "lab-secret-123"',  # the seed's own key
]

SRC_XML = """<configuration>
    <interfaces>
        <interface>
            <name>lo0</name>
            <unit>
                <name>0</name>
                <description>from-xml</description>
            </unit>
        </interface>
    </interfaces>
</configuration>
"""

SRC = """interfaces {
    lo0 {
        description ansible-text;
    }
}
"""


@pytest.mark.slow
def test_ansible_playbook_modules(device, tmp_path: Path):
    playbook = tmp_path / "site.yml"
    playbook.write_text(PLAYBOOK)
    src = tmp_path / "system.conf"
    src.write_text(SRC)
    src_xml = tmp_path / "lo0.xml"
    src_xml.write_text(SRC_XML)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "mx.yml").write_text(json.dumps({"config_lines": CONFIG_LINES}))
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[mx]\n"
        f"dut ansible_host=127.0.0.1 ansible_port={device.port} ansible_user=admin ansible_password=admin123 "
        "ansible_connection=ansible.netcommon.netconf ansible_network_os=junipernetworks.junos.junos "
        f"ansible_python_interpreter={sys.executable} src_file={src} src_xml={src_xml}\n")
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ans-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ans-remote"),
        "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(tmp_path / "ans-pc"),
        "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": "60",
    }
    binary = Path(sys.executable).parent / "ansible-playbook"
    proc = subprocess.run([str(binary), "-i", str(inventory), str(playbook)], env=env, capture_output=True,
                          text=True, timeout=240)
    recap = re.search(r"dut\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert proc.returncode == 0 and recap, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert recap.group(4) == "0" and recap.group(3) == "0"
