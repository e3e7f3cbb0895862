"""The SDK's state folder: session, client id, cursor and cached documents, written atomically."""

from __future__ import annotations

import json
import stat
import uuid

import pytest

from userdb.models import Doc, Note, User
from userdb.state import StateStore, StoredSession, write_atomically
from userdb.sync import SyncState

ANN = User(id="usr_ann", email="ann@example.com", name="Ann")
URL = "http://127.0.0.1:8000"


def a_note(note_id: str, version: int) -> Doc:
    return Note(note_id, f"text {version}", 1, version, version).to_doc()


@pytest.mark.parametrize("folder", ["disk", "memory"])
def test_the_sync_state_round_trips_for_its_user_and_server(tmp_path, folder):
    store = StateStore(tmp_path if folder == "disk" else None)
    fresh = store.load_sync(ANN.id, URL)
    assert fresh.cursor is None and fresh.docs == {}
    uuid.UUID(fresh.client_id)
    todo = Doc("todos", "t1", {"title": "é", "n": 2**53, "f": 0.1, "l": [None]}, 6, 1, 6)
    state = SyncState(
        fresh.client_id, 7, {("notes", "note_a"): a_note("note_a", 7), todo.key: todo}, ("todos",)
    )
    store.save_sync(ANN.id, URL, state)
    assert store.load_sync(ANN.id, URL) == state
    # Another user (or server) starts fresh, with the same client id
    other = store.load_sync("usr_bob", URL)
    assert (other.cursor, other.docs, other.client_id) == (None, {}, fresh.client_id)
    assert store.load_sync(ANN.id, "http://elsewhere").cursor is None


def test_the_client_id_survives_restarts_and_logout(tmp_path):
    first = StateStore(tmp_path).load_sync(ANN.id, URL).client_id
    StateStore(tmp_path).clear_sync()
    assert StateStore(tmp_path).load_sync(ANN.id, URL).client_id == first


def test_the_session_file_is_private(tmp_path):
    store = StateStore(tmp_path)
    store.save_session(StoredSession(URL, "secret-token", ANN))
    mode = stat.S_IMODE((tmp_path / "session.json").stat().st_mode)
    assert mode == 0o600
    assert StateStore(tmp_path).load_session() == StoredSession(URL, "secret-token", ANN)
    store.save_session(None)
    assert StateStore(tmp_path).load_session() is None


def test_unreadable_files_are_ignored_not_fatal(tmp_path):
    (tmp_path / "sync.json").write_text("{not json")
    (tmp_path / "session.json").write_text('{"token": 5}')
    store = StateStore(tmp_path)
    assert store.load_session() is None
    assert store.load_sync(ANN.id, URL).cursor is None
    (tmp_path / "sync.json").write_text(
        json.dumps({"client_id": "x", "user_id": ANN.id, "base_url": URL, "notes": [{}]})
    )
    assert StateStore(tmp_path).load_sync(ANN.id, URL).docs == {}


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    # Given a saved file
    target = tmp_path / "sync.json"
    write_atomically(target, b'{"v": 1}')

    # When the disk fails in the middle of the next write (fsync raises)
    def failing_fsync(descriptor: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("userdb.state.os.fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b'{"v": 2, "half": ')
    # Then the old file is intact and no temporary file is left behind
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["sync.json"]


def test_a_state_folder_written_before_collections_keeps_its_notes(tmp_path):
    # Given sync.json as the SDK wrote it before collections (format 1: notes only)
    client_id = str(uuid.uuid4())
    note = {"id": "note_a", "text": "kept", "created": 1, "updated": 5, "version": 5}
    old = {
        "format": 1,
        "client_id": client_id,
        "user_id": ANN.id,
        "base_url": URL,
        "cursor": 9,
        "notes": [note],
    }
    (tmp_path / "sync.json").write_text(json.dumps(old))
    # When today's SDK reads it
    state = StateStore(tmp_path).load_sync(ANN.id, URL)
    # Then the notes are documents of the notes collection, at the same cursor, all followed
    assert state == SyncState(
        client_id, 9, {("notes", "note_a"): Doc("notes", "note_a", {"text": "kept"}, 5, 1, 5)}
    )
