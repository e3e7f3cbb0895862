"""/collections and /batch through chalice.test.Client on moto, in silo and pool mode.

The app declares the collections of tests/fixtures/collections.json (USERDB_COLLECTIONS):
notes, todos (a strict schema), settings, free (any object) and profile ($defs and $ref).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])

DECLARATIONS = Path(__file__).parent.parent / "fixtures" / "collections.json"
TODOS = "/collections/todos/docs"


@pytest.fixture(autouse=True)
def declared(monkeypatch):
    monkeypatch.setenv("USERDB_COLLECTIONS", str(DECLARATIONS))


def _todo(title: str = "buy milk", done: bool = False, **more: Any) -> dict[str, Any]:
    return {"title": title, "done": done, **more}


def _create(api, token, data=None, collection="todos", **body):
    reply = api.call(
        "POST", f"/collections/{collection}/docs", {"data": data or _todo(), **body}, token=token
    )
    assert reply.status == 201, reply.body
    return reply.json["doc"]


def _version(api, token) -> int:
    """The tenant's version (every list answer carries it)."""
    return int(api.call("GET", "/collections/free/docs?limit=1", token=token).json["version"])


def _details(reply) -> list[tuple[str, str]]:
    return [(d["field"], d["type"]) for d in reply.json["error"]["details"]]


# ---- declarations ----


def test_the_declared_collections_are_listed_with_their_schemas(api):
    token = api.signup()
    reply = api.call("GET", "/collections", token=token)
    assert reply.status == 200
    listed = {c["name"]: c["schema"] for c in reply.json["collections"]}
    assert list(listed) == ["notes", "todos", "settings", "free", "profile"]
    assert listed == {
        name: declaration["schema"]
        for name, declaration in json.loads(DECLARATIONS.read_text())["collections"].items()
    }
    assert api.call("GET", "/collections").status == 401


# ---- create and read ----


def test_create_returns_the_document_with_version_etag_and_location(api, clock):
    token = api.signup()
    reply = api.call("POST", TODOS, {"data": _todo(tags=["home"])}, token=token)
    assert reply.status == 201
    doc = reply.json["doc"]
    now = int(clock.now() * 1000)
    assert doc == {
        "collection": "todos",
        "id": doc["id"],
        "data": {"title": "buy milk", "done": False, "tags": ["home"]},
        "version": 1,
        "created": now,
        "updated": now,
    }
    assert doc["id"].startswith("doc_")
    assert reply.headers["etag"] == '"1"'
    assert reply.headers["location"] == f"todos/docs/{doc['id']}"
    read = api.call("GET", f"{TODOS}/{doc['id']}", token=token)
    assert (read.status, read.json["doc"], read.headers["etag"]) == (200, doc, '"1"')


def test_a_client_chosen_id_is_kept_and_taken_only_once(api):
    token = api.signup()
    doc = _create(api, token, id="Groceries_2026-12")
    assert doc["id"] == "Groceries_2026-12"
    again = api.call("POST", TODOS, {"data": _todo(), "id": "Groceries_2026-12"}, token=token)
    assert (again.status, again.error_code) == (409, "doc_exists")
    assert _version(api, token) == 1


def test_json_round_trips_exactly(api):
    token = api.signup()
    data = {
        "text": 'ünïcödé ✓ 𝄞 "quoted" \\ \u0000 \n',
        "big": 2**53,
        "negative": -(2**53),
        "float": 0.1,
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
        "zero": -0.0,
        "one": 1.0,
        "null": None,
        "bools": [True, False],
        "nested": {"a": [[], {}, [1, [2, [3, {"deep": "é"}]]]], "": "empty key"},
    }
    raw = json.dumps({"data": data}, ensure_ascii=False)
    created = api.call("POST", "/collections/free/docs", raw=raw, token=token)
    assert created.status == 201
    read = api.call("GET", f"/collections/free/docs/{created.json['doc']['id']}", token=token)
    # Parsed again, every value is what was sent: floats as the same doubles, ints exact
    assert read.json["doc"]["data"] == data
    sent = json.dumps(data, sort_keys=True)
    assert json.dumps(read.json["doc"]["data"], sort_keys=True) == sent
    assert json.dumps(created.json["doc"]["data"], sort_keys=True) == sent
    item = api.call("GET", "/sync?collections=free", token=token).json["items"][0]
    assert json.dumps(item["data"], sort_keys=True) == sent


def test_an_unknown_collection_is_a_404_and_writes_nothing(api):
    token = api.signup()
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/collections/nope/docs", None),
        ("POST", "/collections/nope/docs", {"data": {}}),
        ("GET", "/collections/nope/docs/a", None),
        ("PUT", "/collections/nope/docs/a", {"data": {}}),
        ("PATCH", "/collections/nope/docs/a", {}),
        ("DELETE", "/collections/nope/docs/a", None),
        ("GET", "/collections/Not-A-Name/docs", None),
    ]
    for method, path, body in calls:
        reply = api.call(method, path, body, token=token)
        assert (reply.status, reply.error_code) == (404, "unknown_collection"), (method, path)
    assert _version(api, token) == 0


@pytest.mark.parametrize(
    ("data", "details"),
    [
        ({"done": False}, [("/data/title", "required")]),
        ({"title": 7, "done": False}, [("/data/title", "type")]),
        ({"title": "", "done": False}, [("/data/title", "minLength")]),
        ({"title": "x" * 201, "done": False}, [("/data/title", "maxLength")]),
        (_todo(priority=9), [("/data/priority", "maximum")]),
        (_todo(priority=1.5), [("/data/priority", "type")]),
        (_todo(due="2026-02-30"), [("/data/due", "format")]),
        (_todo(tags=["a", "a"]), [("/data/tags", "uniqueItems")]),
        (_todo(tags=[1]), [("/data/tags/0", "type")]),
        (_todo(colour="red"), [("/data/colour", "additionalProperties")]),
        ({"title": 1}, [("/data/done", "required"), ("/data/title", "type")]),
    ],
)
def test_each_kind_of_schema_violation_points_at_its_field_and_writes_nothing(api, data, details):
    token = api.signup()
    reply = api.call("POST", TODOS, {"data": data}, token=token)
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert sorted(_details(reply)) == sorted(details)
    assert _version(api, token) == 0
    assert api.call("GET", TODOS, token=token).json["docs"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"data": [1]},
        {"data": "x"},
        {"data": None},
        {},
        {"data": {}, "id": "bad id"},
        {"data": {}, "id": "x" * 129},
        {"data": {}, "extra": 1},
    ],
)
def test_a_malformed_create_is_a_400(api, body):
    token = api.signup()
    reply = api.call("POST", "/collections/free/docs", body, token=token)
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert _version(api, token) == 0


def test_numbers_json_cannot_carry_are_refused(api):
    token = api.signup()
    for raw in ('{"data": {"x": NaN}}', '{"data": {"x": Infinity}}', '{"data": {"x": 1e400}}'):
        reply = api.call("POST", "/collections/free/docs", raw=raw, token=token)
        assert reply.status == 400, raw
    assert _version(api, token) == 0


def test_documents_are_at_most_64_kib_of_json(api):
    token = api.signup()
    # {"s":"..."} is 8 bytes around the string
    at_limit = {"s": "é" * ((65_536 - 8) // 2)}
    assert api.call("POST", "/collections/free/docs", {"data": at_limit}, token=token).status == 201
    over = api.call("POST", "/collections/free/docs", {"data": {"s": "a" * 65_529}}, token=token)
    assert (over.status, over.error_code) == (413, "payload_too_large")
    assert _version(api, token) == 1


def test_unknown_ids_are_404_and_malformed_ids_400(api):
    token = api.signup()
    assert api.call("GET", f"{TODOS}/nothing-here", token=token).error_code == "not_found"
    bad = api.call("GET", f"{TODOS}/a.b", token=token)
    assert (bad.status, bad.error_code) == (400, "validation_error")


# ---- put, patch, delete ----


def test_put_creates_then_replaces_and_honours_if_match(api, clock):
    token = api.signup()
    created = api.call("PUT", f"{TODOS}/t1", {"data": _todo("a")}, token=token)
    assert (created.status, created.json["doc"]["version"]) == (201, 1)
    clock.advance(5)
    replaced = api.call("PUT", f"{TODOS}/t1", {"data": _todo("b", True)}, token=token)
    assert replaced.status == 200
    doc = replaced.json["doc"]
    assert (doc["data"], doc["version"]) == ({"title": "b", "done": True}, 2)
    assert doc["created"] == created.json["doc"]["created"] < doc["updated"]
    stale = api.call(
        "PUT", f"{TODOS}/t1", {"data": _todo("c")}, token=token, headers={"If-Match": '"1"'}
    )
    assert (stale.status, stale.error_code) == (412, "version_mismatch")
    missing = api.call(
        "PUT", f"{TODOS}/t9", {"data": _todo("c")}, token=token, headers={"If-Match": '"1"'}
    )
    assert (missing.status, missing.error_code) == (412, "version_mismatch")
    fresh = api.call(
        "PUT", f"{TODOS}/t1", {"data": _todo("c")}, token=token, headers={"If-Match": '"2"'}
    )
    assert (fresh.status, fresh.json["doc"]["version"]) == (200, 3)
    invalid = api.call("PUT", f"{TODOS}/t1", {"data": {"title": "no done"}}, token=token)
    assert invalid.status == 400
    assert _version(api, token) == 3


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json"])
def test_patch_merges_and_validates_the_result(api, content_type):
    token = api.signup()
    doc = _create(api, token, _todo(tags=["a"], list="home"))
    path = f"{TODOS}/{doc['id']}"
    headers = {"Content-Type": content_type}
    patched = api.call("PATCH", path, {"done": True, "list": None}, token=token, headers=headers)
    assert patched.status == 200
    assert patched.json["doc"]["data"] == {"title": "buy milk", "done": True, "tags": ["a"]}
    assert patched.json["doc"]["version"] == 2
    # A patch whose result breaks the schema is refused whole, pointing into the patch
    broken = api.call("PATCH", path, {"done": None, "tags": [5]}, token=token, headers=headers)
    assert (broken.status, broken.error_code) == (400, "validation_error")
    assert sorted(_details(broken)) == [("/done", "required"), ("/tags/0", "type")]
    assert api.call("GET", path, token=token).json["doc"]["version"] == 2


@pytest.mark.parametrize("raw", ["[1, 2]", '"x"', "null", "7", "{", "{'a': 1}"])
def test_a_malformed_merge_patch_is_a_400_and_writes_nothing(api, raw):
    token = api.signup()
    doc = _create(api, token)
    reply = api.call(
        "PATCH",
        f"{TODOS}/{doc['id']}",
        raw=raw,
        token=token,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert reply.status == 400
    assert reply.error_code in ("validation_error", "malformed_json")
    assert _version(api, token) == 1


def test_two_devices_patching_different_fields_both_keep_their_change(api):
    # Given a todo both devices read at version 1
    token = api.signup()
    doc = _create(api, token)
    path = f"{TODOS}/{doc['id']}"
    # When one marks it done and the other renames it, neither knowing of the other
    api.call("PATCH", path, {"done": True}, token=token)
    api.call("PATCH", path, {"title": "buy oat milk"}, token=token)
    # Then the document has both changes
    data = api.call("GET", path, token=token).json["doc"]["data"]
    assert data == {"title": "buy oat milk", "done": True}


def test_patch_if_match_and_missing_documents(api):
    token = api.signup()
    doc = _create(api, token)
    path = f"{TODOS}/{doc['id']}"
    stale = api.call("PATCH", path, {"done": True}, token=token, headers={"If-Match": '"7"'})
    assert (stale.status, stale.error_code) == (412, "version_mismatch")
    fresh = api.call("PATCH", path, {"done": True}, token=token, headers={"If-Match": '"1"'})
    assert fresh.status == 200
    missing = api.call("PATCH", f"{TODOS}/none", {"done": True}, token=token)
    assert (missing.status, missing.error_code) == (404, "not_found")


def test_delete_leaves_a_tombstone_that_sync_names_with_its_collection(api):
    token = api.signup()
    doc = _create(api, token)
    path = f"{TODOS}/{doc['id']}"
    stale = api.call("DELETE", path, token=token, headers={"If-Match": '"5"'})
    assert (stale.status, stale.error_code) == (412, "version_mismatch")
    assert api.call("DELETE", path, token=token).status == 204
    assert api.call("DELETE", path, token=token).error_code == "not_found"
    assert api.call("GET", path, token=token).status == 404
    items = api.call("GET", "/sync?since=1", token=token).json["items"]
    assert items == [{"collection": "todos", "id": doc["id"], "version": 2, "deleted": True}]
    # And the id can be taken again
    assert _create(api, token, id=doc["id"])["version"] == 3


# ---- list and filters ----


def test_list_pages_by_id_and_filters_on_top_level_fields(api):
    token = api.signup()
    for index in range(7):
        _create(
            api,
            token,
            _todo(f"t{index}", index % 2 == 0, list="home" if index < 4 else "work"),
            id=f"t{index}",
        )
    _create(api, token, {"text": "a note"}, collection="notes")
    page = api.call("GET", f"{TODOS}?limit=3", token=token).json
    assert [d["id"] for d in page["docs"]] == ["t0", "t1", "t2"] and page["version"] == 8
    rest = api.call("GET", f"{TODOS}?limit=10&cursor={page['cursor']}", token=token).json
    assert [d["id"] for d in rest["docs"]] == ["t3", "t4", "t5", "t6"] and rest["cursor"] is None
    where = json.dumps({"done": True, "list": "home"})
    done_home = api.call("GET", f"{TODOS}?where={where}", token=token).json["docs"]
    assert [d["id"] for d in done_home] == ["t0", "t2"]
    paged = api.call("GET", f"{TODOS}?where={json.dumps({'done': False})}&limit=2", token=token)
    first = paged.json
    second = api.call(
        "GET",
        f"{TODOS}?where={json.dumps({'done': False})}&limit=2&cursor={first['cursor']}",
        token=token,
    ).json
    assert [d["id"] for d in first["docs"] + second["docs"]] == ["t1", "t3", "t5"]
    assert (
        api.call("GET", f"{TODOS}?where={json.dumps({'done': 1})}", token=token).json["docs"] == []
    )


@pytest.mark.parametrize("where", ["[1]", "not json", "null", "{}x"])
def test_a_malformed_filter_is_a_400(api, where):
    token = api.signup()
    reply = api.call("GET", f"{TODOS}?where={where}", token=token)
    assert (reply.status, reply.error_code) == (400, "validation_error")


# ---- batch ----


def test_a_batch_commits_every_op_in_order_as_consecutive_versions(api):
    token = api.signup()
    existing = _create(api, token, _todo("old"), id="old")
    _create(api, token, _todo("gone"), id="gone")
    reply = api.call(
        "POST",
        "/batch",
        {
            "ops": [
                {"op": "create", "collection": "todos", "data": _todo("new")},
                {"op": "put", "collection": "settings", "id": "me", "data": {"theme": "dark"}},
                {"op": "patch", "collection": "todos", "id": "old", "data": {"done": True}},
                {"op": "delete", "collection": "todos", "id": "gone", "if_match": 2},
                {"op": "create", "collection": "notes", "id": "n1", "data": {"text": "hi"}},
            ]
        },
        token=token,
    )
    assert reply.status == 200, reply.body
    body = reply.json
    assert body["version"] == 7
    results = body["results"]
    assert [r["version"] for r in results] == [3, 4, 5, 6, 7]
    assert results[2]["data"] == {"title": "old", "done": True}
    assert results[2]["created"] == existing["created"]
    assert results[3] == {"collection": "todos", "id": "gone", "version": 6, "deleted": True}
    assert api.call("GET", "/notes/n1", token=token).json["note"]["text"] == "hi"
    changes = api.call("GET", "/sync?since=2", token=token).json
    assert [i["version"] for i in changes["items"]] == [3, 4, 5, 6, 7]


def _refused_batch(api, token, ops):
    before = _version(api, token)
    reply = api.call("POST", "/batch", {"ops": ops}, token=token)
    assert _version(api, token) == before, "a refused batch wrote something"
    assert api.call("GET", "/collections/free/docs", token=token).json["docs"] == []
    return reply


def test_a_batch_with_one_bad_op_writes_nothing_and_names_the_op(api):
    token = api.signup()
    _create(api, token, id="t1")
    good = {"op": "create", "collection": "free", "data": {"a": 1}}
    cases = [
        ([good, {"op": "create", "collection": "todos", "data": {"title": 1}}], 400, 1),
        ([good, good, {"op": "patch", "collection": "todos", "id": "nope", "data": {}}], 404, 2),
        ([good, {"op": "create", "collection": "todos", "id": "t1", "data": _todo()}], 409, 1),
        ([{"op": "delete", "collection": "todos", "id": "t1", "if_match": 9}, good], 412, 0),
        ([good, {"op": "put", "collection": "nope", "id": "x", "data": {}}], 404, 1),
        ([good, {"op": "put", "collection": "free", "id": "x"}], 400, 1),
        ([good, {"op": "delete", "collection": "free"}], 400, 1),
        ([good, {"op": "create", "collection": "free", "data": {"s": "a" * 65_600}}], 413, 1),
    ]
    for ops, status, index in cases:
        reply = _refused_batch(api, token, ops)
        assert reply.status == status, (reply.body, ops)
        assert {d["op"] for d in reply.json["error"]["details"]} == {index}
    schema = _refused_batch(
        api, token, [good, {"op": "create", "collection": "todos", "data": {"title": 1}}]
    )
    assert sorted(_details(schema)) == [
        ("/ops/1/data/done", "required"),
        ("/ops/1/data/title", "type"),
    ]


def test_a_batch_over_the_limit_or_with_a_duplicate_document_is_a_400(api):
    token = api.signup()
    op = {"op": "create", "collection": "free", "data": {}}
    too_many = _refused_batch(api, token, [op] * 100)
    assert (too_many.status, too_many.error_code) == (400, "validation_error")
    assert _refused_batch(api, token, []).status == 400
    put = {"op": "put", "collection": "free", "id": "same", "data": {}}
    duplicate = _refused_batch(
        api, token, [put, {"op": "delete", "collection": "free", "id": "x"}, put]
    )
    assert duplicate.status == 400
    assert duplicate.json["error"]["details"][0]["op"] == 2
    at_limit = api.call("POST", "/batch", {"ops": [op] * 99}, token=token)
    assert at_limit.status == 200 and at_limit.json["version"] == 99


# ---- idempotency ----


BATCH_OP = {"op": "create", "collection": "free", "data": {}}


@pytest.mark.parametrize(
    "case",
    [
        ("POST", TODOS, {"data": _todo()}, {"data": _todo("other")}, 201),
        ("PUT", f"{TODOS}/k1", {"data": _todo()}, {"data": _todo("other")}, 201),
        ("PATCH", f"{TODOS}/base", {"done": True}, {"done": False}, 200),
        ("DELETE", f"{TODOS}/base", None, None, 204),
        ("POST", "/batch", {"ops": [BATCH_OP]}, {"ops": [BATCH_OP, BATCH_OP]}, 200),
    ],
)
def test_every_write_honours_an_idempotency_key(api, case):
    method, path, body, other, status = case
    token = api.signup()
    _create(api, token, id="base")
    key = {"Idempotency-Key": f"key-{method}-{path}"}
    first = api.call(method, path, body, token=token, headers=key)
    again = api.call(method, path, body, token=token, headers=key)
    assert first.status == again.status == status
    # The same answer (a JSON object's members may come in another order)
    assert (first.json if first.body else None) == (again.json if again.body else None)
    assert _version(api, token) == 2
    if other is not None:
        reused = api.call(method, path, other, token=token, headers=key)
        assert (reused.status, reused.error_code) == (409, "idempotency_key_reused")


def test_a_keyed_create_is_the_same_through_notes_and_collections(api):
    token = api.signup()
    key = {"Idempotency-Key": "same-note"}
    note = api.call("POST", "/notes", {"text": "milk"}, token=token, headers=key).json["note"]
    doc = api.call(
        "POST", "/collections/notes/docs", {"data": {"text": "milk"}}, token=token, headers=key
    ).json["doc"]
    assert doc["id"] == note["id"] and _version(api, token) == 1


# ---- notes is a collection ----


def test_notes_and_the_notes_collection_are_the_same_documents(api):
    token = api.signup()
    note = api.call("POST", "/notes", {"text": "via notes"}, token=token).json["note"]
    as_doc = api.call("GET", f"/collections/notes/docs/{note['id']}", token=token).json["doc"]
    assert as_doc["data"] == {"text": "via notes"} and as_doc["version"] == note["version"]
    doc = _create(api, token, {"text": "via collections"}, collection="notes", id="plain-id")
    as_note = api.call("GET", "/notes/plain-id", token=token).json["note"]
    assert as_note == {
        "id": "plain-id",
        "text": "via collections",
        "created": doc["created"],
        "updated": doc["updated"],
        "version": doc["version"],
    }
    listed = api.call("GET", "/notes", token=token).json["notes"]
    assert {n["id"] for n in listed} == {note["id"], "plain-id"}
    refused = api.call("POST", "/collections/notes/docs", {"data": {"text": 1}}, token=token)
    assert refused.status == 400


# ---- sync by collection ----


def test_sync_follows_only_the_collections_named(api):
    token = api.signup()
    _create(api, token, id="t1")
    _create(api, token, {"text": "n"}, collection="notes", id="n1")
    _create(api, token, {"theme": "dark"}, collection="settings", id="s1")
    api.call("DELETE", f"{TODOS}/t1", token=token)
    todos = api.call("GET", "/sync?since=0&collections=todos", token=token).json
    assert [(i["collection"], i["id"]) for i in todos["items"]] == [("todos", "t1")]
    assert todos["items"][0]["deleted"] and todos["to"] == 4
    two = api.call("GET", "/sync?collections=notes,settings", token=token).json
    assert two["snapshot"] and sorted(i["id"] for i in two["items"]) == ["n1", "s1"]
    bad = api.call("GET", "/sync?collections=Bad-Name", token=token)
    assert (bad.status, bad.error_code) == (400, "validation_error")
    unknown = api.call("GET", "/sync?collections=todos,nope", token=token)
    assert (unknown.status, unknown.error_code) == (404, "unknown_collection")


def test_another_user_reaches_none_of_it(api):
    a, b = api.signup(), api.signup()
    doc = _create(api, a, id="secret")
    path = f"{TODOS}/{doc['id']}"
    assert api.call("GET", path, token=b).status == 404
    assert api.call("PATCH", path, {"done": True}, token=b).status == 404
    assert api.call("DELETE", path, token=b).status == 404
    assert api.call("GET", TODOS, token=b).json["docs"] == []
    batch = api.call(
        "POST",
        "/batch",
        {"ops": [{"op": "patch", "collection": "todos", "id": "secret", "data": {"done": True}}]},
        token=b,
    )
    assert batch.status == 404
    assert api.call("GET", path, token=a).json["doc"]["data"] == doc["data"]
