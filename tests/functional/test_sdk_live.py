"""The SDK's live subscription over real sockets, against the protocol's own server logic.

The server here is tests/support/protocol_server.py: chalicelib's ConnectionService and
FanOut behind a small `websockets` server, with in-memory stores (the local
runtime's gateway is exercised by tests/integration/test_sdk_local_runtime.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.protocol_server import ProtocolServer
from userdb.errors import StateLockedError
from userdb.live import Subscription, socket_url
from userdb.state import StateStore
from userdb.sync import ChangeSet, ConnectionState, Status, SyncEngine, SyncTimings

USER = "usr_ann"
SERVER_KEY = "http://test"
# Short intervals so that heartbeats and backoff happen within a test's seconds.
FAST = SyncTimings(
    ping_interval=0.3, pong_timeout=0.6, welcome_timeout=2.0, backoff_initial=0.05, backoff_max=0.2
)
WAIT = 10.0


@pytest.fixture
def server() -> Iterator[ProtocolServer]:
    running = ProtocolServer().start()
    yield running
    running.stop()


def subscribe(
    server: ProtocolServer,
    folder: Path,
    token: str,
    *,
    timings: SyncTimings = FAST,
    states: list[Status] | None = None,
) -> Subscription:
    store = StateStore(folder)
    state = store.load_sync(USER, SERVER_KEY)
    engine = SyncEngine(state, clock=time.monotonic, timings=timings)
    return Subscription(
        engine,
        socket_url(server.url, token, state.client_id),
        persist=lambda snapshot: store.save_sync(USER, SERVER_KEY, snapshot),
        on_state=states.append if states is not None else None,
    )


def texts(subscription: Subscription) -> dict[str, str]:
    return {note.id: note.text for note in subscription.notes()}


def server_texts(server: ProtocolServer) -> dict[str, str]:
    items = server.feed.items.get(USER, {}).values()
    return {item["id"]: item["data"]["text"] for item in items if not item.get("deleted")}


def at_version(server: ProtocolServer) -> Callable[[Subscription], bool]:
    return lambda s: s.cursor == server.feed.current_version(USER)


def test_snapshot_then_live_changes_are_applied_and_saved(server, tmp_path):
    # Given two notes on the server
    server.write(USER, "note_a", "one")
    server.write(USER, "note_b", "two")
    token = server.sign_in(USER)
    with subscribe(server, tmp_path, token) as live:
        # When the client connects, then more writes happen
        assert live.wait_for(at_version(server), WAIT)
        server.write(USER, "note_c", "three")
        server.write(USER, "note_a", None)
        assert live.wait_for(at_version(server), WAIT)
        # Then it holds exactly the server's notes
        assert texts(live) == server_texts(server) == {"note_b": "two", "note_c": "three"}
    # And the state folder holds the cursor and those notes
    saved = json.loads((tmp_path / "sync.json").read_text())
    assert saved["cursor"] == 4
    assert sorted(doc["id"] for doc in saved["docs"]) == ["note_b", "note_c"]


def test_reconnects_after_the_server_drops_the_socket_and_catches_up(server, tmp_path):
    token = server.sign_in(USER)
    server.write(USER, "note_a", "one")
    states: list[Status] = []
    with subscribe(server, tmp_path, token, states=states) as live:
        assert live.wait_for(at_version(server), WAIT)
        # When the server drops every socket and writes happen meanwhile
        server.drop_all()
        for n in range(3):
            server.write(USER, f"note_{n}x", f"while away {n}")
        # Then the client reconnects, resumes from its cursor and converges
        assert live.wait_for(at_version(server), WAIT)
        assert live.wait_live(WAIT)
        assert texts(live) == server_texts(server)
    seen = [status.state for status in states]
    assert ConnectionState.RECONNECTING in seen
    hellos = server.messages("received", "hello")
    assert hellos[0]["since"] is None
    assert all(hello["since"] == 1 for hello in hellos[1:]) and len(hellos) >= 2


def test_resumes_after_a_restart_from_the_state_folder_without_a_snapshot(server, tmp_path):
    token = server.sign_in(USER)
    for n in range(3):
        server.write(USER, f"note_{n}", f"note {n}")
    with subscribe(server, tmp_path, token) as first:
        assert first.wait_for(at_version(server), WAIT)
    # Given the process ended; two writes happen while it is gone
    server.write(USER, "note_1", "changed while away")
    server.write(USER, "note_9", "new while away")
    sent_before = len(server.messages("sent"))
    # When a new process starts from the same folder
    with subscribe(server, tmp_path, token) as second:
        assert second.wait_for(at_version(server), WAIT)
        assert texts(second) == server_texts(server)
    # Then it said hello with its saved cursor and got only the missing range
    assert server.messages("received", "hello")[-1]["since"] == 3
    changes = [m for m in server.messages("sent")[sent_before:] if m["type"] == "changes"]
    assert changes and not any(m["snapshot"] for m in changes)
    assert sorted(item["id"] for m in changes for item in m["items"]) == ["note_1", "note_9"]


def test_a_server_that_stops_answering_is_detected_by_the_missing_pong(server, tmp_path):
    token = server.sign_in(USER)
    states: list[Status] = []
    with subscribe(server, tmp_path, token, states=states) as live:
        assert live.wait_live(WAIT)
        # When the server goes quiet (the socket stays open, nothing answers)
        server.muted = True
        assert live.wait_for(lambda s: s.status.state != ConnectionState.LIVE, WAIT)
        assert any("pong" in (status.reason or "") for status in states)
        # Then, once it answers again, the client is live again
        server.muted = False
        assert live.wait_live(WAIT)


def test_acks_are_cumulative_throttled_and_reach_the_cursor(server, tmp_path):
    token = server.sign_in(USER)
    slow_heartbeat = SyncTimings(ping_interval=30)
    with subscribe(server, tmp_path, token, timings=slow_heartbeat) as live:
        assert live.wait_live(WAIT)
        started = time.monotonic()
        for n in range(40):
            server.write(USER, f"note_{n}", "burst")
        assert live.wait_for(at_version(server), WAIT)
        time.sleep(0.4)  # the last, throttled ack
        elapsed = time.monotonic() - started
    acks = [m["version"] for m in server.messages("received", "ack")]
    assert acks == sorted(acks) and acks[-1] == 40
    assert len(acks) <= elapsed / 0.25 + 2


def test_a_refused_session_ends_the_subscription_offline(server, tmp_path):
    states: list[Status] = []
    live = subscribe(server, tmp_path, "not-a-session", states=states).start()
    assert live.wait_for(lambda s: s.finished, WAIT)
    assert live.status.state == ConnectionState.OFFLINE
    assert "unauthorized" in (live.status.reason or "")
    live.close()


def test_events_iterate_status_and_changes_and_end_when_closed(server, tmp_path):
    token = server.sign_in(USER)
    server.write(USER, "note_a", "one")
    live = subscribe(server, tmp_path, token).start()
    seen: list[object] = []
    for event in live.events(timeout=WAIT):
        seen.append(event)
        if isinstance(event, ChangeSet):
            live.close()
    assert any(isinstance(e, Status) and e.state == ConnectionState.LIVE for e in seen)
    assert any(isinstance(e, ChangeSet) and e.snapshot for e in seen)
    assert isinstance(seen[-1], Status) and seen[-1].state == ConnectionState.OFFLINE
    assert list(live.events(timeout=1)) == []


def test_one_state_folder_syncs_in_one_place_at_a_time(tmp_path):
    first, second = StateStore(tmp_path), StateStore(tmp_path)
    first.acquire()
    with pytest.raises(StateLockedError, match="already being synced"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
