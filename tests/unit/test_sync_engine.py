"""The SDK's sans-I/O sync engine (DESIGN §5 client duties), without sockets or sleeping."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.fakes import FakeClock
from userdb.models import Doc
from userdb.sync import (
    Connect,
    ConnectionState,
    Disconnect,
    DocsChanged,
    SaveState,
    Send,
    ServerErrorReceived,
    StatusChanged,
    SyncEngine,
    SyncState,
    SyncTimings,
    backoff_delay,
    followed,
)

CLIENT = str(uuid.uuid4())


def note(note_id: str, version: int, text: str | None = None) -> dict[str, Any]:
    """A document of the notes collection, as `changes` carries it."""
    return {
        "collection": "notes",
        "id": note_id,
        "data": {"text": text if text is not None else f"{note_id} v{version}"},
        "created": 1,
        "updated": version,
        "version": version,
    }


def gone(note_id: str, version: int, collection: str = "notes") -> dict[str, Any]:
    return {"collection": collection, "id": note_id, "version": version, "deleted": True}


def changes(frm: int, to: int, items: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"type": "changes", "from": frm, "to": to, "items": items, **extra})


def welcome(version: int) -> str:
    return json.dumps(
        {"type": "welcome", "clientId": CLIENT, "connectionId": "c1", "version": version}
    )


class Harness:
    """An engine with a fake clock; `step` runs an input and remembers its effects."""

    def __init__(
        self,
        cursor: int | None = None,
        notes: list[dict[str, Any]] | None = None,
        jitter: float = 0.5,
        timings: SyncTimings | None = None,
        collections: list[str] | None = None,
    ) -> None:
        self.clock = FakeClock(start=1000.0)
        held = {(i["collection"], i["id"]): Doc.from_json(i) for i in notes or []}
        self.engine = SyncEngine(
            SyncState(CLIENT, cursor, held, followed(collections)),
            clock=self.clock.now,
            random=lambda: jitter,
            timings=timings,
            collections=collections,
        )
        self.effects: list[Any] = []

    def step(self, effects: list[Any]) -> list[Any]:
        self.effects.extend(effects)
        return effects

    def receive(self, text: str) -> list[Any]:
        return self.step(self.engine.on_message(text))

    def tick(self, seconds: float = 0.0) -> list[Any]:
        self.clock.advance(seconds)
        return self.step(self.engine.tick())

    def go_live(self, server_version: int | None = None) -> None:
        self.step(self.engine.start())
        self.step(self.engine.on_open())
        version = server_version if server_version is not None else (self.engine.state.cursor or 0)
        self.receive(welcome(version))
        assert self.engine.status.state == ConnectionState.LIVE

    def state(self) -> ConnectionState:
        return self.engine.status.state

    def until_timer(self) -> float:
        """Seconds until the engine's next timer."""
        deadline = self.engine.next_timer()
        assert deadline is not None
        return deadline - self.clock.now()

    @property
    def notes(self) -> dict[str, str]:
        return {
            doc.id: doc.data["text"]
            for doc in self.engine.state.docs.values()
            if doc.collection == "notes"
        }


def sent(effects: list[Any]) -> list[dict[str, Any]]:
    return [effect.message for effect in effects if isinstance(effect, Send)]


def actions(effects: list[Any], action: str) -> list[dict[str, Any]]:
    return [message for message in sent(effects) if message["action"] == action]


# ---------------------------------------------------------------- connecting and resuming


def test_start_connects_and_hello_carries_the_cursor():
    # Given an engine that synced up to version 7 before
    h = Harness(cursor=7, notes=[note("note_a", 7)])
    # When it starts and the socket opens
    started = h.step(h.engine.start())
    opened = h.step(h.engine.on_open())
    # Then it connects, then resumes with hello since=7
    assert any(isinstance(e, Connect) for e in started)
    assert h.state() == ConnectionState.CONNECTING
    assert sent(opened) == [{"action": "hello", "since": 7}]


def test_a_new_client_says_hello_with_null_and_a_snapshot_replaces_everything():
    # Given a client that never synced, holding a stale note
    h = Harness(notes=[note("note_stale", 3)])
    h.step(h.engine.start())
    assert sent(h.step(h.engine.on_open())) == [{"action": "hello", "since": None}]
    h.receive(welcome(5))
    # When the snapshot arrives
    effects = h.receive(changes(0, 5, [note("note_a", 2), note("note_b", 5)], snapshot=True))
    # Then the notes are exactly the snapshot's, the cursor is its `to`
    assert h.notes == {"note_a": "note_a v2", "note_b": "note_b v5"}
    assert h.engine.state.cursor == 5
    change = next(e.changes for e in effects if isinstance(e, DocsChanged))
    assert change.snapshot and change.deleted == (("notes", "note_stale"),)
    # And the state is saved before the cumulative ack goes out
    kinds = [type(e) for e in effects if isinstance(e, SaveState | Send)]
    assert kinds == [SaveState, Send]
    assert actions(effects, "ack") == [{"action": "ack", "version": 5}]


def test_welcome_at_the_cursor_means_nothing_to_catch_up_and_no_sync():
    h = Harness(cursor=4, notes=[note("note_a", 4)])
    h.go_live(server_version=4)
    # When a long time passes without traffic (but pongs answer pings)
    for _ in range(3):
        h.tick(30)
        h.receive(json.dumps({"type": "pong", "version": 4}))
    # Then no sync was ever requested
    assert actions(h.effects, "sync") == []


# ---------------------------------------------------------------- applying changes


def test_changes_apply_when_cursor_covers_from_and_items_at_or_below_the_cursor_are_ignored():
    h = Harness(cursor=5, notes=[note("note_a", 5, "mine")])
    h.go_live(server_version=8)
    # When (4, 8] arrives: note_a at version 5 is already known; note_b is new
    h.receive(changes(4, 8, [note("note_a", 5, "older copy"), note("note_b", 8)]))
    # Then only what is newer than the cursor applies, and the cursor moves to `to`
    assert h.notes == {"note_a": "mine", "note_b": "note_b v8"}
    assert h.engine.state.cursor == 8


def test_a_duplicate_delivery_changes_nothing_and_sends_nothing():
    h = Harness(cursor=0)
    h.go_live(server_version=3)
    message = changes(0, 3, [note("note_a", 1), note("note_b", 3)])
    h.receive(message)
    h.tick(1)
    before = (dict(h.notes), h.engine.state.cursor)
    # When the same message arrives again
    effects = h.receive(message)
    # Then nothing happens at all
    assert effects == []
    assert (h.notes, h.engine.state.cursor) == before


def test_deletions_remove_only_older_versions():
    h = Harness(cursor=2, notes=[note("note_a", 1), note("note_b", 2)])
    h.go_live(server_version=6)
    # When note_a is deleted, a tombstone arrives for a note never seen, and note_b is rewritten
    h.receive(changes(2, 6, [gone("note_a", 4), gone("note_x", 5), note("note_b", 6)]))
    # Then note_a is gone, note_x changes nothing, note_b is newer
    assert h.notes == {"note_b": "note_b v6"}
    assert h.engine.state.cursor == 6


def test_out_of_order_parts_are_kept_until_they_fit_and_one_sync_is_sent():
    h = Harness(cursor=3)
    h.go_live(server_version=3)
    # When (5, 8] arrives before (3, 5]
    first = h.receive(changes(5, 8, [note("note_c", 8)]))
    second = h.receive(changes(6, 8, [note("note_c", 8)]))  # a duplicate of the future part
    # Then it is a gap: one sync since the cursor, nothing applied yet
    assert actions(first, "sync") == [{"action": "sync", "since": 3}]
    assert actions(second, "sync") == []
    assert h.engine.state.cursor == 3
    # When the missing part arrives, both apply in order
    h.receive(changes(3, 5, [note("note_b", 5)]))
    assert h.notes == {"note_b": "note_b v5", "note_c": "note_c v8"}
    assert h.engine.state.cursor == 8


def test_a_gap_whose_answer_never_comes_is_asked_for_again_after_the_timeout():
    h = Harness(cursor=3)
    h.go_live(server_version=3)
    h.receive(changes(5, 8, [note("note_c", 8)]))
    # When nothing answers within the sync timeout
    assert actions(h.tick(5), "sync") == []
    again = h.tick(h.engine.timings.sync_timeout)
    # Then the sync is sent again
    assert actions(again, "sync") == [{"action": "sync", "since": 3}]


def test_a_snapshot_split_in_parts_applies_part_by_part_and_resumes_from_the_last_part():
    # Given a new client receiving a snapshot split in three parts
    h = Harness()
    h.go_live(server_version=9)
    h.receive(changes(0, 4, [note("note_a", 2), note("note_b", 4)], snapshot=True))
    h.receive(changes(4, 7, [note("note_c", 7)]))
    assert h.engine.state.cursor == 7
    # When the connection drops before the third part
    h.step(h.engine.on_close("lost"))
    h.tick(60)
    reopened = h.step(h.engine.on_open())
    # Then it resumes from the last part it applied, keeping what it has
    assert sent(reopened) == [{"action": "hello", "since": 7}]
    h.receive(welcome(9))
    h.receive(changes(7, 9, [note("note_d", 9)]))
    assert sorted(h.notes) == ["note_a", "note_b", "note_c", "note_d"]


def test_snapshot_parts_arriving_out_of_order_still_converge():
    h = Harness()
    h.go_live(server_version=7)
    h.receive(changes(4, 7, [note("note_c", 7)]))  # the second part, first
    h.receive(changes(0, 4, [note("note_a", 4)], snapshot=True))
    assert h.notes == {"note_a": "note_a v4", "note_c": "note_c v7"}
    assert h.engine.state.cursor == 7


def test_a_stale_snapshot_does_not_roll_the_notes_back():
    h = Harness(cursor=9, notes=[note("note_a", 9, "new")])
    h.go_live(server_version=9)
    effects = h.receive(changes(0, 5, [note("note_a", 5, "old")], snapshot=True))
    assert effects == []
    assert h.notes == {"note_a": "new"}


def test_a_server_behind_the_cursor_was_reset_and_the_client_starts_over():
    # Given a client at version 40, and a server whose store restarted at version 2
    h = Harness(cursor=40, notes=[note("note_old", 40)])
    h.step(h.engine.start())
    h.step(h.engine.on_open())
    # When the welcome says version 2
    effects = h.receive(welcome(2))
    # Then the client asks for a snapshot and takes it even though it is "older"
    assert actions(effects, "sync") == [{"action": "sync", "since": None}]
    h.receive(changes(0, 2, [note("note_new", 2)], snapshot=True))
    assert h.notes == {"note_new": "note_new v2"}
    assert h.engine.state.cursor == 2


def test_more_true_pulls_the_rest():
    h = Harness(cursor=0)
    h.go_live(server_version=900)
    effects = h.receive(changes(0, 500, [note("note_a", 500)], more=True))
    assert actions(effects, "sync") == [{"action": "sync", "since": 500}]


def test_changes_before_the_welcome_apply_and_are_acked_once_live():
    h = Harness(cursor=2)
    h.step(h.engine.start())
    h.step(h.engine.on_open())
    early = h.receive(changes(2, 3, [note("note_a", 3)]))
    assert actions(early, "ack") == []
    effects = h.receive(welcome(3))
    assert h.engine.state.cursor == 3
    assert actions(effects, "ack") == [{"action": "ack", "version": 3}]


# ---------------------------------------------------------------- acks


def test_acks_are_cumulative_and_at_most_one_per_250_ms():
    h = Harness(cursor=0)
    h.go_live(server_version=0)
    ack_times: list[tuple[float, int]] = []
    # When 20 changes arrive 20 ms apart
    for version in range(1, 21):
        effects = h.receive(changes(version - 1, version, [note(f"note_{version}", version)]))
        ack_times += [(h.clock.now(), m["version"]) for m in actions(effects, "ack")]
        effects = h.tick(0.02)
        ack_times += [(h.clock.now(), m["version"]) for m in actions(effects, "ack")]
    effects = h.tick(1)
    ack_times += [(h.clock.now(), m["version"]) for m in actions(effects, "ack")]
    # Then acks are spaced by at least 250 ms, increase, and the last one covers everything
    assert len(ack_times) < 20
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(ack_times)]
    assert all(gap >= 0.25 - 1e-9 for gap in gaps)
    versions = [v for _, v in ack_times]
    assert versions == sorted(versions) and versions[-1] == 20


def test_a_pending_ack_is_not_sent_after_the_socket_dropped():
    h = Harness(cursor=0)
    h.go_live(server_version=0)
    h.receive(changes(0, 1, [note("note_a", 1)]))
    h.receive(changes(1, 2, [note("note_b", 2)]))  # ack scheduled, not sent
    h.step(h.engine.on_close("lost"))
    assert actions(h.tick(1), "ack") == []


# ---------------------------------------------------------------- heartbeat and dead connections


def test_ping_every_30_s_with_the_cursor_and_pong_keeps_the_connection():
    h = Harness(cursor=4, jitter=1.0)  # the highest draw: the full interval
    h.go_live(server_version=4)
    assert actions(h.tick(29.9), "ping") == []
    assert actions(h.tick(0.1), "ping") == [{"action": "ping", "version": 4}]
    h.receive(json.dumps({"type": "pong", "version": 4}))
    h.tick(20)
    assert h.state() == ConnectionState.LIVE


@pytest.mark.parametrize(("jitter", "first_ping_s"), [(0.0, 27.0), (0.5, 28.5), (1.0, 30.0)])
def test_pings_are_spread_over_90_to_100_percent_of_the_interval(jitter, first_ping_s):
    # Clients that connected together (after a restart) must not ping in step
    h = Harness(cursor=1, jitter=jitter)
    h.go_live(server_version=1)
    assert actions(h.tick(first_ping_s - 0.05), "ping") == []
    assert actions(h.tick(0.05), "ping") == [{"action": "ping", "version": 1}]


def test_a_missing_pong_means_a_dead_connection():
    h = Harness(cursor=4)
    h.go_live(server_version=4)
    h.tick(30)
    effects = h.tick(h.engine.timings.pong_timeout)
    assert any(isinstance(e, Disconnect) and "pong" in e.reason for e in effects)
    assert h.state() == ConnectionState.RECONNECTING


def test_pings_more_frequent_than_the_pong_timeout_do_not_postpone_it():
    h = Harness(cursor=0, timings=SyncTimings(ping_interval=1, pong_timeout=3))
    h.go_live(server_version=0)
    dropped = []
    for _ in range(5):
        dropped += [e for e in h.tick(1) if isinstance(e, Disconnect)]
    assert dropped and h.state() == ConnectionState.RECONNECTING


def test_traffic_while_waiting_for_the_pong_shows_the_connection_is_alive():
    h = Harness(cursor=0)
    h.go_live(server_version=0)
    h.tick(30)  # ping sent
    h.tick(9)
    h.receive(changes(0, 1, [note("note_a", 1)]))
    assert not any(isinstance(e, Disconnect) for e in h.tick(5))
    assert any(isinstance(e, Disconnect) for e in h.tick(10))


def test_no_welcome_means_a_dead_connection():
    h = Harness()
    h.step(h.engine.start())
    h.step(h.engine.on_open())
    effects = h.tick(h.engine.timings.welcome_timeout)
    assert any(isinstance(e, Disconnect) for e in effects)


def test_a_pong_ahead_of_the_cursor_expects_the_catch_up_and_pulls_if_it_never_comes():
    h = Harness(cursor=4)
    h.go_live(server_version=4)
    h.tick(30)
    h.receive(json.dumps({"type": "pong", "version": 6}))
    assert actions(h.tick(1), "sync") == []
    assert actions(h.tick(h.engine.timings.sync_timeout), "sync") == [
        {"action": "sync", "since": 4}
    ]


# ---------------------------------------------------------------- reconnecting


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_backoff_doubles_from_half_a_second_to_30_s_with_jitter(jitter):
    timings = SyncTimings()
    delays = [backoff_delay(n, timings, lambda: jitter) for n in range(12)]
    bases = [min(30.0, 0.5 * 2**n) for n in range(12)]
    for delay, base in zip(delays, bases, strict=True):
        assert base / 2 <= delay <= base
        assert delay == pytest.approx(base / 2 + jitter * base / 2)
    assert bases[0] == 0.5 and bases[-1] == 30.0


def test_reconnect_attempts_follow_the_backoff_schedule_and_reset_once_live():
    h = Harness(cursor=1, jitter=1.0)  # jitter 1.0: each delay is its full base
    h.go_live(server_version=1)
    h.step(h.engine.on_close("server went away"))
    assert h.state() == ConnectionState.RECONNECTING
    waits = []
    for _ in range(8):
        wait = h.until_timer()
        waits.append(wait)
        assert not any(isinstance(e, Connect) for e in h.tick(wait - 0.01))
        assert any(isinstance(e, Connect) for e in h.tick(0.01))
        h.step(h.engine.on_connect_failed("refused"))
    assert waits == pytest.approx([0.5, 1, 2, 4, 8, 16, 30, 30])
    # Unreachable for several attempts reads as offline (still retrying)
    assert h.state() == ConnectionState.OFFLINE
    assert h.engine.status.retry_in is not None
    # Once live again, the next drop starts from half a second
    h.tick(h.until_timer())
    h.step(h.engine.on_open())
    h.receive(welcome(1))
    h.step(h.engine.on_close("again"))
    assert h.until_timer() == pytest.approx(0.5)


def test_a_refused_upgrade_401_stops_reconnecting():
    h = Harness()
    h.step(h.engine.start())
    effects = h.step(h.engine.on_connect_failed("upgrade refused (HTTP 401)", 401))
    status = [e.status for e in effects if isinstance(e, StatusChanged)][-1]
    assert status.state == ConnectionState.OFFLINE and "unauthorized" in (status.reason or "")
    assert not h.engine.running and h.engine.next_timer() is None


def test_an_unauthorized_error_message_stops_the_engine():
    h = Harness()
    h.go_live(server_version=0)
    effects = h.receive(json.dumps({"type": "error", "code": "unauthorized", "message": "gone"}))
    assert any(isinstance(e, ServerErrorReceived) for e in effects)
    assert any(isinstance(e, Disconnect) for e in effects)
    assert not h.engine.running


def test_stop_closes_saves_and_ignores_later_socket_events():
    h = Harness(cursor=0)
    h.go_live(server_version=1)
    h.receive(changes(0, 1, [note("note_a", 1)]))
    h.receive(changes(1, 2, [note("note_b", 2)]))
    effects = h.step(h.engine.stop())
    assert any(isinstance(e, Disconnect) for e in effects)
    saved = [e.state for e in effects if isinstance(e, SaveState)]
    assert saved and saved[-1].cursor == 2
    assert h.state() == ConnectionState.OFFLINE
    assert h.engine.on_close("late") == [] and h.engine.tick() == []


# ---------------------------------------------------------------- local writes


def test_a_local_write_shows_at_once_and_the_server_echo_changes_nothing():
    h = Harness(cursor=1)
    h.go_live(server_version=1)
    h.step(h.engine.apply_local(Doc.from_json(note("note_a", 2, "mine"))))
    assert h.notes == {"note_a": "mine"}
    echo = h.receive(changes(1, 2, [note("note_a", 2, "mine")]))
    change = next(e.changes for e in echo if isinstance(e, DocsChanged))
    assert change.upserted == () and h.engine.state.cursor == 2
    h.step(h.engine.forget_local(("notes", "note_a")))
    assert h.notes == {}


# ---------------------------------------------------------------- convergence under a bad network


class ModelServer:
    """The server's side as the protocol defines it: versions, latest state per note."""

    def __init__(self) -> None:
        self.version = 0
        self.latest: dict[str, dict[str, Any]] = {}

    def write(self, note_id: str, text: str | None) -> None:
        self.version += 1
        self.latest[note_id] = (
            gone(note_id, self.version) if text is None else note(note_id, self.version, text)
        )

    def changes_since(self, since: int | None, part_size: int) -> list[str]:
        items = sorted(self.latest.values(), key=lambda item: item["version"])
        if since is None:
            items = [item for item in items if not item.get("deleted")]
        else:
            items = [item for item in items if item["version"] > since]
        parts, start = [], since or 0
        chunks = [items[i : i + part_size] for i in range(0, len(items), part_size)] or [[]]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            end = self.version if last else chunk[-1]["version"]
            snapshot = since is None and index == 0
            parts.append(changes(start, end, chunk, snapshot=snapshot))
            start = end
        return parts

    def live_texts(self) -> dict[str, str]:
        return {k: v["data"]["text"] for k, v in self.latest.items() if not v.get("deleted")}


@settings(max_examples=150, deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(["note_a", "note_b", "note_c", "note_d"]), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    seed=st.integers(0, 2**32 - 1),
    start_cursor_known=st.booleans(),
)
def test_any_reordering_duplication_or_loss_converges_to_the_server_state(
    writes, seed, start_cursor_known
):
    """Pushes are shuffled, duplicated and dropped; hello/sync answers are delivered."""
    rng = random.Random(seed)
    server = ModelServer()
    h = Harness(cursor=0 if start_cursor_known else None)
    h.go_live(server_version=0)
    inbox: list[str] = []

    def answer(effects: list[Any]) -> None:
        for message in sent(effects):
            if message["action"] in ("sync", "hello"):
                inbox.extend(server.changes_since(message["since"], rng.randint(1, 3)))

    answer(h.effects)
    for note_id, delete in writes:
        before = server.version
        server.write(note_id, None if delete else f"{note_id} at {server.version + 1}")
        # the fan-out push for this write: maybe coalesced, maybe lost, maybe duplicated
        push = server.changes_since(before, rng.randint(1, 3))
        if rng.random() < 0.2:
            push = []
        if rng.random() < 0.2:
            push = push * 2
        inbox.extend(push)
        rng.shuffle(inbox)
        while inbox and rng.random() < 0.6:
            answer(h.receive(inbox.pop()))
        answer(h.tick(rng.choice([0.0, 0.1, 0.3])))
    # Then, once the network settles (the heartbeat and sync retries run), it converges
    for _ in range(200):
        while inbox:
            answer(h.receive(inbox.pop(rng.randrange(len(inbox)))))
        if h.engine.state.cursor == server.version:
            break
        answer(h.tick(5))
        if h.state() != ConnectionState.LIVE:
            pytest.fail("the connection dropped")
        # the server answers pings; a ping behind the server triggers its catch-up
        for message in actions(h.effects[-3:], "ping"):
            h.receive(json.dumps({"type": "pong", "version": server.version}))
            if (message["version"] or 0) < server.version:
                inbox.extend(server.changes_since(message["version"], 2))
    assert h.engine.state.cursor == server.version
    assert h.notes == server.live_texts()


# ---------------------------------------------------------------- collections


def _todo(doc_id: str, version: int) -> dict[str, Any]:
    return {
        "collection": "todos",
        "id": doc_id,
        "data": {"title": doc_id, "done": False},
        "created": 1,
        "updated": version,
        "version": version,
    }


def test_a_client_that_follows_some_collections_names_them_in_hello_and_sync():
    h = Harness(cursor=3, collections=["todos", "notes", "todos"])
    h.step(h.engine.start())
    assert sent(h.step(h.engine.on_open())) == [
        {"action": "hello", "since": 3, "collections": ["notes", "todos"]}
    ]
    h.receive(welcome(9))
    h.step(h.engine.request_sync())
    assert actions(h.effects, "sync") == [
        {"action": "sync", "since": 3, "collections": ["notes", "todos"]}
    ]


def test_a_client_of_all_collections_names_none():
    h = Harness(cursor=3)
    h.step(h.engine.start())
    assert sent(h.step(h.engine.on_open())) == [{"action": "hello", "since": 3}]


def test_following_other_collections_than_the_state_starts_over():
    # Given a state synced for all collections, at cursor 7 with a note
    state = SyncState(CLIENT, 7, {("notes", "n"): Doc.from_json(note("n", 7))})
    # When an engine is made to follow todos only
    engine = SyncEngine(state, clock=lambda: 0.0, collections=["todos"])
    # Then it holds nothing and resumes from nothing (a snapshot of todos follows)
    assert (state.cursor, state.docs, state.collections) == (None, {}, ("todos",))
    engine.start()
    assert sent(engine.on_open()) == [{"action": "hello", "since": None, "collections": ["todos"]}]


def test_documents_of_other_collections_are_kept_apart_and_unfollowed_ones_ignored():
    h = Harness(cursor=0, collections=["todos"])
    h.go_live(0)
    h.receive(changes(0, 3, [note("same", 1), _todo("same", 2), _todo("t2", 3)]))
    assert sorted(h.engine.state.docs) == [("todos", "same"), ("todos", "t2")]
    assert h.engine.state.cursor == 3
    h.receive(changes(3, 4, [gone("same", 4, "todos")]))
    assert sorted(h.engine.state.docs) == [("todos", "t2")]
    assert h.step(h.engine.apply_local(Doc.from_json(note("mine", 5)))) == []


def test_items_from_a_server_before_collections_are_notes():
    h = Harness(cursor=0)
    h.go_live(0)
    legacy = {"id": "n1", "text": "old shape", "created": 1, "updated": 2, "version": 2}
    h.receive(changes(0, 2, [legacy]))
    assert h.notes == {"n1": "old shape"}
