"""Worker process of ``test_config_crash``: commits forever until it is killed.

Commit ``i`` sets host-name ``h<i>`` and a number of VPNs that depends on ``i`` (so consecutive running
files differ in size), logs ``commit <i>``, and every seventh commit is a confirmed one (writing the pending
file too). After each ``commit`` returns the worker prints ``committed <i>``; on start it prints ``ready``
and continues from the running configuration's number.
"""

from __future__ import annotations

import copy
import sys
import time

from netconf_device.config.datastore import Datastore
from netconf_device.config.generate import vpn_config
from netconf_device.schema import get_schema


def vpns_for(i: int) -> int:
    return 5 + (i % 4) * 25


def main(state_dir: str) -> None:
    schema = get_schema()
    ds = Datastore(state_dir, schema=schema)
    ds.start(time.time())
    ds.open_session(1, "crash", client="cli", now=time.time())
    running_name = ds.running().findtext("system/host-name")
    i = int(running_name[1:]) + 1 if running_name else 0
    parsed = {}
    print("ready", flush=True)
    while True:
        n = vpns_for(i)
        if n not in parsed:
            parsed[n] = schema.parse(vpn_config(n), "set")
        tree = copy.deepcopy(parsed[n])
        tree.find("system/host-name").text = f"h{i}"
        ds.set_candidate(1, tree, time.time())
        ds.commit(1, time.time(), log=f"commit {i}", confirm_timeout=3600 if i % 7 == 3 else None)
        print(f"committed {i}", flush=True)
        i += 1


if __name__ == "__main__":
    main(sys.argv[1])
