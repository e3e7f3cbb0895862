"""Realtime sync end to end: this project's app under the local runtime on DynamoDB Local
(the first test on LocalStack too, in the LocalStack pass), REST writes over real HTTP,
websocket-client clients that follow DESIGN §5's client rules (tests/support/sync_client.py),
the stream, the fan-out function and `@connections`."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.dal.tables import TENANT_TABLE_INFIX
from chalicelib.services import build_services
from chalicelib.settings import Settings
from tests.support.fakes import FakeClock, RecordingSubscriptions
from tests.support.local_runtime import RuntimeProcess, wait_for
from tests.support.rest_user import RestUser
from tests.support.sync_client import MAX_MESSAGE_BYTES, SyncClient, wait_converged

DAY_S = 86_400
STREAM_INTERVAL_S = 0.1  # the runtime's default --stream-interval

# Every test here runs this project's app on DynamoDB Local.
pytestmark = pytest.mark.dynamodb_local


def client(runtime: RuntimeProcess, user: RestUser, **options: Any) -> SyncClient:
    return SyncClient(runtime.ws_url, user.token, **options).connect()


def changes_of(client: SyncClient) -> list[dict[str, Any]]:
    return [r.message for r in client.messages("changes")]


def note_ids(messages: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for message in messages for item in message["items"]}


def tenant_stream_mapping(runtime: RuntimeProcess, user: RestUser) -> str:
    """The UUID of the fan-out mapping on the user's table, through the Lambda API."""
    table = f"userdb-local-{TENANT_TABLE_INFIX}{user.id}"
    arn = runtime.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [mapping] = runtime.client("lambda").list_event_source_mappings(EventSourceArn=arn)[
        "EventSourceMappings"
    ]
    return str(mapping["UUID"])


@pytest.mark.parametrize(
    "backend",
    ["dynamodb-local", pytest.param("localstack", marks=pytest.mark.localstack)],
)
def test_clients_of_one_user_see_each_others_writes_and_no_one_elses(backend, request):
    userdb_runtime = request.getfixturevalue(
        "userdb_runtime" if backend == "dynamodb-local" else "userdb_runtime_on_localstack"
    )
    # Given Ann signed in twice (a laptop and a phone) and Bob, each with a live client
    ann_laptop = RestUser.sign_up(userdb_runtime.api_url, "Ann")
    ann_phone = ann_laptop.login()
    bob = RestUser.sign_up(userdb_runtime.api_url, "Bob")
    laptop, phone = client(userdb_runtime, ann_laptop), client(userdb_runtime, ann_phone)
    bobs = client(userdb_runtime, bob)
    # When Ann writes from the laptop, then edits and deletes from the phone
    first = ann_laptop.create("from the laptop")
    second = ann_phone.create("from the phone")
    edited = ann_phone.call("PUT", f"/notes/{first['id']}", json={"text": "edited on the phone"})
    assert edited.status_code == 200
    assert ann_phone.call("DELETE", f"/notes/{second['id']}").status_code == 204
    # Then both of Ann's clients end with exactly her notes
    version, notes = ann_laptop.server_state()
    assert (version, notes) == (4, {first["id"]: ("edited on the phone", 3)})
    for ann_client in (laptop, phone):
        wait_converged(ann_client, version, notes)
    # And when Bob writes, his client gets his note and Ann's get nothing of it
    bobs_note = bob.create("bob's")
    wait_converged(bobs, *bob.server_state())
    assert note_ids(changes_of(bobs)) == {bobs_note["id"]}
    time.sleep(0.5)  # a stray delivery would have arrived by now (a stream read is 0.1 s)
    for ann_client in (laptop, phone):
        assert bobs_note["id"] not in note_ids(changes_of(ann_client))
        assert ann_client.state.cursor == 4
    for each in (laptop, phone, bobs):
        each.disconnect()


@pytest.mark.slow
def test_a_burst_of_500_writes_reaches_every_client_in_far_fewer_messages(
    userdb_runtime, record_property
):
    # Given a user with three live clients, one of which never acks
    user = RestUser.sign_up(userdb_runtime.api_url)
    clients = [client(userdb_runtime, user) for _ in range(2)]
    clients.append(client(userdb_runtime, user, acks=False))
    # When 500 notes are written as fast as one writer can
    started = time.monotonic()
    for n in range(500):
        user.create(f"note {n}")
    writing_s = time.monotonic() - started
    # Then every client ends with exactly the server's state
    version, notes = user.server_state()
    assert version == 500 and len(notes) == 500
    for each in clients:
        wait_converged(each, version, notes, timeout_s=60)
    # And each got far fewer messages than writes, none over 128 KB, hardly a range twice
    # (a write's own push can race the stream's fan-out on a busy machine: the copy is
    # recognised by its versions and changes nothing), and never a gap
    counts = []
    for each in clients:
        changes = each.messages("changes")
        counts.append(len(changes))
        assert max(r.size for r in each.received) <= MAX_MESSAGE_BYTES
        assert each.state.duplicates <= 5 and each.state.gaps == 0
        # At most one message per stream read (a shard is read every 0.1 s while busy), so
        # far fewer than one per write whenever writes come faster than reads
        assert len(changes) < min(500, writing_s / STREAM_INTERVAL_S + 20), writing_s
    assert clients[2].state.acks_sent == 0
    figures = {
        "writes_per_s": round(500 / writing_s, 1),
        "messages_per_client": counts,
        "bytes_per_client": [sum(r.size for r in c.received) for c in clients],
    }
    record_property("burst_500", figures)
    print(f"\n500-write burst: {figures}")
    for each in clients:
        each.disconnect()


def test_a_change_set_over_128_kb_arrives_split_by_version(faults):
    userdb_runtime = faults  # its fault plan is cleared after the test, also on a failure
    # Given a live client the writes' own push cannot reach (its first post fails, so it
    # lags behind the next writes), and the user's stream held back (its mapping disabled)
    user = RestUser.sign_up(userdb_runtime.api_url)
    live = client(userdb_runtime, user)
    live.wait(lambda: live.state.cursor is not None, what="the first snapshot")
    target = live.connection_ids[-1]
    userdb_runtime.faults(
        "PUT", {"connections": [{"status": 500, "count": 1, "connectionId": target}]}
    )
    lambda_api = userdb_runtime.client("lambda")
    mapping = tenant_stream_mapping(userdb_runtime, user)
    lambda_api.update_event_source_mapping(UUID=mapping, Enabled=False)
    # When twelve notes of 60 KB are written, then the stream flows again as one batch
    for n in range(12):
        user.create(f"{n:02d}" + "x" * 60_000)
    lambda_api.update_event_source_mapping(UUID=mapping, Enabled=True)
    # Then the live client gets the 720 KB change set in parts under 128 KB that chain
    version, notes = user.server_state()
    wait_converged(live, version, notes)
    pushed = [m for m in changes_of(live) if m["to"] > 0]
    assert len(pushed) >= 6
    assert [m["from"] for m in pushed[1:]] == [m["to"] for m in pushed[:-1]]
    assert pushed[0]["from"] == 0 and pushed[-1]["to"] == 12
    assert all(not m["snapshot"] for m in pushed)
    # And a client that connects now gets a snapshot split the same way, only its first part
    # marked as a snapshot
    late = client(userdb_runtime, user)
    wait_converged(late, version, notes)
    parts = changes_of(late)
    assert len(parts) >= 6
    assert [m["snapshot"] for m in parts] == [True] + [False] * (len(parts) - 1)
    for each in (live, late):
        assert max(r.size for r in each.received) <= MAX_MESSAGE_BYTES
        each.disconnect()


def test_a_client_away_during_100_writes_resumes_from_its_cursor(userdb_runtime):
    # Given two clients of a user, and a first note both have
    user = RestUser.sign_up(userdb_runtime.api_url)
    staying, leaving = client(userdb_runtime, user), client(userdb_runtime, user)
    user.create("before")
    leaving.wait_for_version(1)
    # When one disconnects while 100 notes are written, edited or deleted, then reconnects
    leaving.disconnect()
    written = [user.create(f"while away {n}") for n in range(90)]
    for note in written[:5]:
        user.call("PUT", f"/notes/{note['id']}", json={"text": "edited while away"})
    for note in written[5:10]:
        user.call("DELETE", f"/notes/{note['id']}")
    seen_before = len(leaving.received)
    leaving.connect()
    # Then it catches up from its cursor with exact changes (no snapshot) and converges
    version, notes = user.server_state()
    assert version == 101
    for each in (staying, leaving):
        wait_converged(each, version, notes)
    # (a push of the last writes may arrive before the catch-up: the client is in the tenant's
    # connections from `$connect` on, and the catch-up covers it)
    after = [r.message for r in leaving.received[seen_before:] if r.message["type"] == "changes"]
    assert 1 in [m["from"] for m in after]
    assert not any(m["snapshot"] for m in after)
    assert len(leaving.connection_ids) == 2
    for each in (staying, leaving):
        each.disconnect()


def test_a_cursor_below_the_tombstone_horizon_gets_a_snapshot(userdb_runtime):
    """Tombstones live USERDB_TOMBSTONE_DAYS (7) days, so ageing one for real takes a week.
    The test deletes a note "eight days ago" instead: the app's own NoteService, with its
    clock set back, commits the deletion to the runtime's DynamoDB (the tombstone and the
    ledger in `meta` exactly as a deletion eight days ago left them). Everything after is
    real and now: the stream and the fan-out, the runtime's TTL sweeper removing the
    expired tombstone, and the client's `hello since=cursor`.
    """
    # Given notes a client has seen before going away (its cursor: 2)
    user = RestUser.sign_up(userdb_runtime.api_url)
    gone, kept = user.create("deleted long ago"), user.create("kept")
    away = client(userdb_runtime, user)
    away.wait_for_version(2)
    away.disconnect()
    live = client(userdb_runtime, user)
    # When the first was deleted eight days ago, and TTL has removed its tombstone
    settings = Settings(
        dynamodb_endpoint=f"http://127.0.0.1:{userdb_runtime.ddb_port}",
        table_prefix="userdb-local",
        stage="local",
    )
    eight_days_ago = FakeClock(time.time() - 8 * DAY_S)
    past = build_services(settings, eight_days_ago, RecordingSubscriptions())
    assert past.notes.delete(user.id, gone["id"], None) == 3
    dynamodb = userdb_runtime.client("dynamodb")
    table = f"userdb-local-{TENANT_TABLE_INFIX}{user.id}"
    key = {"pk": {"S": user.id}, "sk": {"S": f"note#{gone['id']}"}}
    wait_for(
        lambda: "Item" not in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True),
        timeout_s=20,
        what="the TTL sweeper to remove the tombstone",
    )
    # Then the returning client (cursor 2, below the horizon 3) gets a snapshot and converges
    seen_before = len(away.received)
    away.connect()
    version, notes = user.server_state()
    assert (version, notes) == (3, {kept["id"]: ("kept", 2)})
    wait_converged(away, version, notes)
    catch_up = [r.message for r in away.received[seen_before:] if r.message["type"] == "changes"]
    assert catch_up[0]["snapshot"] is True and catch_up[0]["from"] == 0
    # And the client that was live when it happened converged too
    wait_converged(live, version, notes)
    # While a client at the horizon or above gets exact changes again
    newer = user.create("newer")
    wait_converged(away, *user.server_state())
    last = changes_of(away)[-1]
    assert (last["from"], last["to"], last["snapshot"]) == (3, newer["version"], False)
    for each in (away, live):
        each.disconnect()


def test_a_reconnecting_client_replaces_its_old_connection_and_bad_messages_get_errors(
    userdb_runtime,
):
    # Given a client whose old connection is still open (say, a laptop back from sleep)
    user = RestUser.sign_up(userdb_runtime.api_url)
    old = client(userdb_runtime, user)
    # When the same clientId connects again and says hello
    new = SyncClient(userdb_runtime.ws_url, user.token, client_id=old.client_id).connect()
    # Then the server closes the old connection, and the new one is served
    assert old.wait_closed() == 1000
    user.create("to the new connection")
    wait_converged(new, *user.server_state())
    # And a message the server cannot read gets an error, and the connection stays usable
    for bad in ({"action": "teleport"}, {"action": "ack", "version": -1}):
        new.send(bad)
    new.wait(lambda: len(new.messages("error")) == 2, what="two errors")
    assert {r.message["code"] for r in new.messages("error")} == {"validation_error"}
    new.send({"action": "ping", "version": 0})
    new.wait(lambda: bool(new.messages("pong")), what="a pong")
    # (a ping behind the server's version is answered with the missing changes too)
    new.wait(lambda: len(new.messages("changes")) >= 3, what="the ping's catch-up")
    new.disconnect()
