"""GET /sync through chalice.test.Client on moto, in silo and pool mode."""

from __future__ import annotations

import pytest

from chalicelib.logic.change_feed import ChangeFeed
from chalicelib.logic.tombstones import DAY_SECONDS
from tests.support.documents import note_as_doc

pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])


@pytest.fixture(autouse=True)
def long_sessions(monkeypatch):
    """Sessions outlive the tombstones here, so the clock can pass their expiry."""
    monkeypatch.setenv("USERDB_SESSION_DAYS", "30")


def _gone(note_id, version):
    return {"collection": "notes", "id": note_id, "version": version, "deleted": True}


def _sync(api, token, query=""):
    reply = api.call("GET", f"/sync{query}", token=token)
    assert reply.status == 200, reply.body
    return reply.json


def test_a_client_with_nothing_gets_a_snapshot_of_live_notes(api):
    # Given two notes, one edited, and a third deleted
    token = api.signup()
    a, b, c = (api.create_note(token, text) for text in "abc")
    api.call("PUT", f"/notes/{a['id']}", {"text": "a2"}, token=token)
    api.call("DELETE", f"/notes/{c['id']}", token=token)
    # When a client that has nothing syncs
    body = _sync(api, token)
    # Then it gets a `changes` body: a snapshot of the live notes in version order
    assert body["type"] == "changes"
    assert (body["from"], body["to"], body["snapshot"], body["more"]) == (0, 5, True, False)
    assert [(i["id"], i["data"]["text"], i["version"]) for i in body["items"]] == [
        (b["id"], "b", 2),
        (a["id"], "a2", 4),
    ]


def test_changes_since_a_version_are_exactly_what_changed_after_it(api):
    # Given a client at version 2 (two notes), then an edit, a new note and a deletion
    token = api.signup()
    a, b = api.create_note(token, "a"), api.create_note(token, "b")
    api.call("PUT", f"/notes/{a['id']}", {"text": "a2"}, token=token)
    c = api.create_note(token, "c")
    api.call("DELETE", f"/notes/{b['id']}", token=token)
    # When it syncs since 2
    body = _sync(api, token, "?since=2")
    # Then it gets those three changes, latest state each, covering (2, 5]
    assert (body["from"], body["to"], body["snapshot"], body["more"]) == (2, 5, False, False)
    assert body["items"] == [
        note_as_doc({**a, "text": "a2", "version": 3}),
        note_as_doc(c),
        _gone(b["id"], 5),
    ]
    # And a client that is up to date gets nothing new
    assert _sync(api, token, "?since=5")["items"] == []


def test_a_limited_sync_says_more_and_continues_with_its_cursor(api):
    # Given five notes
    token = api.signup()
    ids = [api.create_note(token, str(i))["id"] for i in range(5)]
    # When a client syncs two at a time, following `cursor`
    first = _sync(api, token, "?since=0&limit=2")
    second = _sync(api, token, f"?cursor={first['cursor']}&limit=2")
    third = _sync(api, token, f"?cursor={second['cursor']}&limit=2")
    # Then the parts chain (from = previous to) and together hold every change once
    assert (first["from"], first["to"], first["more"]) == (0, 2, True)
    assert (second["from"], second["to"], second["more"]) == (2, 4, True)
    assert (third["from"], third["to"], third["more"], third["cursor"]) == (4, 5, False, None)
    assert [i["id"] for part in (first, second, third) for i in part["items"]] == ids
    # And plain `since=to` continues the same way
    assert _sync(api, token, f"?since={first['to']}&limit=2")["items"] == second["items"]


def test_a_cursor_older_than_an_expired_tombstone_gets_a_snapshot(api, clock):
    # Given a client at version 2, then a deletion
    token = api.signup()
    a, b = api.create_note(token, "a"), api.create_note(token, "b")
    api.call("DELETE", f"/notes/{a['id']}", token=token)
    # When it syncs within the tombstone lifetime, it sees the deletion
    assert _sync(api, token, "?since=2")["items"] == [_gone(a["id"], 3)]
    # When the tombstone's expiry has passed
    clock.advance(7 * DAY_SECONDS + 1)
    body = _sync(api, token, "?since=2")
    # Then the client gets a snapshot of the live notes instead of changes
    assert (body["snapshot"], body["from"], body["to"]) == (True, 0, 3)
    assert body["items"] == [note_as_doc(b)]
    # And expired tombstones are not offered to anyone as changes
    assert _sync(api, token, "?since=3")["items"] == []


def test_a_snapshot_paged_below_the_horizon_finishes(api, clock):
    # Given six notes and an expired tombstone above them (every continuation is below it)
    token = api.signup()
    for i in range(6):
        api.create_note(token, str(i))
    gone = api.create_note(token, "gone")
    api.call("DELETE", f"/notes/{gone['id']}", token=token)
    clock.advance(8 * DAY_SECONDS)
    # When a new client pulls the snapshot two notes at a time
    parts = [_sync(api, token, "?limit=2")]
    while parts[-1]["more"]:
        parts.append(_sync(api, token, f"?cursor={parts[-1]['cursor']}&limit=2"))
        assert len(parts) < 10
    # Then only the first part is a snapshot and together they hold the six live notes
    assert [p["snapshot"] for p in parts] == [True, False, False]
    assert len({i["id"] for p in parts for i in p["items"] if not i.get("deleted")}) == 6
    assert parts[-1]["to"] == 8


def test_a_cursor_ahead_of_the_tenant_gets_a_snapshot(api):
    token = api.signup()
    note = api.create_note(token)
    body = _sync(api, token, "?since=99")
    assert body["snapshot"] and body["items"] == [note_as_doc(note)]


def test_the_document_feed_is_the_realtime_change_feed(api, services):
    # Given a user with a note, a later edit and a deletion
    token = api.signup()
    tenant = api.call("GET", "/me", token=token).json["user"]["id"]
    a, b = api.create_note(token, "a"), api.create_note(token, "b")
    api.call("PUT", f"/notes/{a['id']}", {"text": "a2"}, token=token)
    api.call("DELETE", f"/notes/{b['id']}", token=token)
    # When the fan-out and the WebSocket read it through the ChangeFeed interface
    feed: ChangeFeed = services.feed
    # Then they see the same answers as REST /sync
    assert feed.current_version(tenant) == 4
    changes = feed.changes_since(tenant, 2)
    assert (changes.from_, changes.to, changes.snapshot) == (2, 4, False)
    assert [(i["id"], i["version"]) for i in changes.items] == [(a["id"], 3), (b["id"], 4)]
    assert feed.changes_since(tenant, None).items == [
        note_as_doc({**a, "text": "a2", "version": 3})
    ]


def test_the_fan_out_read_covers_exactly_the_committed_range(api, services):
    # Given five writes: three notes, an edit and a deletion
    token = api.signup()
    tenant = api.call("GET", "/me", token=token).json["user"]["id"]
    a, b, _ = (api.create_note(token, text) for text in "abc")
    api.call("PUT", f"/notes/{a['id']}", {"text": "a2"}, token=token)
    api.call("DELETE", f"/notes/{b['id']}", token=token)
    # When the fan-out reads what a stream batch said was committed: (2, 4]
    changes = services.feed.committed_changes(tenant, 2, 4)
    # Then it has versions 3 and 4 in their latest state, none after the ceiling
    assert (changes.from_, changes.to, changes.snapshot) == (2, 4, False)
    assert [item["version"] for item in changes.items] == [3, 4]
    assert changes.items[1]["data"] == {"text": "a2"}
    # And a range ending in the deletion carries its tombstone
    last = services.feed.committed_changes(tenant, 4, 5)
    assert last.items == [_gone(b["id"], 5)]
