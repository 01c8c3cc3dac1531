"""The IKE daemon: a sans-IO IKEv2 engine (:mod:`.engine`) and its asyncio shell (:mod:`.daemon`).

See docs/ike.md for the API the device, the PFE and the show commands use.
"""
