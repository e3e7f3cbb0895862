"""Tenant isolation: user B cannot reach user A's notes by any route, id, cursor or key."""

from __future__ import annotations

import pytest

from chalicelib.logic.cursors import SyncContinuation, encode_list_cursor, encode_sync_cursor
from tests.support.documents import note_as_doc

pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])


@pytest.fixture
def two_users(api):
    """A with three notes (one of them edited), B with one note of their own."""
    a, b = api.signup(), api.signup()
    a_notes = [
        api.call("POST", "/notes", {"text": f"a-secret-{i}"}, token=a).json["note"]
        for i in range(3)
    ]
    api.call("PUT", f"/notes/{a_notes[0]['id']}", {"text": "a-secret-edited"}, token=a)
    b_note = api.call("POST", "/notes", {"text": "b-own"}, token=b).json["note"]
    return a, b, a_notes, b_note


def _a_is_untouched(api, a, a_notes):
    listed = api.call("GET", "/notes", token=a).json
    assert listed["version"] == 4
    assert sorted(n["text"] for n in listed["notes"]) == [
        "a-secret-1",
        "a-secret-2",
        "a-secret-edited",
    ]


def test_b_lists_and_syncs_only_their_own_notes(api, two_users):
    _a, b, _, b_note = two_users
    listed = api.call("GET", "/notes", token=b).json
    assert listed == {"notes": [b_note], "cursor": None, "version": 1}
    for query in ("", "?since=0"):
        changes = api.call("GET", f"/sync{query}", token=b).json
        assert changes["items"] == [note_as_doc(b_note)]
        assert changes["to"] == 1


def test_b_cannot_read_update_or_delete_a_note_of_a_by_its_id(api, two_users):
    a, b, a_notes, _ = two_users
    for note in a_notes:
        path = f"/notes/{note['id']}"
        # When B uses A's ids on every route, with and without A's versions
        replies = [
            api.call("GET", path, token=b),
            api.call("PUT", path, {"text": "b was here"}, token=b),
            api.call("PATCH", path, {"text": "b was here"}, token=b, headers={"If-Match": "1"}),
            api.call("DELETE", path, token=b),
            api.call("DELETE", path, token=b, headers={"If-Match": str(note["version"])}),
        ]
        # Then each is a 404, as for an id that does not exist
        assert [(r.status, r.error_code) for r in replies] == [(404, "not_found")] * 5
    _a_is_untouched(api, a, a_notes)


def test_the_same_note_id_in_two_tenants_is_two_notes(api, two_users):
    a, b, a_notes, _ = two_users
    # When B creates a note under an id A uses
    reply = api.call("POST", "/notes", {"text": "b copy", "id": a_notes[1]["id"]}, token=b)
    # Then it is B's own note, and A's is unchanged
    assert reply.status == 201
    assert reply.json["note"]["version"] == 2
    assert api.call("GET", f"/notes/{a_notes[1]['id']}", token=a).json["note"]["text"] == (
        "a-secret-1"
    )
    _a_is_untouched(api, a, a_notes)


def test_a_list_cursor_of_a_is_refused_for_b(api, two_users):
    a, b, _, _ = two_users
    a_cursor = api.call("GET", "/notes?limit=1", token=a).json["cursor"]
    reply = api.call("GET", f"/notes?cursor={a_cursor}", token=b)
    assert (reply.status, reply.error_code) == (400, "invalid_cursor")


def test_a_cursor_forged_for_b_at_a_position_of_a_reads_only_b(api, two_users):
    # Given a cursor made for B's account that names one of A's notes as its position
    _a, b, a_notes, b_note = two_users
    b_id = api.user_id(b)
    before_all = "note_" + "0" * 16
    forged = encode_list_cursor(b_id, before_all)
    # When B lists from it
    listed = api.call("GET", f"/notes?cursor={forged}", token=b).json
    # Then the position applies to B's data only
    assert [n["id"] for n in listed["notes"]] == [b_note["id"]]
    for note in a_notes:
        after_a = encode_list_cursor(b_id, note["id"])
        page = api.call("GET", f"/notes?cursor={after_a}", token=b).json["notes"]
        assert all(n["id"] == b_note["id"] for n in page)


def test_sync_cursors_do_not_cross_tenants(api, two_users):
    a, b, _a_notes, b_note = two_users
    a_cursor = api.call("GET", "/sync?since=0&limit=1", token=a).json["cursor"]
    refused = api.call("GET", f"/sync?cursor={a_cursor}", token=b)
    assert (refused.status, refused.error_code) == (400, "invalid_cursor")
    # A cursor forged for B with any position still reads B's partition only
    forged = encode_sync_cursor(api.user_id(b), SyncContinuation(since=0))
    items = api.call("GET", f"/sync?cursor={forged}", token=b).json["items"]
    assert items == [note_as_doc(b_note)]


def test_b_replaying_a_idempotency_key_gets_nothing_of_a(api, two_users):
    # Given A created a note with an Idempotency-Key
    a, b, _a_notes, _ = two_users
    key = {"Idempotency-Key": "shared-key-1"}
    a_reply = api.call("POST", "/notes", {"text": "same body"}, token=a, headers=key)
    # When B sends the same key with the same body, and with another body
    b_same = api.call("POST", "/notes", {"text": "same body"}, token=b, headers=key)
    b_other = api.call("POST", "/notes", {"text": "other"}, token=b, headers=key)
    # Then B's first request creates B's own note (not A's result); the second is a reuse of
    # B's key; A's data is as it was
    assert a_reply.status == b_same.status == 201
    assert b_same.json["note"]["id"] != a_reply.json["note"]["id"]
    assert b_same.json["note"]["version"] == 2
    assert (b_other.status, b_other.error_code) == (409, "idempotency_key_reused")
    assert len(api.call("GET", "/notes", token=b).json["notes"]) == 2
    assert len(api.call("GET", "/notes", token=a).json["notes"]) == 4
