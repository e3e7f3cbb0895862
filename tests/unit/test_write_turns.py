"""NoteService's per-tenant write turns: one tenant's writes in a process wait for each other,
other tenants' do not."""

from __future__ import annotations

import threading

from chalicelib.logic.tenant_writes import WriteTurns

WAIT_S = 5.0


def _enter_in_thread(turns: WriteTurns, tenant: str) -> tuple[threading.Event, threading.Event]:
    """A thread that takes `tenant`'s turn: set `entered` inside, leaves when `leave` is set."""
    entered, leave = threading.Event(), threading.Event()

    def run() -> None:
        with turns.turn(tenant):
            entered.set()
            leave.wait(WAIT_S)

    threading.Thread(target=run, daemon=True).start()
    return entered, leave


def test_a_second_write_to_the_same_tenant_waits_for_the_first():
    # Given a write holding tenant t1's turn
    turns = WriteTurns()
    first_in, first_leave = _enter_in_thread(turns, "t1")
    assert first_in.wait(WAIT_S)

    # When another write to t1 asks for its turn
    second_in, second_leave = _enter_in_thread(turns, "t1")

    # Then it enters only after the first leaves
    assert not second_in.wait(0.2)
    first_leave.set()
    assert second_in.wait(WAIT_S)
    second_leave.set()


def test_writes_to_other_tenants_do_not_wait():
    # Given a write holding tenant t1's turn
    turns = WriteTurns()
    first_in, first_leave = _enter_in_thread(turns, "t1")
    assert first_in.wait(WAIT_S)

    # When a write to t2 asks for its turn
    other_in, other_leave = _enter_in_thread(turns, "t2")

    # Then it enters while t1's is still held
    assert other_in.wait(WAIT_S)
    other_leave.set()
    first_leave.set()


def test_a_tenant_can_write_again_after_its_turn():
    # Given a turn taken and left
    turns = WriteTurns()
    with turns.turn("t1"):
        pass

    # When the same thread takes it again, Then it is free (no lock left held)
    with turns.turn("t1"):
        pass
