"""What `userdb` prints and which exit code it gives, without a server."""

from __future__ import annotations

import io
import json

import pytest

from userdb import cli, errors
from userdb.models import Doc, Note
from userdb.sync import ChangeSet, ConnectionState, Status
from userdb.watch_view import WatchView

ADDED = Note(id="note_aaaaaaaaaaaaaaaa", text="buy milk", created=1, updated=1, version=3).to_doc()
EDITED = Note(
    id="note_bbbbbbbbbbbbbbbb", text="call\nBob", created=1, updated=2, version=4
).to_doc()
GONE = ("notes", "note_cccccccccccccccc")


def test_watch_prints_changes_and_each_state_as_lines_when_piped():
    out = io.StringIO()
    view = WatchView(out, as_json=False, tty=False)
    view.state(Status(ConnectionState.CONNECTING))
    view.change(ChangeSet(False, (ADDED, EDITED), (GONE,), 4), total=2)
    view.state(Status(ConnectionState.RECONNECTING, "connection lost", retry_in=3.6, cursor=4))
    lines = out.getvalue().splitlines()
    assert lines[0] == "◌ connecting"
    assert lines[1].endswith("+ note_aaaaaaaaaaaaaaaa  buy milk")
    assert lines[2].endswith("~ note_bbbbbbbbbbbbbbbb  call Bob")
    assert lines[3].endswith("- note_cccccccccccccccc")
    assert lines[4] == "◌ reconnecting · connection lost · retrying in 4 s"


def test_watch_keeps_one_status_line_at_the_bottom_of_a_terminal():
    out = io.StringIO()
    view = WatchView(out, as_json=False, tty=True)
    view.count = 1
    view.state(Status(ConnectionState.LIVE, cursor=9))
    view.draw_status()  # unchanged: nothing written
    view.change(ChangeSet(False, (ADDED,), (), 10), total=3)
    text = out.getvalue()
    # the status line is drawn, erased before the change line, and drawn again, up to date
    assert text.startswith("\r\x1b[2K● live · 1 document · version 9\r\x1b[2K[")
    assert text.endswith("\r\x1b[2K● live · 3 documents · version 10")
    assert text.count("version 9") == 1


def test_watch_lists_the_notes_of_a_snapshot_newest_first():
    out = io.StringIO()
    view = WatchView(out, as_json=False, tty=False)
    view.docs([], cursor=None)
    view.change(ChangeSet(True, (ADDED, EDITED), (), 4), total=2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "(nothing cached yet: syncing…)"
    assert lines[1].endswith("synced: 2 documents (version 4)")
    assert lines[2].startswith("  note_bbbbbbbbbbbbbbbb") and "call Bob" in lines[2]
    assert lines[3].startswith("  note_aaaaaaaaaaaaaaaa")


def test_watch_json_is_one_event_per_line():
    out = io.StringIO()
    view = WatchView(out, as_json=True, tty=True)
    view.docs([ADDED])
    view.state(Status(ConnectionState.LIVE, cursor=3))
    view.change(ChangeSet(True, (ADDED,), (("notes", "note_old"),), 3), total=1)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["docs", "status", "change"]
    assert events[1]["state"] == "live"
    assert events[2]["snapshot"] is True
    assert events[2]["deleted"] == [{"collection": "notes", "id": "note_old"}]
    assert events[2]["upserted"][0]["data"] == {"text": "buy milk"}


def test_watch_names_collections_when_it_shows_several_and_shows_data_as_json():
    out = io.StringIO()
    view = WatchView(out, as_json=False, tty=False, with_collection=True)
    todo = Doc("todos", "t1", {"title": "milk", "done": False}, 5, 5, 5)
    view.change(ChangeSet(False, (todo, ADDED), (("todos", "t0"),), 5), total=2)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith('+ todos/t1  {"title":"milk","done":false}')
    assert lines[1].endswith("+ notes/note_aaaaaaaaaaaaaaaa  buy milk")
    assert lines[2].endswith("- todos/t0")


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        (errors.NotSignedInError(), cli.EXIT_AUTH, "userdb login"),
        (errors.UnauthorizedError(401, "unauthorized", "Sign in first."), cli.EXIT_AUTH, "again"),
        (errors.InvalidCredentialsError(401, "invalid_credentials", "Bad."), cli.EXIT_AUTH, "Bad."),
        (errors.NotFoundError(404, "not_found", "Not found."), cli.EXIT_NOT_FOUND, "not_found"),
        (errors.EmailTakenError(409, "email_taken", "Taken."), cli.EXIT_CONFLICT, "email_taken"),
        (
            errors.VersionMismatchError(412, "version_mismatch", "Changed."),
            cli.EXIT_CONFLICT,
            "look again",
        ),
        (
            errors.RateLimitedError(429, "too_many_attempts", "Slow.", retry_after=90),
            cli.EXIT_REFUSED,
            "Try again in 90 s",
        ),
        (
            errors.BadRequestError(
                400, "validation_error", "Invalid.", details=[{"field": "email", "message": "bad"}]
            ),
            cli.EXIT_REFUSED,
            "email: bad",
        ),
        (errors.NetworkError("cannot reach x"), cli.EXIT_UNREACHABLE, "make run"),
        (errors.StateLockedError("in use"), cli.EXIT_LOCKED, "in use"),
        (errors.ProtocolError("not JSON"), cli.EXIT_REFUSED, "--url"),
    ],
)
def test_every_error_gets_an_exit_code_and_a_message_to_act_on(error, code, says):
    exit_code, message = cli._explain(error)
    assert exit_code == code
    assert says in message
