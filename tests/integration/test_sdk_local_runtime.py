"""The SDK against `python -m infra.local up`: accounts, notes, and live sync end to end.

Tests that need the notes API or the realtime routes skip, saying which, until
the runtime on this branch serves them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import userdb
from tests.support.clients_runtime import LocalStack
from userdb.sync import ChangeSet, ConnectionState, Status, SyncTimings

PASSWORD = "correct horse battery"
WAIT = 20.0
FAST_BACKOFF = SyncTimings(backoff_initial=0.1, backoff_max=1.0)


def new_client(stack: LocalStack, state_dir: Path | None) -> userdb.Client:
    return userdb.Client(stack.base_url, stack.ws_url, state_dir, timings=FAST_BACKOFF)


@pytest.fixture
def ann(local_stack: LocalStack, tmp_path: Path) -> Iterator[userdb.Client]:
    client = new_client(local_stack, tmp_path / "ann")
    client.signup(f"ann-{uuid.uuid4().hex[:10]}@example.com", PASSWORD, "Ann")
    yield client
    client.close()


def email_of(client: userdb.Client) -> str:
    assert client.user is not None and client.user.email is not None
    return client.user.email


def server_notes(client: userdb.Client) -> dict[str, str]:
    return {note.id: note.text for note in client.notes.all()}


def local_notes(live: userdb.Subscription) -> dict[str, str]:
    return {note.id: note.text for note in live.notes()}


def test_accounts_and_typed_errors(local_stack, tmp_path):
    client = new_client(local_stack, tmp_path / "state")
    email = f"typed-{uuid.uuid4().hex[:10]}@example.com"
    # Given a new account
    user = client.signup(email, PASSWORD, "Ann")
    assert user.email == email and client.signed_in
    # Then the session and profile are readable, and kept in the state folder
    current = client.session()
    assert current.user.id == user.id and current.session.current
    assert new_client(local_stack, tmp_path / "state").me().id == user.id
    assert [s.current for s in client.sessions()] == [True]
    # And each refusal is its own exception
    with pytest.raises(userdb.EmailTakenError):
        new_client(local_stack, None).signup(email, PASSWORD, "Ann")
    with pytest.raises(userdb.InvalidCredentialsError):
        new_client(local_stack, None).login(email, "wrong password")
    with pytest.raises(userdb.BadRequestError) as invalid:
        new_client(local_stack, None).signup("not-an-email", PASSWORD, "Ann")
    assert any(detail["field"] == "email" for detail in invalid.value.details)
    # When the session is ended elsewhere, its token is refused
    other = new_client(local_stack, None)
    other.login(email, PASSWORD)
    token = other.token
    other.logout()
    with pytest.raises(userdb.UnauthorizedError):
        userdb.Client(local_stack.base_url, local_stack.ws_url, None, token=token).me()
    # And after logout nothing is kept
    client.logout()
    with pytest.raises(userdb.NotSignedInError):
        client.me()
    assert new_client(local_stack, tmp_path / "state").token is None


def test_notes_crud_with_versions(local_stack, ann):
    local_stack.require_notes()
    # Given a note
    note = ann.notes.create("first")
    assert ann.notes.get(note.id) == note
    # When it is updated at its version, then again with the stale version
    updated = ann.notes.update(note.id, "second", if_match=note.version)
    assert updated.version > note.version and updated.text == "second"
    with pytest.raises(userdb.VersionMismatchError):
        ann.notes.update(note.id, "lost", if_match=note.version)
    # Then the stale write lost nothing
    assert ann.notes.get(note.id).text == "second"
    # A retried create with the same Idempotency-Key makes one note
    key = str(uuid.uuid4())
    once = ann.notes.create("exactly once", idempotency_key=key)
    again = ann.notes.create("exactly once", idempotency_key=key)
    assert once.id == again.id
    # Deleting makes it unreadable
    ann.notes.delete(note.id)
    with pytest.raises(userdb.NotFoundError):
        ann.notes.get(note.id)
    assert set(server_notes(ann)) == {once.id}


def test_reconnects_after_the_server_drops_the_socket(local_stack, ann):
    local_stack.require_realtime()
    states: list[Status] = []
    with ann.subscribe(on_state=states.append) as live:
        assert live.wait_live(WAIT)
        ann.notes.create("before the drop")
        assert live.wait_for(lambda s: len(s.notes()) == 1, WAIT)
        # When the gateway drops the connection (as API Gateway may at any time)
        management = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://127.0.0.1:{local_stack.ws_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        dropped = live.connection_id
        management.delete_connection(ConnectionId=dropped)
        writer = new_client(local_stack, None)
        writer.login(email_of(ann), PASSWORD)
        for n in range(5):
            writer.notes.create(f"while away {n}")
        # Then it reconnects on a new connection and converges
        assert live.wait_for(lambda s: local_notes(s) == server_notes(writer), WAIT)
        assert live.wait_live(WAIT) and live.connection_id != dropped
        # Each connection was opened with a ticket of its own, never with the token
        both = (dropped, live.connection_id)
        connected = local_stack.runtime.app_logs("connected")
        opened = [r["credential"] for r in connected if r.get("connection_id") in both]
        assert opened == ["ticket", "ticket"]
    assert ConnectionState.RECONNECTING in [status.state for status in states]


def test_resumes_after_a_restart_from_the_state_folder_without_a_snapshot(
    local_stack,
    tmp_path,
):
    local_stack.require_realtime()
    first = new_client(local_stack, tmp_path / "device")
    first.signup(f"restart-{uuid.uuid4().hex[:10]}@example.com", PASSWORD, "Ann")
    for n in range(3):
        first.notes.create(f"note {n}")
    with first.subscribe() as live:
        assert live.wait_for(lambda s: len(s.notes()) == 3, WAIT)
        cursor = live.cursor
    first.close()
    # Given two writes while the process is gone
    writer = new_client(local_stack, None)
    writer.login(email_of(first), PASSWORD)
    writer.notes.create("new while away")
    changed = next(note for note in writer.notes.all() if note.text == "note 1")
    writer.notes.update(changed.id, "changed while away")
    # When a new process starts from the same folder
    changes: list[ChangeSet] = []
    restarted = new_client(local_stack, tmp_path / "device")
    assert restarted.cached_cursor() == cursor
    with restarted.subscribe(on_change=changes.append) as live:
        assert live.wait_for(lambda s: local_notes(s) == server_notes(writer), WAIT)
    # Then it caught up with only the missing range: no snapshot
    assert changes and not any(change.snapshot for change in changes)
    assert {doc.data["text"] for change in changes for doc in change.upserted} == {
        "new while away",
        "changed while away",
    }


def test_a_burst_of_writes_ends_in_the_same_state_as_the_server(local_stack, ann):
    local_stack.require_realtime()
    rng = random.Random(7)
    writer = new_client(local_stack, None)
    writer.login(email_of(ann), PASSWORD)
    with ann.subscribe() as live:
        assert live.wait_live(WAIT)
        # When 150 creates, updates and deletes land in a burst
        ids: list[str] = []
        for n in range(150):
            roll = rng.random()
            if ids and roll < 0.3:
                writer.notes.update(rng.choice(ids), f"update {n}")
            elif ids and roll < 0.45:
                writer.notes.delete(ids.pop(rng.randrange(len(ids))))
            else:
                ids.append(writer.notes.create(f"note {n}").id)
        # Then the subscriber holds exactly the server's notes, at the server's version
        expected = server_notes(writer)
        assert live.wait_for(lambda s: local_notes(s) == expected, WAIT)
        version = writer.sync(since=live.cursor).to
        assert live.cursor == version


def test_another_user_sees_none_of_it(local_stack, ann, tmp_path):
    local_stack.require_realtime()
    bob = new_client(local_stack, tmp_path / "bob")
    bob.signup(f"bob-{uuid.uuid4().hex[:10]}@example.com", PASSWORD, "Bob")
    seen: list[ChangeSet] = []
    with bob.subscribe(on_change=seen.append) as bobs, ann.subscribe() as anns:
        assert bobs.wait_live(WAIT) and anns.wait_live(WAIT)
        for n in range(5):
            ann.notes.create(f"ann's secret {n}")
        assert anns.wait_for(lambda s: len(s.notes()) == 5, WAIT)
        mine = bob.notes.create("bob's own")
        assert bobs.wait_for(lambda s: len(s.notes()) == 1, WAIT)
    assert [note.id for note in bobs.notes()] == [mine.id]
    assert all("ann" not in doc.data["text"] for change in seen for doc in change.upserted)


def test_a_device_that_signed_in_before_is_not_locked_out_by_others(local_stack, tmp_path):
    # Given an account signed in once from this state folder (which keeps the device token)
    email = f"owner-{uuid.uuid4().hex[:10]}@example.com"
    device = new_client(local_stack, tmp_path / "device")
    device.signup(email, PASSWORD, "Owner")
    device.logout()
    # When five wrong passwords for that email come from another client
    stranger = new_client(local_stack, tmp_path / "stranger")
    for n in range(5):
        with pytest.raises(userdb.InvalidCredentialsError):
            stranger.login(email, f"wrong {n}")
    # Then the email is locked for clients it does not know, not for this device
    with pytest.raises(userdb.RateLimitedError):
        new_client(local_stack, tmp_path / "another").login(email, PASSWORD)
    assert device.login(email, PASSWORD).email == email
