"""The fast path and the pushed marks, with in-memory fakes: a write posts its own change, the
stream's fan-out delivers only what the fast path did not, and a push never fails a write."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.dal.tenant_store import TenantStore
from chalicelib.logic.collections import parse_declarations
from chalicelib.logic.documents import DocumentService
from chalicelib.logic.fanout import FanOut, TenantRange
from chalicelib.logic.fast_path import FastPath, FastPathPolicy
from chalicelib.logic.feed import DocumentFeed
from chalicelib.logic.message_split import split_changes
from chalicelib.logic.pushed_marks import marks_after, needs_writing
from chalicelib.logic.sync import committed_changes
from chalicelib.logic.tenant_writes import TenantWriter
from chalicelib.models.connections import Connection, TenantConnections
from chalicelib.models.documents import BatchOp, BatchRequest
from chalicelib.models.protocol import encode
from tests.support.fakes import (
    FakeClock,
    InMemoryConnectionStore,
    InMemoryTenantStore,
    RecordingPush,
)

TENANT = "usr_0000000000000000"
COLLECTIONS = parse_declarations(
    '{"collections": {"notes": {"schema": {"type": "object"}}, '
    '"todos": {"schema": {"type": "object"}}}}',
    "test",
)


class DirectTenants:
    def __init__(self, store: TenantStore) -> None:
        self.store = store

    def open(self, tenant_id: str) -> TenantStore:
        return self.store

    def recover(self, tenant_id: str) -> TenantStore:
        return self.store


class NoIdempotency:
    def once(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used here")


class Ticker:
    """A monotonic clock moved by the test."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class World:
    """A tenant's store, its connections, the fast path and the fan-out, all in memory."""

    def __init__(self, policy: FastPathPolicy | None = None) -> None:
        self.clock = FakeClock()
        self.ticker = Ticker()
        self.tenant = InMemoryTenantStore(TENANT)
        self.tenant.initialise()
        self.connections = InMemoryConnectionStore()
        self.push = RecordingPush()
        self.fast_path = FastPath(
            self.connections,
            self.push,
            self.clock,
            policy or FastPathPolicy(),
            monotonic=self.ticker,
            in_background=lambda work: work(),
        )
        writer = TenantWriter(DirectTenants(self.tenant), pause=lambda attempt: None)
        self.documents = DocumentService(
            writer,
            COLLECTIONS,
            NoIdempotency(),
            self.clock,
            tombstone_days=7,
            fast_path=self.fast_path,
        )
        self.feed = DocumentFeed(writer, COLLECTIONS, self.clock, tombstone_days=7)
        self.slept: list[float] = []
        self.stream_push = RecordingPush()

    def tenant_reads(self) -> int:
        return self.tenant.version_reads

    def connect(
        self, connection_id: str, acked: int = 0, *, said_hello: bool = True, **fields: Any
    ) -> None:
        """A connection; once it said hello its catch-up left it holding `acked`."""
        if said_hello:
            self.connections.pushed.setdefault(TENANT, {})[connection_id] = acked
        self.connections.add(
            Connection(
                tenant_id=TENANT,
                connection_id=connection_id,
                client_id=str(uuid.uuid4()),
                session_id="ses_1",
                acked_version=acked,
                connected_at=1,
                **fields,
            ),
            expires=99,
        )

    def write(self, text: str, doc_id: str | None = None) -> int:
        """A write at a person's pace: 0.2 s after the last."""
        self.ticker.now += 0.2
        return self.documents.create(TENANT, "notes", {"text": text}, doc_id).version

    def stream_delivers(
        self, after: int, through: int, claimed_until_ms: int = 0, claimed_through: int = 0
    ) -> int:
        """The fan-out of a stream batch (a new instance each time, as a retry may be)."""
        fan_out = FanOut(
            self.feed, self.connections, self.stream_push, clock=self.clock, sleep=self.slept.append
        )
        committed = TenantRange(TENANT, after, through, [], claimed_until_ms, claimed_through)
        return fan_out.deliver(committed)


def test_a_write_posts_what_the_fan_out_would_send_for_its_range():
    # Given a connected client that holds everything so far
    world = World()
    world.write("before")
    world.connect("c1", acked=1)
    # When a note is written and then deleted, each write posts exactly the message the
    # fan-out's read would build for its range at that moment
    for write in (
        lambda: world.write("hello", doc_id="n1"),
        lambda: world.documents.delete(TENANT, "notes", "n1"),
    ):
        world.ticker.now += 1
        write()
        message = world.push.messages_to("c1")[-1]
        expected = committed_changes(world.tenant, message["from"], message["to"])
        assert message == json.loads(encode(expected))
    assert [m["to"] for m in world.push.messages_to("c1")] == [2, 3]
    assert world.push.messages_to("c1")[1]["items"] == [
        {"collection": "notes", "id": "n1", "version": 3, "deleted": True}
    ]
    # And the connection is marked as holding them
    assert world.connections.pushed[TENANT] == {"c1": 3}


def test_a_batch_is_one_message_covering_all_its_versions():
    world = World()
    world.connect("c1")
    ops = [BatchOp(op="create", collection="todos", data={"n": n}) for n in range(3)]
    world.documents.batch(TENANT, BatchRequest(ops=ops))
    (message,) = world.push.messages_to("c1")
    assert (message["from"], message["to"]) == (0, 3)
    assert [item["version"] for item in message["items"]] == [1, 2, 3]


def test_the_fan_out_skips_connections_the_fast_path_reached_and_reads_nothing():
    world = World()
    world.connect("c1")
    world.connect("c2")
    version = world.write("one")
    reads_before = world.tenant_reads()
    assert world.stream_delivers(0, version) == 0
    assert world.stream_push.posts == []
    assert world.tenant_reads() == reads_before


def test_a_failed_post_is_left_to_the_fan_out_and_never_fails_the_write():
    # Given two clients, one of whose posts fails
    world = World()
    world.connect("c1")
    world.connect("c2")
    world.push.failing["c2"] = 1
    # When a note is written, the write succeeds all the same
    version = world.write("one")
    assert version == 1
    # Then only the reached connection is marked as holding it, and the fan-out posts to
    # the other alone
    assert world.connections.pushed[TENANT] == {"c1": 1, "c2": 0}
    assert world.stream_delivers(0, version) == 1
    assert [target for target, _ in world.stream_push.posts] == ["c2"]


def test_a_write_whose_push_breaks_still_commits():
    world = World()
    world.connect("c1")

    def broken(tenant_id: str) -> TenantConnections:
        raise RuntimeError("the connections table is unreachable")

    world.connections.listing = broken  # type: ignore[method-assign]
    assert world.write("one") == 1
    assert world.push.posts == []
    # The stream delivers it (it lists the connections itself)
    del world.connections.listing
    assert world.stream_delivers(0, 1) == 1


def test_a_connection_answering_gone_is_forgotten():
    world = World()
    world.connect("c1")
    world.connect("c2")
    world.push.gone.add("c2")
    world.write("one")
    assert [c.connection_id for c in world.connections.for_tenant(TENANT)] == ["c1"]
    assert world.connections.pushed[TENANT] == {"c1": 1}


def test_a_connection_that_lags_is_left_to_the_stream_and_holds_the_tenant_there():
    # Given a client that has not acked (nor been posted) version 1
    world = World(FastPathPolicy(hold_s=0.25))
    world.write("one")
    world.connect("c1", acked=0)
    # When version 2 is written, posting (1, 2] would leave it a gap: nothing is posted
    world.write("two")
    assert world.push.posts == []
    # And the next writes within the hold go to the stream without even listing
    listings = world.connections.listings
    world.write("three")
    assert world.connections.listings == listings
    # Until the hold ends and the client caught up (acked what the stream gave it)
    world.ticker.now += 0.3
    world.connections.raise_ack(TENANT, "c1", 3)
    world.write("four")
    assert [m["to"] for m in world.push.messages_to("c1")] == [4]


def test_writes_while_a_push_is_in_flight_are_left_to_the_stream():
    world = World()
    first = world.fast_path.begin(TENANT)
    assert first is not None
    world.ticker.now += 0.1
    assert world.fast_path.begin(TENANT) is None  # this instance is pushing to the tenant
    assert world.fast_path.begin("usr_other") is not None
    first.end()
    world.ticker.now += 1
    assert world.fast_path.begin(TENANT) is not None


def test_a_write_close_behind_the_last_is_a_burst_left_to_the_stream():
    # Given a client that holds everything
    world = World(FastPathPolicy(burst_gap_s=0.04, hold_s=0.25))
    world.connect("c1")
    world.write("one")
    # When writes follow each other faster than a person types
    version = world.documents.create(TENANT, "notes", {"text": "two"}).version
    world.ticker.now += 0.1
    world.documents.create(TENANT, "notes", {"text": "three"})
    # Then the first was pushed, and the burst is the stream's (held for a moment)
    assert [m["to"] for m in world.push.messages_to("c1")] == [1]
    assert version == 2
    # And writes at a person's pace are pushed again once the client caught up
    world.connections.raise_ack(TENANT, "c1", 3)
    world.ticker.now += 0.3
    world.write("four")
    assert [m["to"] for m in world.push.messages_to("c1")] == [1, 4]


def test_a_connection_still_saying_hello_is_left_to_its_catch_up_and_the_stream():
    world = World()
    world.connect("c1", said_hello=False)
    world.write("one")
    assert world.push.posts == []
    assert world.stream_delivers(0, 1) == 1


def test_many_connections_are_left_to_the_fan_out_without_listing_them_each_write():
    world = World(FastPathPolicy(max_connections=2, crowded_s=10))
    for n in range(3):
        world.connect(f"c{n}")
    world.write("one")
    assert world.push.posts == []
    assert world.stream_delivers(0, 1) == 3
    # The next writes neither list the crowd nor claim their range, for a while
    listings = world.connections.listings
    world.write("two")
    assert world.connections.listings == listings
    assert world.tenant.last_commit is not None
    assert world.tenant.last_commit.push_claim_ms == 0
    # Then it looks again: two devices left, the fast path serves the others
    world.connections.remove(TENANT, "c2")
    world.ticker.now += 11
    world.connections.raise_ack(TENANT, "c0", 2)
    world.connections.raise_ack(TENANT, "c1", 2)
    world.write("three")
    assert sorted(target for target, _ in world.push.posts) == ["c0", "c1"]


def test_the_fast_path_can_be_turned_off():
    world = World(FastPathPolicy(max_connections=0))
    world.connect("c1")
    world.write("one")
    assert world.push.posts == []
    assert world.connections.listings == 0


def test_a_connection_following_some_collections_gets_their_items_over_the_same_range():
    world = World()
    world.connect("c1", collections=frozenset({"todos"}))
    world.write("a note")
    (message,) = world.push.messages_to("c1")
    assert (message["from"], message["to"], message["items"]) == (0, 1, [])


def test_a_write_claims_its_range_and_marks_its_push_over():
    world = World(FastPathPolicy(claim_s=1.0))
    world.connect("c1")
    world.write("one")
    assert world.tenant.last_commit is not None
    assert world.tenant.last_commit.push_claim_ms == int(world.clock.now() * 1000) + 1000
    assert world.connections.settled[TENANT] == 1
    # The push is over: a fan-out waits for nothing, and serves a connection it missed
    claim = world.tenant.last_commit.push_claim_ms
    assert world.stream_delivers(0, 1, claimed_until_ms=claim, claimed_through=1) == 0
    world.connect("c2")
    assert world.stream_delivers(0, 1, claimed_until_ms=claim, claimed_through=1) == 1
    assert world.slept == []


def test_the_fan_out_waits_for_a_push_still_going_then_posts_only_what_it_missed():
    # Given a write whose push has not recorded its end yet
    world = World()
    world.connect("c1")
    world.write("one")
    world.connections.settled[TENANT] = 0
    world.connections.pushed[TENANT] = {"c1": 0}
    claim = int(world.clock.now() * 1000) + 1000

    def writer_finishes(seconds: float) -> None:
        world.slept.append(seconds)
        world.connections.record_pushed(TENANT, {"c1": 1}, expires=99, settled=1)

    # When the stream's fan-out looks / Then it waits once, sees the push over, posts nothing
    fan_out = FanOut(
        world.feed, world.connections, world.stream_push, clock=world.clock, sleep=writer_finishes
    )
    assert fan_out.deliver(TenantRange(TENANT, 0, 1, [], claim, 1)) == 0
    assert world.slept == [0.01]


def test_a_writer_that_died_is_waited_for_only_until_its_claim_ends():
    world = World(FastPathPolicy(max_connections=0))
    world.write("one")
    world.connect("c1")
    claim = int(world.clock.now() * 1000) + 1000

    def time_passes(seconds: float) -> None:
        world.slept.append(seconds)
        world.clock.advance(seconds)

    fan_out = FanOut(
        world.feed, world.connections, world.stream_push, clock=world.clock, sleep=time_passes
    )
    assert fan_out.deliver(TenantRange(TENANT, 0, 1, [], claim, 1)) == 1
    assert sum(world.slept) == pytest.approx(1.0)
    assert world.slept[:3] == [0.01, 0.02, 0.04]  # looking again ever less often


def test_the_fan_out_reads_only_from_what_the_lacking_connections_hold():
    world = World(FastPathPolicy(max_connections=0))
    for n in range(1, 5):
        world.write(f"note {n}")
    world.connect("c1", acked=3)
    world.connect("c2", acked=4)
    world.stream_delivers(0, 4)
    (message,) = world.stream_push.messages_to("c1")
    assert (message["from"], message["to"]) == (3, 4)
    assert [item["version"] for item in message["items"]] == [4]
    assert world.stream_push.messages_to("c2") == []


def test_the_fan_out_posts_only_the_parts_a_connection_lacks():
    world = World(FastPathPolicy(max_connections=0))
    big = "x" * 60_000
    for n in range(4):
        world.write(big + str(n))
    parts = split_changes(committed_changes(world.tenant, 0, 4))
    assert len(parts) >= 2
    world.connect("c1")
    world.connections.record_pushed(TENANT, {"c1": parts[0].to}, expires=99)
    world.stream_delivers(0, 4)
    posted = world.stream_push.messages_to("c1")
    assert posted[0]["from"] == parts[0].to
    assert posted[-1]["to"] == 4


# ---- the marks' rules ----


def listing(pushed: dict[str, int], *ids: str, acked: int = 0) -> TenantConnections:
    connections = [
        Connection(
            tenant_id=TENANT,
            connection_id=cid,
            client_id=str(uuid.uuid4()),
            session_id="s",
            acked_version=acked,
            connected_at=1,
        )
        for cid in ids
    ]
    return TenantConnections(connections=connections, pushed=pushed)


def test_marks_keep_listed_connections_only_and_only_rise():
    listed = listing({"a": 5, "gone": 9}, "a", "b")
    assert marks_after(listed, {"b": 6}) == {"a": 5, "b": 6}
    assert marks_after(listed, {"a": 3}) == {"a": 5}


def test_a_stale_rewrite_can_only_lower_a_mark():
    # Two writers read the marks at {a: 5}; the first posts (5, 6], the second (6, 7]
    # finds a at 5 < 6 and posts nothing to it. Whatever order their writes land in, the
    # mark of a ends at 6 or 5: never above what was posted to it.
    read = listing({"a": 5}, "a")
    first = marks_after(read, {"a": 6})
    second = marks_after(read, {})
    assert first == {"a": 6}
    assert second == {"a": 5}
    assert not needs_writing(read, second)


def test_covered_is_the_higher_of_acked_and_marked():
    listed = listing({"a": 4}, "a", "b", acked=2)
    covered = {c.connection_id: listed.covered(c) for c in listed.connections}
    assert covered == {"a": 4, "b": 2}


def test_the_fan_out_does_not_wait_for_a_claim_no_writer_can_be_serving():
    world = World(FastPathPolicy(max_connections=0))
    world.write("one")
    world.write("two")
    claim = int(world.clock.now() * 1000) + 100
    # A connection that lacked version 1 too: no fast path would post (1, 2] to it
    world.connect("behind", acked=0)
    assert world.stream_delivers(1, 2, claimed_until_ms=claim, claimed_through=2) == 1
    assert world.slept == []


def test_the_fan_out_does_not_wait_for_a_claim_on_a_tenant_with_many_connections():
    world = World(FastPathPolicy(max_connections=0))
    world.write("one")
    for n in range(11):  # more than the fan-out's default fast-path limit, 10
        world.connect(f"c{n}")
    claim = int(world.clock.now() * 1000) + 100
    assert world.stream_delivers(0, 1, claimed_until_ms=claim, claimed_through=1) == 11
    assert world.slept == []


def test_a_write_that_posts_nothing_still_says_its_push_is_over():
    # Given a client that lags (the write will not post to it)
    world = World()
    world.write("one")
    world.connect("c1", acked=0)
    world.write("two")
    assert world.push.posts == []
    # Then the write's claim is marked over, so a fan-out does not wait for it
    assert world.connections.settled[TENANT] == 2
    world.connections.raise_ack(TENANT, "c1", 1)  # the client caught up meanwhile
    assert world.tenant.last_commit is not None
    claim = world.tenant.last_commit.push_claim_ms
    assert world.stream_delivers(1, 2, claimed_until_ms=claim, claimed_through=2) == 1
    assert world.slept == []


def test_after_the_stream_delivered_a_burst_the_next_write_is_pushed_at_once():
    # Given a client the stream served (writes in a burst, its acks not in yet)
    world = World(FastPathPolicy(max_connections=0))
    world.connect("c1")
    for n in range(3):
        world.write(f"burst {n}")
    assert world.stream_delivers(0, 3) == 1
    # Then the fan-out marked what it gave the client
    assert world.connections.pushed[TENANT] == {"c1": 3}
    # And the next write at a person's pace is the write's own again
    world.fast_path.policy = FastPathPolicy()
    world.write("after the burst")
    assert [m["to"] for m in world.push.messages_to("c1")] == [4]


def test_saying_a_push_is_over_keeps_the_marks_it_did_not_read():
    # Given a client whose hello mark lands after the write listed the connections
    world = World()
    world.write("one")
    world.connect("c1", said_hello=False)
    read_too_early = world.connections.listing

    def listing_then_hello(tenant_id: str) -> TenantConnections:
        listed = read_too_early(tenant_id)
        world.connections.pushed[TENANT] = {"c1": 1}  # the hello's catch-up, recorded now
        return listed

    world.connections.listing = listing_then_hello  # type: ignore[method-assign]
    # When the write finds nobody ready and says its push is over
    world.write("two")
    # Then the hello's mark is still there, and the push is recorded over
    assert world.push.posts == []
    assert world.connections.pushed[TENANT] == {"c1": 1}
    assert world.connections.settled[TENANT] == 2
