"""/notes and /sync input validation and limits through chalice.test.Client on moto.

Nothing here depends on where tenant data lives, so it runs in silo mode only;
test_notes_api.py covers the behaviour in both modes.
"""

from __future__ import annotations

import pytest

from chalicelib.logic.tokens import new_id


@pytest.mark.parametrize(
    "bad_id",
    ["note_short", "note_UPPERCASEUPPERCA", "item_aaaaaaaaaaaaaaaa", "note_aaaaaaaa-aaaaaaa", 7],
)
def test_create_with_an_invalid_id_is_a_400_naming_the_field(api, bad_id):
    # Given a user
    token = api.signup()
    # When they supply an id that is not `note_` + 16 lowercase alphanumerics
    reply = api.call("POST", "/notes", {"text": "x", "id": bad_id}, token=token)
    # Then it is refused with the field named, and nothing was created
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert reply.json["error"]["details"][0]["field"] == "id"
    assert api.call("GET", "/notes", token=token).json["notes"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "validation_error"),
        ({"text": 5}, "validation_error"),
        ({"text": "x", "color": "red"}, "validation_error"),
        ([1, 2], "validation_error"),
    ],
)
def test_create_with_an_invalid_body_is_a_400(api, body, code):
    token = api.signup()
    reply = api.call("POST", "/notes", body, token=token)
    assert (reply.status, reply.error_code) == (400, code)


def test_create_with_malformed_json_is_a_400(api):
    token = api.signup()
    reply = api.call("POST", "/notes", raw=b'{"text": ', token=token)
    assert (reply.status, reply.error_code) == (400, "malformed_json")


def test_note_text_is_limited_to_64_kib_of_utf8(api):
    # Given a user
    token = api.signup()
    # When the text is exactly 64 KiB of UTF-8 (multi-byte characters count by their bytes)
    at_limit = "é" * (64 * 1024 // 2)
    ok = api.call("POST", "/notes", {"text": at_limit}, token=token)
    # Then it is stored; one byte more is a 413 and is not stored
    assert ok.status == 201
    over = api.call("POST", "/notes", {"text": at_limit + "a"}, token=token)
    assert (over.status, over.error_code) == (413, "payload_too_large")
    assert len(api.call("GET", "/notes", token=token).json["notes"]) == 1


def test_text_over_the_limit_is_refused_on_update_too(api):
    token = api.signup()
    note = api.create_note(token)
    reply = api.call("PUT", f"/notes/{note['id']}", {"text": "a" * (64 * 1024 + 1)}, token=token)
    assert (reply.status, reply.error_code) == (413, "payload_too_large")
    assert api.call("GET", f"/notes/{note['id']}", token=token).json["note"]["version"] == 1


def test_notes_need_a_session(api):
    # Given no token at all, and a token that is not a session
    for token in (None, "not-a-session"):
        # Then every notes route answers 401
        for method, path in [
            ("GET", "/notes"),
            ("POST", "/notes"),
            ("GET", f"/notes/{new_id('note')}"),
            ("PUT", f"/notes/{new_id('note')}"),
            ("DELETE", f"/notes/{new_id('note')}"),
            ("GET", "/sync"),
        ]:
            reply = api.call(method, path, {"text": "x"}, token=token)
            assert (reply.status, reply.error_code) == (401, "unauthorized"), (method, path)


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_an_invalid_idempotency_key_is_a_400(api, key):
    token = api.signup()
    reply = api.call("POST", "/notes", {"text": "x"}, token=token, headers={"Idempotency-Key": key})
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert reply.json["error"]["details"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "limit=-1", "sort=id"])
def test_list_refuses_bad_parameters(api, query):
    token = api.signup()
    reply = api.call("GET", f"/notes?{query}", token=token)
    assert (reply.status, reply.error_code) == (400, "validation_error")


@pytest.mark.parametrize("cursor", ["garbage", "eyJmIjoxfQ", "a" * 600])
def test_list_refuses_a_cursor_it_did_not_issue(api, cursor):
    token = api.signup()
    reply = api.call("GET", f"/notes?cursor={cursor}", token=token)
    assert reply.status == 400
    assert reply.error_code in {"invalid_cursor", "validation_error"}


def test_list_accepts_the_limit_bounds(api):
    token = api.signup()
    for _ in range(2):
        api.create_note(token)
    assert len(api.call("GET", "/notes?limit=1", token=token).json["notes"]) == 1
    assert len(api.call("GET", "/notes?limit=100", token=token).json["notes"]) == 2


def test_unknown_and_invalid_ids(api):
    token = api.signup()
    unknown = api.call("GET", f"/notes/{new_id('note')}", token=token)
    invalid = api.call("GET", "/notes/not.an.id", token=token)
    assert (unknown.status, unknown.error_code) == (404, "not_found")
    assert (invalid.status, invalid.error_code) == (400, "validation_error")
    assert invalid.json["error"]["details"][0]["field"] == "id"


@pytest.mark.parametrize("header", ['W/"1"', "one", '"1", "2"', ""])
def test_a_malformed_if_match_is_a_400(api, header):
    token = api.signup()
    note = api.create_note(token)
    reply = api.call(
        "PUT", f"/notes/{note['id']}", {"text": "x"}, token=token, headers={"If-Match": header}
    )
    assert (reply.status, reply.error_code) == (400, "validation_error")
    assert reply.json["error"]["details"][0]["field"] == "If-Match"


def test_text_that_is_not_unicode_is_a_400(api):
    # Given JSON whose string holds a lone surrogate (valid JSON, not valid Unicode)
    token = api.signup()
    reply = api.call("POST", "/notes", raw=b'{"text": "\\ud800"}', token=token)
    # Then it is refused and nothing is stored
    assert reply.status == 400
    assert reply.error_code in {"validation_error", "malformed_json"}
    assert api.call("GET", "/notes", token=token).json["notes"] == []


def test_a_version_beyond_any_counter_is_a_400(api):
    token = api.signup()
    reply = api.call("GET", f"/sync?since={2**53 + 1}", token=token)
    assert (reply.status, reply.error_code) == (400, "validation_error")


@pytest.mark.parametrize(
    "query",
    ["?since=-1", "?since=abc", "?limit=0", "?limit=1001", "?since=1&cursor=abc", "?until=3"],
)
def test_sync_refuses_bad_parameters(api, query):
    token = api.signup()
    reply = api.call("GET", f"/sync{query}", token=token)
    assert (reply.status, reply.error_code) == (400, "validation_error")


def test_sync_refuses_a_list_cursor_and_garbage(api):
    token = api.signup()
    for i in range(3):
        api.call("POST", "/notes", {"text": str(i)}, token=token)
    list_cursor = api.call("GET", "/notes?limit=1", token=token).json["cursor"]
    for cursor in (list_cursor, "bm90LWEtY3Vyc29y"):
        reply = api.call("GET", f"/sync?cursor={cursor}", token=token)
        assert (reply.status, reply.error_code) == (400, "invalid_cursor")
