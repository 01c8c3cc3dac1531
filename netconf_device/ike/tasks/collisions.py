"""The one place where simultaneous exchanges are resolved (RFC 7296 §2.8.1 and §2.25).

* Both ends rekey the same child SA (or the same IKE SA): two new SAs exist. The one created by the exchange
  that carried the lowest of the four nonces is redundant and is deleted by the end that initiated that
  exchange; the winner's initiator deletes the old SA. Both ends compute the same answer.
* A rekey request for a child SA that we are deleting, or have already replaced: CHILD_SA_NOT_FOUND /
  TEMPORARY_FAILURE, and the requester drops its rekey.
* A child request while the IKE SA is being rekeyed or deleted: TEMPORARY_FAILURE.
"""

from __future__ import annotations

from .. import message as m
from .. import sa as sastate


def _lowest(a: bytes, b: bytes) -> bytes:
    return a if a < b else b


def child_rekey_refusal(ike_sa, old_child) -> int:
    """Notify type to refuse a peer's rekey of ``old_child`` with, or 0 to accept."""
    if ike_sa.state != sastate.ESTABLISHED:
        return m.N_TEMPORARY_FAILURE
    if old_child is None or old_child.state in (sastate.CHILD_DELETING, sastate.CHILD_DELETED):
        return m.N_CHILD_SA_NOT_FOUND
    if old_child.state == sastate.CHILD_REKEYED:
        return m.N_TEMPORARY_FAILURE
    return 0


def child_create_refusal(ike_sa) -> int:
    return 0 if ike_sa.state == sastate.ESTABLISHED else m.N_TEMPORARY_FAILURE


def ike_rekey_refusal(ike_sa) -> int:
    if ike_sa.state in (sastate.ESTABLISHED, sastate.REKEYING):
        return 0
    return m.N_TEMPORARY_FAILURE


def note_child_rekey(ike_sa, old_child, passive_task) -> None:
    """A peer's rekey of ``old_child`` was accepted; remember it if our own rekey of it is in flight."""
    for task in ike_sa.active:
        if getattr(task, "old", None) is old_child and task.name == "child_rekey":
            task.collision = passive_task
            passive_task.collision = task
            return


def passive_child_rekey_done(engine, ike_sa, passive_task) -> None:
    """We answered a peer's child rekey and installed the new child."""
    old = passive_task.old
    if passive_task.collision is None and old.state != sastate.CHILD_DELETED:
        old.state = sastate.CHILD_REKEYED  # the peer deletes it
        engine.cancel_child_expiry_rekey(old)


def active_child_rekey_done(engine, ike_sa, task) -> None:
    """Our rekey of ``task.old`` produced ``task.child``: decide which SA to delete."""
    old, new = task.old, task.child
    passive = task.collision
    if passive is not None and passive.child is not None and passive.child.state != sastate.CHILD_DELETED:
        ours = _lowest(task.ni, task.nr)
        theirs = _lowest(passive.ni, passive.nr)
        if ours < theirs:
            engine.log.info("child SA rekey collision on %08x: ours lost, deleting redundant %08x",
                            old.spi_in, new.spi_in)
            engine.queue_child_delete(ike_sa, [new])
            if old.state != sastate.CHILD_DELETED:
                old.state = sastate.CHILD_REKEYED  # the peer (winner) deletes it
            return
        engine.log.info("child SA rekey collision on %08x: ours won", old.spi_in)
    if old.state != sastate.CHILD_DELETED:
        old.state = sastate.CHILD_REKEYED
        engine.queue_child_delete(ike_sa, [old])


def note_ike_rekey(ike_sa, new_sa) -> bool:
    """A peer's IKE rekey created ``new_sa``. True if ours is in flight (the collision is decided later)."""
    for task in ike_sa.active:
        if task.name == "ike_rekey":
            ike_sa.rekey_collision = new_sa
            return True
    return False


def active_ike_rekey_done(engine, old_sa, task, new_sa) -> None:
    """Our rekey of ``old_sa`` produced ``new_sa``; pick the surviving SA and move the children to it."""
    passive_new = old_sa.rekey_collision
    old_sa.rekey_collision = None
    winner = new_sa
    if passive_new is not None and passive_new.state not in (sastate.DESTROYED, sastate.DELETING):
        ours = _lowest(task.ni, task.nr)
        theirs = _lowest(passive_new.ni, passive_new.nr)
        if ours < theirs:
            engine.log.info("IKE SA rekey collision: ours lost, deleting redundant IKE SA #%d", new_sa.index)
            winner = passive_new
            engine.adopt(old_sa, winner)
            engine.queue_ike_delete(new_sa)
            return
        engine.log.info("IKE SA rekey collision: ours won")
    engine.adopt(old_sa, winner)
    engine.queue_ike_delete(old_sa)


def active_ike_rekey_failed(engine, old_sa) -> None:
    """Our rekey failed; if the peer rekeyed meanwhile, its new SA takes over."""
    passive_new = old_sa.rekey_collision
    old_sa.rekey_collision = None
    if passive_new is not None and passive_new.state not in (sastate.DESTROYED, sastate.DELETING):
        engine.adopt(old_sa, passive_new)
    elif old_sa.state == sastate.REKEYING:
        old_sa.state = sastate.ESTABLISHED
