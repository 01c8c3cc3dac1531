"""Interop harness: real peers and independent checkers for the IKE daemon and the PFE.

* ``netns``      network namespaces, veth pairs, addresses, routes, TUN devices, sockets inside a netns
* ``strongswan`` one charon (strongSwan 5.9, kernel-libipsec) per instance: config, start/stop, swanctl
* ``swanctl_conf`` the Python description of connections and the strongswan.conf/swanctl.conf renderer
* ``charon_log`` IKE and child-SA keys extracted from charon's log
* ``certs``      test PKI (CA + RSA/ECDSA end-entity certificates) with ``cryptography``
* ``vici``       a small stdlib vici client for bulk load-conn/initiate
* ``capture``    tcpdump as a context manager (in a netns or on an interface)
* ``tshark``     tshark decryption of a capture with given keys, per-packet results
* ``ike_probe``  a minimal IKE_SA_INIT sender (reachability and the non-ESP marker rule)
* ``swan_bench`` the strongSwan tunnel-setup reference measurement

Everything here is for tests, benchmarks and labs; the device itself never imports it. See
``docs/interop-strongswan.md``.
"""
