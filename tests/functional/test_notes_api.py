"""/notes through chalice.test.Client on moto, in silo and pool mode."""

from __future__ import annotations

import pytest

from chalicelib.logic.tokens import new_id

pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])


# ---- create ----


def test_create_returns_the_note_with_version_etag_and_location(api, clock):
    # Given a signed-up user
    token = api.signup()
    # When they create a note
    reply = api.call("POST", "/notes", {"text": "hello"}, token=token)
    # Then it comes back with a generated id, epoch-ms times and version 1
    assert reply.status == 201
    note = reply.json["note"]
    assert note["id"].startswith("note_") and len(note["id"]) == 21
    assert note == {
        "id": note["id"],
        "text": "hello",
        "created": int(clock.now() * 1000),
        "updated": int(clock.now() * 1000),
        "version": 1,
    }
    assert reply.headers["etag"] == '"1"'
    assert reply.headers["location"] == f"notes/{note['id']}"


def test_create_with_a_client_id_uses_it_and_refuses_it_twice(api):
    # Given a user and an id of their choosing
    token = api.signup()
    note_id = new_id("note")
    # When they create a note with it, twice
    first = api.call("POST", "/notes", {"text": "a", "id": note_id}, token=token)
    second = api.call("POST", "/notes", {"text": "b", "id": note_id}, token=token)
    # Then the first is created under that id and the second is a conflict that changes nothing
    assert first.status == 201 and first.json["note"]["id"] == note_id
    assert (second.status, second.error_code) == (409, "note_exists")
    assert api.call("GET", f"/notes/{note_id}", token=token).json["note"]["text"] == "a"


# ---- idempotency ----


def test_an_idempotency_key_replays_the_first_result(api):
    # Given a user who creates a note with an Idempotency-Key
    token = api.signup()
    headers = {"Idempotency-Key": "create-1"}
    first = api.call("POST", "/notes", {"text": "once"}, token=token, headers=headers)
    # When the request is repeated (a retry after a lost reply)
    again = api.call("POST", "/notes", {"text": "once"}, token=token, headers=headers)
    # Then the same note comes back and only one exists
    assert first.status == again.status == 201
    assert again.json == first.json
    assert len(api.call("GET", "/notes", token=token).json["notes"]) == 1


def test_an_idempotency_key_with_another_body_is_a_409(api):
    token = api.signup()
    headers = {"Idempotency-Key": "create-2"}
    api.call("POST", "/notes", {"text": "one"}, token=token, headers=headers)
    reply = api.call("POST", "/notes", {"text": "two"}, token=token, headers=headers)
    assert (reply.status, reply.error_code) == (409, "idempotency_key_reused")
    assert [n["text"] for n in api.call("GET", "/notes", token=token).json["notes"]] == ["one"]


def test_a_failed_idempotent_create_can_be_retried(api):
    # Given a note id that is taken
    token = api.signup()
    taken = api.create_note(token)["id"]
    headers = {"Idempotency-Key": "create-3"}
    # When an idempotent create of that id fails, the note is deleted, and the request retried
    refused = api.call("POST", "/notes", {"text": "x", "id": taken}, token=token, headers=headers)
    api.call("DELETE", f"/notes/{taken}", token=token)
    retried = api.call("POST", "/notes", {"text": "x", "id": taken}, token=token, headers=headers)
    # Then the failure was not recorded as the key's result
    assert refused.status == 409
    assert retried.status == 201


def _crash_after_commit(dynamodb, settings, user_id: str) -> None:
    """Leave the tenant's idempotency records as a process killed between committing a note
    and recording the result leaves them, once the killed invocation's time is up: in
    progress, expired (Powertools then runs the operation again for the next retry)."""
    table = settings.table_name("idempotency")
    for item in dynamodb.scan(TableName=table)["Items"]:
        if item["pk"]["S"] == user_id:
            dynamodb.update_item(
                TableName=table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET #s = :s, in_progress_expiration = :past REMOVE #d",
                ExpressionAttributeNames={"#s": "status", "#d": "data"},
                ExpressionAttributeValues={":s": {"S": "INPROGRESS"}, ":past": {"N": "1"}},
            )


def test_a_create_retried_after_a_crash_that_lost_its_reply_makes_no_second_note(
    api, dynamodb, settings
):
    # Given a create with an Idempotency-Key whose note was committed, but whose process
    # died before recording the result (a runtime killed mid-request)
    token = api.signup()
    user_id = api.call("GET", "/auth/session", token=token).json["user"]["id"]
    headers = {"Idempotency-Key": "create-crash"}
    first = api.call("POST", "/notes", {"text": "once"}, token=token, headers=headers)
    _crash_after_commit(dynamodb, settings, user_id)
    # When the client retries with the same key after the killed invocation's time is up
    again = api.call("POST", "/notes", {"text": "once"}, token=token, headers=headers)
    # Then the retry finds the note the first attempt committed: one note, one version
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json
    listed = api.call("GET", "/notes", token=token).json
    assert [n["id"] for n in listed["notes"]] == [first.json["note"]["id"]]
    assert listed["version"] == 1


def test_a_create_retried_after_a_crash_does_not_bring_back_a_deleted_note(api, dynamodb, settings):
    # Given an idempotent create committed by a process that died before recording it,
    # and the note deleted by another client since
    token = api.signup()
    user_id = api.call("GET", "/auth/session", token=token).json["user"]["id"]
    headers = {"Idempotency-Key": "create-crash-deleted"}
    first = api.call("POST", "/notes", {"text": "once"}, token=token, headers=headers)
    _crash_after_commit(dynamodb, settings, user_id)
    api.call("DELETE", f"/notes/{first.json['note']['id']}", token=token)
    # When the client retries with the same key
    again = api.call("POST", "/notes", {"text": "once"}, token=token, headers=headers)
    # Then it is told the note exists no more as a conflict, and nothing is created again
    assert (again.status, again.error_code) == (409, "note_exists")
    assert api.call("GET", "/notes", token=token).json["notes"] == []


def _forget_idempotency_records(dynamodb, settings, user_id: str) -> None:
    """Delete the tenant's idempotency records, as their expiry (TTL) does in time."""
    table = settings.table_name("idempotency")
    for item in dynamodb.scan(TableName=table)["Items"]:
        if item["pk"]["S"] == user_id:
            dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


def test_a_key_reused_with_another_text_after_its_record_expired_makes_a_new_note(
    api, dynamodb, settings
):
    # Given a note created with an Idempotency-Key whose record has since expired
    token = api.signup()
    user_id = api.call("GET", "/auth/session", token=token).json["user"]["id"]
    headers = {"Idempotency-Key": "reused-later"}
    first = api.call("POST", "/notes", {"text": "first"}, token=token, headers=headers)
    _forget_idempotency_records(dynamodb, settings, user_id)
    # When the key is sent again with another text
    second = api.call("POST", "/notes", {"text": "second"}, token=token, headers=headers)
    # Then that is a new note with the new text, not the old note answered again
    assert (first.status, second.status) == (201, 201)
    assert second.json["note"]["id"] != first.json["note"]["id"]
    assert second.json["note"]["text"] == "second"
    listed = api.call("GET", "/notes", token=token).json["notes"]
    assert sorted(n["text"] for n in listed) == ["first", "second"]


# ---- list ----


def test_list_pages_through_live_notes_in_id_order(api):
    # Given seven notes, one of them deleted
    token = api.signup()
    ids = sorted(api.create_note(token, text=str(i))["id"] for i in range(7))
    api.call("DELETE", f"/notes/{ids[3]}", token=token)
    # When the list is read three at a time
    seen, cursor, pages = [], None, 0
    while True:
        path = "/notes?limit=3" + (f"&cursor={cursor}" if cursor else "")
        reply = api.call("GET", path, token=token)
        assert reply.status == 200
        seen += [n["id"] for n in reply.json["notes"]]
        pages += 1
        cursor = reply.json["cursor"]
        # Then every page carries the tenant's version (7 creates + 1 delete)
        assert reply.json["version"] == 8
        if cursor is None:
            break
    # And the pages hold every live note once, in id order
    assert seen == [i for i in ids if i != ids[3]]
    assert pages == 2


# ---- read, update, delete ----


def test_get_returns_the_note_with_its_etag(api):
    token = api.signup()
    note = api.create_note(token)
    reply = api.call("GET", f"/notes/{note['id']}", token=token)
    assert reply.status == 200
    assert reply.json["note"] == note
    assert reply.headers["etag"] == '"1"'


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_with_the_current_version_succeeds_and_a_stale_one_is_412(api, clock, method):
    # Given a note at version 1
    token = api.signup()
    note = api.create_note(token, text="v1")
    clock.advance(5)
    # When it is updated with If-Match 1, then again with If-Match 1
    ok = api.call(
        method, f"/notes/{note['id']}", {"text": "v2"}, token=token, headers={"If-Match": '"1"'}
    )
    stale = api.call(
        method, f"/notes/{note['id']}", {"text": "v3"}, token=token, headers={"If-Match": "1"}
    )
    # Then the first moves it to version 2, the second is refused and changes nothing
    assert ok.status == 200
    assert ok.json["note"] == {
        "id": note["id"],
        "text": "v2",
        "created": note["created"],
        "updated": note["created"] + 5000,
        "version": 2,
    }
    assert ok.headers["etag"] == '"2"'
    assert (stale.status, stale.error_code) == (412, "version_mismatch")
    assert api.call("GET", f"/notes/{note['id']}", token=token).json["note"]["text"] == "v2"


def test_update_without_if_match_is_last_writer_wins(api):
    token = api.signup()
    note = api.create_note(token)
    api.call("PUT", f"/notes/{note['id']}", {"text": "a"}, token=token)
    reply = api.call(
        "PUT", f"/notes/{note['id']}", {"text": "b"}, token=token, headers={"If-Match": "*"}
    )
    assert reply.status == 200
    assert reply.json["note"]["version"] == 3


def test_update_of_a_missing_or_deleted_note_is_404(api):
    token = api.signup()
    note = api.create_note(token)
    api.call("DELETE", f"/notes/{note['id']}", token=token)
    for note_id in (note["id"], new_id("note")):
        reply = api.call("PUT", f"/notes/{note_id}", {"text": "x"}, token=token)
        assert (reply.status, reply.error_code) == (404, "not_found")


def test_delete_leaves_a_tombstone_and_is_not_repeatable(api):
    # Given a note
    token = api.signup()
    note = api.create_note(token)
    # When it is deleted, twice
    first = api.call("DELETE", f"/notes/{note['id']}", token=token)
    second = api.call("DELETE", f"/notes/{note['id']}", token=token)
    # Then it is gone from reads, the second delete is a 404, and sync shows the deletion
    assert first.status == 204
    assert (second.status, second.error_code) == (404, "not_found")
    assert api.call("GET", f"/notes/{note['id']}", token=token).status == 404
    changes = api.call("GET", "/sync?since=1", token=token).json
    tombstone = {"collection": "notes", "id": note["id"], "version": 2, "deleted": True}
    assert changes["items"] == [tombstone]


def test_delete_with_a_stale_if_match_is_412(api):
    token = api.signup()
    note = api.create_note(token)
    api.call("PUT", f"/notes/{note['id']}", {"text": "x"}, token=token)
    reply = api.call("DELETE", f"/notes/{note['id']}", token=token, headers={"If-Match": '"1"'})
    assert (reply.status, reply.error_code) == (412, "version_mismatch")
    assert api.call("GET", f"/notes/{note['id']}", token=token).status == 200


def test_a_deleted_id_can_be_created_again(api):
    token = api.signup()
    note = api.create_note(token, text="old")
    api.call("DELETE", f"/notes/{note['id']}", token=token)
    again = api.call("POST", "/notes", {"text": "new", "id": note["id"]}, token=token)
    assert again.status == 201
    assert again.json["note"]["version"] == 3
    assert api.call("GET", f"/notes/{note['id']}", token=token).json["note"]["text"] == "new"
