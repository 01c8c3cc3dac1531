"""The software PFE: an ESP (AES-GCM) datapath with routing, counters and wires (see datapath.py)."""

from netconf_device.pfe.datapath import Datapath

__all__ = ["Datapath"]
