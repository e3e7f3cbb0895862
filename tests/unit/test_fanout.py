"""Fan-out rules: committed ranges, coalescing, acks, 410 and retries — with fakes."""

import pytest

from chalicelib.logic.fanout import FanOut, FanOutFailedError, committed_ranges, fan_out_batch
from chalicelib.models.connections import Connection
from tests.fakes import FakeChangeFeed, InMemoryConnectionStore, RecordingPush


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


def test_overlapping_batches_of_a_burst_send_no_range_twice(world):
    feed, store, push, fan_out = world
    store.add(connection("usr_a", "c1"), 0)
    for n in range(10):
        feed.write("usr_a", f"n{n}", "text")
    # The first batch saw versions (0, 4] committed but its read saw all ten
    fan_out.deliver(committed_ranges([meta_record("usr_a", 0, 4)])["usr_a"])
    # The next batch's range (4, 10] was already pushed
    sent = fan_out.deliver(committed_ranges([meta_record("usr_a", 4, 10)])["usr_a"])
    assert sent == 0
    assert len(push.messages_to("c1")) == 1


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
    """A feed during whose read a client connects (and reads the version before it)."""

    def __init__(self, store: InMemoryConnectionStore) -> None:
        super().__init__()
        self.store = store

    def changes_since(self, tenant_id, since):
        self.store.add(connection(tenant_id, "new"), 0)
        return super().changes_since(tenant_id, since)


def test_a_connection_made_while_the_batch_is_read_gets_the_push():
    # Given a tenant with one connection, and another that connects during the fan-out's read
    # (its hello may have read the version before the write: only this push can bring it)
    store, push = InMemoryConnectionStore(), RecordingPush()
    feed = ConnectingWhileRead(store)
    feed.write("usr_a", "n1", "x")
    store.add(connection("usr_a", "old"), 0)
    # When the batch is delivered / Then both connections get it
    FanOut(feed, store, push).deliver(committed_ranges([meta_record("usr_a", 0, 1)])["usr_a"])
    assert len(push.messages_to("old")) == 1
    assert len(push.messages_to("new")) == 1
