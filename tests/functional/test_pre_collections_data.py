"""Notes stored before collections existed are documents of `notes`, with nothing to migrate.

tests/fixtures/pre_collections_tenant.json holds the raw items of a tenant as the code
before collections wrote them (its NoteService against DynamoDB Local: creates, an edit,
a deletion, unicode, an empty note). They are put into a new account's place unchanged
(pk set to that account), in silo and pool mode, and read and written through today's API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.dal.tables import POOL_TENANTS_SUFFIX

pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])

FIXTURE = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "pre_collections_tenant.json").read_text()
)
LIVE = {
    "note_0123456789abcdef": 'ünïcödé ✓ 𝄞 "quoted"\nline',
    "note_26b6pbsgrq1y2pha": "",
    "note_yk5ctkayuktvb5dj": "buy oat milk",
}
DELETED = "note_jfpbgtkphhggw3zu"


def _table(settings: Any, user_id: str) -> str:
    if settings.tenancy == "pool":
        return str(settings.table_name(POOL_TENANTS_SUFFIX))
    return f"{settings.table_prefix}-tenant-{user_id}"


def _with_old_items(api: Any, dynamodb: Any, settings: Any) -> tuple[str, str]:
    token = api.signup()
    user_id = api.call("GET", "/me", token=token).json["user"]["id"]
    for item in FIXTURE["items"]:
        dynamodb.put_item(TableName=_table(settings, user_id), Item={**item, "pk": {"S": user_id}})
    return token, user_id


def test_old_notes_read_through_both_doors_and_sync(api, dynamodb, settings):
    # Given a tenant whose items the code before collections wrote
    token, _ = _with_old_items(api, dynamodb, settings)
    # Then /notes lists the live notes as they were
    notes = api.call("GET", "/notes", token=token).json
    assert {n["id"]: n["text"] for n in notes["notes"]} == LIVE
    assert notes["version"] == 6
    # And each is a document of the notes collection, with data.text and its version
    doc = api.call("GET", "/collections/notes/docs/note_yk5ctkayuktvb5dj", token=token)
    assert doc.status == 200 and doc.headers["etag"] == '"4"'
    assert doc.json["doc"] == {
        "collection": "notes",
        "id": "note_yk5ctkayuktvb5dj",
        "data": {"text": "buy oat milk"},
        "version": 4,
        "created": 1800000000000,
        "updated": 1800000003000,
    }
    assert api.call("GET", f"/notes/{DELETED}", token=token).status == 404
    # And sync reports the documents and the deletion, in version order
    changes = api.call("GET", "/sync?since=0", token=token).json
    assert [(i["id"], i["version"], i.get("deleted", False)) for i in changes["items"]] == [
        ("note_0123456789abcdef", 2, False),
        ("note_yk5ctkayuktvb5dj", 4, False),
        (DELETED, 5, True),
        ("note_26b6pbsgrq1y2pha", 6, False),
    ]
    snapshot = api.call("GET", "/sync", token=token).json
    assert {i["id"]: i["data"]["text"] for i in snapshot["items"]} == LIVE


def test_old_notes_take_new_writes_and_keep_counting(api, dynamodb, settings):
    # Given the old tenant at version 6
    token, user_id = _with_old_items(api, dynamodb, settings)
    note_id = "note_0123456789abcdef"
    # When an old note is patched through the collections API and another edited by /notes
    patched = api.call(
        "PATCH",
        f"/collections/notes/docs/{note_id}",
        {"text": "patched"},
        token=token,
        headers={"If-Match": '"2"'},
    )
    edited = api.call("PUT", "/notes/note_yk5ctkayuktvb5dj", {"text": "oat milk, 2 l"}, token=token)
    created = api.call("POST", "/notes", {"text": "new"}, token=token)
    # Then the versions go on from the old counter and creation times are kept
    assert (patched.status, patched.json["doc"]["version"]) == (200, 7)
    assert patched.json["doc"]["created"] == 1800000001000
    assert edited.json["note"]["version"] == 8 and created.json["note"]["version"] == 9
    # And the written items carry the new layout: data, no text
    item = dynamodb.get_item(
        TableName=_table(settings, user_id),
        Key={"pk": {"S": user_id}, "sk": {"S": f"note#{note_id}"}},
        ConsistentRead=True,
    )["Item"]
    assert json.loads(item["data"]["S"]) == {"text": "patched"}
    assert "text" not in item
    # And the deleted note's id can be used again
    again = api.call("POST", "/notes", {"text": "back", "id": DELETED}, token=token)
    assert again.status == 201
