"""Fan-out rules: committed ranges, coalescing, acks, 410 and retries — with fakes."""

import pytest

from chalicelib.logic.fanout import FanOut, FanOutFailedError, committed_ranges, fan_out_batch
from chalicelib.models.connections import Connection
from tests.support.fakes import FakeChangeFeed, InMemoryConnectionStore, RecordingPush


def meta_record(tenant, before, after, sequence="1", event="MODIFY"):
    image = {
        "Keys": {"pk": {"S": tenant}, "sk": {"S": "meta"}},
        "NewImage": {"pk": {"S": tenant}, "sk": {"S": "meta"}, "version": {"N": str(after)}},
        "SequenceNumber": sequence,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if before:
        image["OldImage"] = {
            "pk": {"S": tenant},
            "sk": {"S": "meta"},
            "version": {"N": str(before)},
        }
    return {
        "eventID": sequence,
        "eventName": event,
        "eventSource": "aws:dynamodb",
        "dynamodb": image,
    }


def note_record(tenant, note_id, version, sequence="9"):
    keys = {"pk": {"S": tenant}, "sk": {"S": f"note#{note_id}"}}
    return {
        "eventID": sequence,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": keys,
            "NewImage": {**keys, "version": {"N": str(version)}},
            "SequenceNumber": sequence,
        },
    }


def connection(tenant, connection_id, acked=0):
    return Connection(
        tenant_id=tenant,
        connection_id=connection_id,
        client_id="00000000-0000-0000-0000-000000000001",
        session_id="ses_1",
        acked_version=acked,
        connected_at=1,
    )


@pytest.fixture
def world():
    feed, store, push = FakeChangeFeed(), InMemoryConnectionStore(), RecordingPush()
    return feed, store, push, FanOut(feed, store, push)


def test_meta_records_give_the_committed_range_per_tenant():
    records = [
        meta_record("usr_a", 0, 1, "1"),
        note_record("usr_a", "n1", 1),
        meta_record("usr_a", 1, 2, "2"),
        meta_record("usr_b", 7, 8, "3"),
        meta_record("usr_a", 2, 3, "4"),
        meta_record("usr_a", 3, 0, "5", event="REMOVE"),
    ]
    ranges = committed_ranges(records)
    assert (ranges["usr_a"].after, ranges["usr_a"].through) == (0, 3)
    assert ranges["usr_a"].sequence_numbers == ["1", "2", "4"]
    assert (ranges["usr_b"].after, ranges["usr_b"].through) == (7, 8)


def test_records_of_notes_alone_trigger_nothing():
    assert committed_ranges([note_record("usr_a", "n1", 4)]) == {}


def test_one_coalesced_message_per_connection_for_a_burst(world):
    feed, store, push, fan_out = world
    for n in range(50):
        feed.write("usr_a", f"n{n}", "text")
    store.add(connection("usr_a", "c1"), 0)
    store.add(connection("usr_a", "c2"), 0)
    store.add(connection("usr_b", "other"), 0)
    # When a batch committed versions (0, 50]
    fan_out.deliver(committed_ranges([meta_record("usr_a", 0, 50)])["usr_a"])
    # Then each of the tenant's connections got one message with all 50, others nothing
    for target in ("c1", "c2"):
        [message] = push.messages_to(target)
        assert (message["type"], message["from"], message["to"]) == ("changes", 0, 50)
        assert len(message["items"]) == 50
    assert push.messages_to("other") == []


def test_consecutive_batches_of_a_burst_send_no_range_twice(world):
    feed, store, push, fan_out = world
    store.add(connection("usr_a", "c1"), 0)
    for n in range(10):
        feed.write("usr_a", f"n{n}", "text")
    # Two batches of a burst, the second one also re-delivered by a retry
    fan_out.deliver(committed_ranges([meta_record("usr_a", 0, 4)])["usr_a"])
    fan_out.deliver(committed_ranges([meta_record("usr_a", 4, 10)])["usr_a"])
    assert fan_out.deliver(committed_ranges([meta_record("usr_a", 4, 10)])["usr_a"]) == 0
    # Then each range went once, and only what the stream said was committed
    ranges = [(m["from"], m["to"]) for m in push.messages_to("c1")]
    assert ranges == [(0, 4), (4, 10)]
    assert [i["version"] for i in push.messages_to("c1")[0]["items"]] == [1, 2, 3, 4]


def test_many_connections_are_served_in_parallel_each_in_order(world):
    feed, store, push, fan_out = world
    for n in range(3):
        feed.write("usr_a", f"n{n}", "x" * 70_000)  # one note per 128 KB message
    for index in range(20):
        store.add(connection("usr_a", f"c{index}"), 0)
    push.gone.add("c7")
    sent = fan_out.deliver(committed_ranges([meta_record("usr_a", 0, 3)])["usr_a"])
    # Every live connection got every part, in version order; the gone one is forgotten
    assert store.get("c7") is None
    for index in range(20):
        if index == 7:
            continue
        ranges = [(m["from"], m["to"]) for m in push.messages_to(f"c{index}")]
        assert ranges == [(0, 1), (1, 2), (2, 3)]
    assert sent == 19 * 3


def test_connections_that_acked_the_range_are_skipped(world):
    feed, store, push, fan_out = world
    feed.write("usr_a", "n1", "x")
    store.add(connection("usr_a", "behind", acked=0), 0)
    store.add(connection("usr_a", "ahead", acked=1), 0)
    fan_out.deliver(committed_ranges([meta_record("usr_a", 0, 1)])["usr_a"])
    assert len(push.messages_to("behind")) == 1
    assert push.messages_to("ahead") == []


def test_a_gone_connection_is_forgotten_and_others_still_served(world):
    feed, store, push, fan_out = world
    feed.write("usr_a", "n1", "x")
    store.add(connection("usr_a", "gone"), 0)
    store.add(connection("usr_a", "live"), 0)
    push.gone.add("gone")
    fan_out.deliver(committed_ranges([meta_record("usr_a", 0, 1)])["usr_a"])
    assert store.get("gone") is None
    assert len(push.messages_to("live")) == 1


def test_a_failing_connection_fails_the_tenant_and_the_retry_delivers(world):
    feed, store, push, fan_out = world
    feed.write("usr_a", "n1", "x")
    store.add(connection("usr_a", "flaky"), 0)
    store.add(connection("usr_a", "fine"), 0)
    push.failing["flaky"] = 1
    committed = committed_ranges([meta_record("usr_a", 0, 1)])["usr_a"]
    with pytest.raises(FanOutFailedError):
        fan_out.deliver(committed)
    # The client that got it acks; the retry reaches the other one and skips it
    store.raise_ack("usr_a", "fine", 1)
    fan_out.deliver(committed)
    assert len(push.messages_to("flaky")) == 1
    assert len(push.messages_to("fine")) == 1


def test_batch_reports_only_the_failed_tenants_meta_records(world):
    feed, store, push, fan_out = world
    feed.write("usr_a", "n1", "x")
    feed.write("usr_b", "n1", "y")
    store.add(connection("usr_a", "a1"), 0)
    store.add(connection("usr_b", "b1"), 0)
    push.failing["a1"] = 99
    event = {
        "Records": [
            meta_record("usr_a", 0, 1, "100"),
            note_record("usr_a", "n1", 1, "101"),
            meta_record("usr_b", 0, 1, "102"),
        ]
    }
    response = fan_out_batch(event, fan_out)
    assert response == {"batchItemFailures": [{"itemIdentifier": "100"}]}
    assert len(push.messages_to("b1")) == 1


class ConnectingWhileRead(FakeChangeFeed):
    """A feed during whose read a client connects and says hello."""

    def __init__(self, store: InMemoryConnectionStore) -> None:
        super().__init__()
        self.store = store
        self.hello_saw: int | None = None

    def committed_changes(self, tenant_id, after, through):
        self.store.add(connection(tenant_id, "new"), 0)
        self.hello_saw = self.current_version(tenant_id)
        return super().committed_changes(tenant_id, after, through)


def test_a_connection_missed_by_the_listing_gets_the_range_from_its_hello():
    # Given a tenant with one connection, and another that connects after the fan-out
    # listed connections (so after the range committed: the stream reported it)
    store, push = InMemoryConnectionStore(), RecordingPush()
    feed = ConnectingWhileRead(store)
    feed.write("usr_a", "n1", "x")
    store.add(connection("usr_a", "old"), 0)
    # When the batch is delivered
    FanOut(feed, store, push).deliver(committed_ranges([meta_record("usr_a", 0, 1)])["usr_a"])
    # Then the listed one gets the push, and the late one's hello already read past it
    assert len(push.messages_to("old")) == 1
    assert push.messages_to("new") == []
    assert feed.hello_saw is not None and feed.hello_saw >= 1


def test_a_commit_that_set_a_claim_carries_it_and_one_that_did_not_carries_none():
    claimed = meta_record("usr_a", 0, 1, "1")
    claimed["dynamodb"]["NewImage"]["push_claim"] = {"N": "5000"}
    unclaimed = meta_record("usr_a", 1, 2, "2")
    # The claim stays on `meta`, but this commit did not change it
    unclaimed["dynamodb"]["NewImage"]["push_claim"] = {"N": "5000"}
    unclaimed["dynamodb"]["OldImage"]["push_claim"] = {"N": "5000"}
    assert committed_ranges([claimed])["usr_a"].claimed_until_ms == 5000
    assert committed_ranges([unclaimed])["usr_a"].claimed_until_ms == 0
    both = committed_ranges([claimed, unclaimed])["usr_a"]
    assert (both.claimed_until_ms, both.claimed_through, both.through) == (5000, 1, 2)
