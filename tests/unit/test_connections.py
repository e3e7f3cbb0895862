"""The WebSocket protocol's server side (DESIGN §5), with in-memory fakes."""

import json
import uuid

import pytest

from chalicelib.errors import UnauthorizedError, ValidationError
from chalicelib.logic.connections import ConnectionService
from chalicelib.logic.sessions import ClientInfo
from tests.support.fakes import (
    FakeChangeFeed,
    FakeClock,
    InMemoryConnectionStore,
    RecordingPush,
    memory_sessions,
)


@pytest.fixture
def parts():
    clock = FakeClock()
    sessions = memory_sessions(clock)
    store, feed, push = InMemoryConnectionStore(), FakeChangeFeed(), RecordingPush()
    service = ConnectionService(sessions, store, feed, clock, push)
    token, session = sessions.start("usr_a", ClientInfo())
    return service, sessions, store, feed, push, token, session


CLIENT = str(uuid.uuid4())


def send(service, push, connection_id, message):
    body = message if isinstance(message, str) else json.dumps(message)
    service.receive(connection_id, body, push)
    return push.messages_to(connection_id)


def test_connect_needs_a_valid_session_and_a_uuid_client_id(parts):
    service, _, store, _, _, token, _ = parts
    with pytest.raises(UnauthorizedError):
        service.connect("c1", "wrong", CLIENT)
    with pytest.raises(UnauthorizedError):
        service.connect("c1", None, CLIENT)
    with pytest.raises(ValidationError):
        service.connect("c1", token, "not-a-uuid")
    assert store.connections == {}
    connection = service.connect("c1", token, CLIENT)
    assert connection.tenant_id == "usr_a"
    assert store.get("c1") == connection


def test_hello_answers_welcome_then_a_snapshot(parts):
    service, _, _, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    feed.write("usr_a", "n2", None)
    service.connect("c1", token, CLIENT)
    welcome, changes = send(service, push, "c1", {"action": "hello", "since": None})
    assert welcome == {"type": "welcome", "clientId": CLIENT, "connectionId": "c1", "version": 2}
    assert changes["snapshot"] is True
    assert [item["id"] for item in changes["items"]] == ["n1"]
    assert changes["to"] == 2


def test_hello_with_a_current_cursor_gets_no_catch_up(parts):
    service, _, _, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    service.connect("c1", token, CLIENT)
    messages = send(service, push, "c1", {"action": "hello", "since": 1})
    assert [m["type"] for m in messages] == ["welcome"]


def test_hello_behind_gets_the_missing_range_and_counts_as_an_ack(parts):
    service, _, store, feed, push, token, _ = parts
    for n in range(5):
        feed.write("usr_a", f"n{n}", "t")
    service.connect("c1", token, CLIENT)
    _, changes = send(service, push, "c1", {"action": "hello", "since": 3})
    assert (changes["from"], changes["to"], changes["snapshot"]) == (3, 5, False)
    assert [item["version"] for item in changes["items"]] == [4, 5]
    assert store.get("c1").acked_version == 3


@pytest.mark.parametrize("action", ["hello", "ping"])
def test_a_cursor_beyond_the_tenants_version_is_not_taken_as_an_ack(parts, action):
    # Given a tenant at version 2 and a client claiming version 9 (say, data restored
    # from a backup since it last synced)
    service, _, store, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    feed.write("usr_a", "n2", "two")
    service.connect("c1", token, CLIENT)
    field = "since" if action == "hello" else "version"
    messages = send(service, push, "c1", {"action": action, field: 9})
    # Then it gets a snapshot, and its position is the tenant's version at most, so later
    # pushes still reach it
    assert messages[-1]["snapshot"] is True and messages[-1]["to"] == 2
    assert store.get("c1").acked_version == 2


def test_a_new_hello_from_the_same_client_replaces_its_older_connections(parts):
    service, _, store, _, push, token, _ = parts
    service.connect("old", token, CLIENT)
    service.connect("other-client", token, str(uuid.uuid4()))
    service.connect("new", token, CLIENT)
    send(service, push, "new", {"action": "hello", "since": 0})
    assert push.closed == ["old"]
    assert store.get("old") is None
    assert store.get("other-client") is not None


def test_acks_only_raise_the_acked_version(parts):
    service, _, store, _, push, token, _ = parts
    service.connect("c1", token, CLIENT)
    send(service, push, "c1", {"action": "ack", "version": 7})
    send(service, push, "c1", {"action": "ack", "version": 3})
    assert store.get("c1").acked_version == 7
    assert push.messages_to("c1") == []


def test_ping_answers_pong_and_catches_up_a_client_behind(parts):
    service, _, _, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    feed.write("usr_a", "n2", "two")
    service.connect("c1", token, CLIENT)
    pong, changes = send(service, push, "c1", {"action": "ping", "version": 1})
    assert pong == {"type": "pong", "version": 2}
    assert [item["id"] for item in changes["items"]] == ["n2"]
    assert send(service, push, "c1", {"action": "ping", "version": 2})[-1]["type"] == "pong"


def test_sync_pulls(parts):
    service, _, _, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    service.connect("c1", token, CLIENT)
    [changes] = send(service, push, "c1", {"action": "sync", "since": 0})
    assert changes["items"][0]["id"] == "n1"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        "{}",
        '{"action": "explode"}',
        '{"action": "ack"}',
        '{"action": "ack", "version": -1}',
        '{"action": "ack", "version": "7"}',
        '{"action": "hello", "since": 1, "extra": true}',
        "",
    ],
)
def test_malformed_messages_get_an_error_and_the_connection_stays_usable(parts, body):
    service, _, _, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    service.connect("c1", token, CLIENT)
    [error] = send(service, push, "c1", body)
    assert error["type"] == "error"
    assert error["code"] == "validation_error"
    assert send(service, push, "c1", {"action": "ping", "version": 1})[-1]["type"] == "pong"


def test_a_message_on_an_unknown_connection_closes_it_so_the_client_reconnects(parts):
    # Given a connection the server forgot (a post to it was answered 410 while the client
    # stayed), its session still valid
    service, _, store, _, push, token, _ = parts
    service.connect("c1", token, CLIENT)
    store.remove("usr_a", "c1")
    # When the client speaks on it
    answers = send(service, push, "c1", {"action": "ping", "version": 0})
    # Then it is closed (the client reconnects; $connect checks the session), with no error
    # message: "unauthorized" would tell a signed-in client to sign in again
    assert answers == []
    assert push.closed == ["c1"]


@pytest.mark.parametrize(
    "message", [{"action": "ack", "version": 3}, '{"action": "nonsense"}', "not json"]
)
def test_any_message_on_a_forgotten_connection_closes_it(parts, message):
    # Given a connection acked once (so this instance knows its tenant), then forgotten
    service, _, store, _, push, token, _ = parts
    service.connect("c1", token, CLIENT)
    send(service, push, "c1", {"action": "ack", "version": 1})
    store.remove("usr_a", "c1")
    # When the client sends an ack, an unknown action or garbage on it
    answers = send(service, push, "c1", message)
    # Then it is closed, not answered, and nothing brings the connection back
    assert answers == []
    assert push.closed == ["c1"]
    assert store.get("c1") is None


class CountingConnectionStore(InMemoryConnectionStore):
    """Counts the store's calls: each stands for a DynamoDB request."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get(self, connection_id):
        self.calls.append("get")
        return super().get(connection_id)

    def tenant_of(self, connection_id):
        self.calls.append("tenant_of")
        return super().tenant_of(connection_id)

    def raise_ack(self, tenant_id, connection_id, version):
        self.calls.append("raise_ack")
        return super().raise_ack(tenant_id, connection_id, version)


def test_an_ack_on_a_warm_instance_is_one_write(parts):
    # Given a connection whose first ack taught this instance its tenant
    _, sessions, _, feed, push, token, _ = parts
    store = CountingConnectionStore()
    service = ConnectionService(sessions, store, feed, FakeClock(), push)
    service.connect("c1", token, CLIENT)
    send(service, push, "c1", {"action": "ack", "version": 1})
    assert store.calls == ["tenant_of", "raise_ack"]
    store.calls.clear()
    # When it acks again, higher and then lower
    send(service, push, "c1", {"action": "ack", "version": 4})
    send(service, push, "c1", {"action": "ack", "version": 2})
    # Then the higher one was one conditional write, the lower one none at all
    assert store.calls == ["raise_ack"]
    assert store.get("c1").acked_version == 4
    assert push.closed == []


def test_a_flood_of_acks_that_do_not_advance_costs_no_dynamodb_call(parts):
    # Given a connection that acked version 3 (the instance remembers it)
    _, sessions, _, feed, push, token, _ = parts
    store = CountingConnectionStore()
    clock = FakeClock()
    service = ConnectionService(sessions, store, feed, clock, push)
    service.connect("c1", token, CLIENT)
    send(service, push, "c1", {"action": "ack", "version": 3})
    store.calls.clear()
    # When it sends the same ack again and again, slowly enough for its budget
    for _ in range(3000):
        clock.advance(0.1)
        send(service, push, "c1", {"action": "ack", "version": 3})
    # Then nothing reached the store, and nothing was answered
    assert store.calls == []
    assert push.messages_to("c1") == []


def test_a_connection_over_its_message_budget_is_told_once_and_dropped(parts):
    service, _, _, _, push, token, _ = parts
    service.connect("c1", token, CLIENT)
    service.connect("c2", token, str(uuid.uuid4()))
    # When c1 sends 100 pings at once (its burst is 40)
    for _ in range(100):
        service.receive("c1", json.dumps({"action": "ping", "version": 0}), push)
    # Then 40 were answered, then one `rate_limited` error, and the rest dropped
    answers = push.messages_to("c1")
    assert [m["type"] for m in answers] == ["pong"] * 40 + ["error"]
    assert answers[-1]["code"] == "rate_limited"
    # And another connection is not limited by it
    assert [m["type"] for m in send(service, push, "c2", {"action": "ping"})] == ["pong"]


def test_a_rate_limited_connection_gets_budget_back_with_time(parts):
    _, sessions, store, feed, push, token, _ = parts
    clock = FakeClock()
    service = ConnectionService(sessions, store, feed, clock, push)
    service.connect("c1", token, CLIENT)
    for _ in range(45):
        service.receive("c1", json.dumps({"action": "ping"}), push)
    clock.advance(1.0)  # ten messages a second
    for _ in range(12):
        service.receive("c1", json.dumps({"action": "ping"}), push)
    types = [m["type"] for m in push.messages_to("c1")]
    # 40, told once; a second later 10 more, then told again (a new episode)
    assert types == ["pong"] * 40 + ["error"] + ["pong"] * 10 + ["error"]


def test_a_slow_flood_is_told_once_a_second_not_once_per_token_regained(parts):
    _, sessions, store, feed, push, token, _ = parts
    clock = FakeClock()
    service = ConnectionService(sessions, store, feed, clock, push)
    service.connect("c1", token, CLIENT)
    # When c1 spends its burst, then keeps sending a ping every 1/16 s for 3 s
    # (it regains a token every 100 ms, so 30 of the 48 are answered)
    for _ in range(40):
        service.receive("c1", json.dumps({"action": "ping"}), push)
    for _ in range(48):
        clock.advance(1 / 16)
        service.receive("c1", json.dumps({"action": "ping"}), push)
    types = [m["type"] for m in push.messages_to("c1")]
    # Then it was told 3 times (once a second), not once per token regained (18)
    assert types.count("pong") == 40 + 30
    assert types.count("error") == 3


def test_revoking_a_session_closes_only_its_connections(parts):
    service, sessions, store, _, push, token, session = parts
    other_token, _ = sessions.start("usr_a", ClientInfo())
    service.connect("mine", token, CLIENT)
    service.connect("theirs", other_token, str(uuid.uuid4()))
    assert service.close_session(session) == 1
    assert push.closed == ["mine"]
    assert store.get("theirs") is not None


def test_disconnect_forgets_the_connection(parts):
    service, _, store, _, _, token, _ = parts
    service.connect("c1", token, CLIENT)
    service.disconnect("c1")
    service.disconnect("c1")
    assert store.get("c1") is None


def test_ending_a_session_closes_its_connections_through_the_listener(parts):
    service, sessions, store, _, push, token, session = parts
    sessions.on_end(service.close_session)
    service.connect("c1", token, CLIENT)
    sessions.end(session)
    assert push.closed == ["c1"]
    assert store.get("c1") is None


def test_deleting_a_tenant_closes_every_connection(parts):
    service, _, store, _, push, token, _ = parts
    service.connect("c1", token, CLIENT)
    service.connect("c2", token, str(uuid.uuid4()))
    assert service.delete_all("usr_a") == 2
    assert sorted(push.closed) == ["c1", "c2"]
    assert store.for_tenant("usr_a") == []


def test_a_cursor_beyond_the_store_is_not_taken_as_acked(parts):
    # Given a client whose cursor is ahead of the server (its store was reset)
    service, _, store, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "one")
    service.connect("c1", token, CLIENT)
    send(service, push, "c1", {"action": "hello", "since": 40})
    send(service, push, "c1", {"action": "ping", "version": 40})
    # Then fan-out still treats it as at most at the server's version
    assert store.get("c1").acked_version == 1


def test_a_hello_marks_the_connection_as_holding_its_catch_up(parts):
    # Given three versions and a client that had one
    service, _, store, feed, push, token, _ = parts
    for n in range(3):
        feed.write("usr_a", f"n{n}", "text")
    service.connect("c1", token, CLIENT)
    # When it says hello, the catch-up (1, 3] is posted and recorded as pushed to it
    send(service, push, "c1", {"action": "hello", "since": 1})
    assert store.pushed["usr_a"] == {"c1": 3}
    # And a hello with nothing to catch up writes no marks
    writes = store.marks_written
    service.connect("c2", token, str(uuid.uuid4()))
    send(service, push, "c2", {"action": "hello", "since": 3})
    assert store.marks_written == writes


def test_a_hello_whose_catch_up_could_not_be_posted_marks_nothing(parts):
    service, _, store, feed, push, token, _ = parts
    feed.write("usr_a", "n1", "text")
    service.connect("c1", token, CLIENT)
    push.gone.add("c1")
    send(service, push, "c1", {"action": "hello", "since": 0})
    assert "usr_a" not in store.pushed
