"""Reauthentication, make-before-break (RFC 7296 §2.8.3): a complete new IKE SA (IKE_SA_INIT + IKE_AUTH) with
the same children is set up first; once it is established the old IKE SA is deleted. The new children tell
the PFE which old SA each replaces, so traffic never stops."""

from __future__ import annotations

from .. import sa as sastate
from .child_create import ChildCreate


def start_reauth(engine, old_sa) -> None:
    """Begin replacing ``old_sa``; called instead of a rekey when reauth-frequency says so."""
    if old_sa.state != sastate.ESTABLISHED or old_sa.replaced_by_reauth:
        return
    children = [c for c in old_sa.children if c.state in (sastate.CHILD_INSTALLED, sastate.CHILD_REKEYING)]
    new_sa = engine.initiate_ike_sa(old_sa.gateway, children=[
        ChildCreate(engine, c.vpn, c.ts_index, replaces_spi_in=c.spi_in) for c in children],
        reauth_of=old_sa)
    if new_sa is None:
        return
    old_sa.replaced_by_reauth = new_sa
    engine.log.info("IKE SA #%d: reauthenticating as IKE SA #%d", old_sa.index, new_sa.index)

    def done(sa) -> None:
        old_sa.replaced_by_reauth = None
        if old_sa.state in (sastate.ESTABLISHED, sastate.REKEYING):
            old_sa.state = sastate.REKEYED
            engine.queue_ike_delete(old_sa, reason="reauthenticated")

    new_sa.on_established.append(done)
