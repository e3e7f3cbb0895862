"""Document and note ids, size limits, write refusals, merge patches, filters, and the headers
that carry versions and keys (no I/O)."""

from __future__ import annotations

import re

import pytest
from chalice.app import Request

from chalicelib.api.headers import idempotency_key, if_match_version
from chalicelib.api.http import parse_doc_id
from chalicelib.dal.tenant_store import Absent, DocKey, DocWrite, Live, StoredDoc
from chalicelib.errors import (
    DocExistsError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
    VersionMismatchError,
)
from chalicelib.logic.doc_rules import (
    encode_data,
    idempotent_id,
    json_equal,
    matches,
    merge_patch,
    parse_where,
    refusal_for,
    server_id,
)
from chalicelib.logic.notes import check_text_size
from chalicelib.logic.tokens import derived_id, new_id
from chalicelib.models.documents import DOC_ID_PATTERN
from chalicelib.models.notes import NOTE_ID_PATTERN, CreateNoteRequest

KEY = DocKey("notes", "note_0000000000000001")
LIVE = StoredDoc("notes", KEY.id, 4, '{"text":"t"}', 1, 1)
GONE = StoredDoc("notes", KEY.id, 5, None, 1, 2, deleted=True, expires=99)
CREATE = DocWrite(KEY, 1, Absent(), data='{"text":"t"}')
EDIT = DocWrite(KEY, 1, Live(), data='{"text":"x"}')
DELETE = DocWrite(KEY, 1, Live(), expires_s=99)


def test_generated_ids_are_note_and_16_lowercase_alphanumerics():
    ids = {new_id("note") for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"note_[a-z0-9]{16}", i) for i in ids)
    assert all(re.fullmatch(NOTE_ID_PATTERN, i) for i in ids)


def test_derived_ids_are_valid_note_ids_fixed_by_their_parts():
    # Given ids derived from (tenant, key) pairs
    first = derived_id("note", "usr_a", "key-1")
    # Then the same parts give the same id, and any other part another one
    assert re.fullmatch(NOTE_ID_PATTERN, first)
    assert derived_id("note", "usr_a", "key-1") == first
    others = {derived_id("note", t, k) for t in ("usr_a", "usr_b") for k in ("key-1", "key-2")}
    assert len(others) == 4
    assert derived_id("note", "usr_a", "key-1x") != derived_id("note", "usr_a", "key-", "1x")


def test_server_ids_of_notes_keep_their_form_and_others_are_document_ids():
    assert re.fullmatch(NOTE_ID_PATTERN, server_id("notes"))
    assert re.fullmatch(DOC_ID_PATTERN, server_id("todos"))
    assert server_id("todos") != server_id("todos")


def test_idempotent_ids_are_fixed_by_tenant_key_and_data():
    one = idempotent_id("todos", "usr_a", "k", '{"title":"a"}')
    assert idempotent_id("todos", "usr_a", "k", '{"title":"a"}') == one
    assert idempotent_id("todos", "usr_a", "k", '{"title":"b"}') != one
    assert idempotent_id("todos", "usr_b", "k", '{"title":"a"}') != one
    assert idempotent_id("todos", "usr_a", "k", '{"title":"a"}', slot="1") != one
    # A note's id is derived from its text as before collections, so a create retried
    # across the upgrade finds the note it made.
    assert idempotent_id("notes", "usr_a", "k", '{"text":"milk"}') == derived_id(
        "note", "usr_a", "k", "milk"
    )


@pytest.mark.parametrize("raw", ["note_0123456789abcdez", "a", "A-b_9", "x" * 128])
def test_a_valid_path_id_passes(raw):
    assert parse_doc_id(raw) == raw


@pytest.mark.parametrize("raw", ["", "x" * 129, "a b", "a/b", "note#1", "é"])
def test_invalid_path_ids_are_a_validation_error(raw):
    with pytest.raises(ValidationError):
        parse_doc_id(raw)


def test_a_client_supplied_id_is_validated_by_the_request_model():
    assert CreateNoteRequest.model_validate({"text": "", "id": "note_0123456789abcdef"}).id
    with pytest.raises(ValueError):
        CreateNoteRequest.model_validate({"text": "", "id": "note_0123456789abcdeF"})


def test_text_size_counts_utf8_bytes():
    check_text_size("a" * 65_536)
    check_text_size("€" * (65_536 // 3))
    with pytest.raises(PayloadTooLargeError):
        check_text_size("€" * (65_536 // 3 + 1))
    with pytest.raises(ValidationError):
        check_text_size("\ud800")


def test_data_is_stored_as_compact_json_up_to_64_kib():
    assert encode_data({"a": [1, 2.5, None, "é"]}, "/data") == '{"a":[1,2.5,null,"é"]}'
    # {"t":"..."} is 8 bytes around the string
    at_limit = {"t": "é" * ((65_536 - 8) // 2)}
    assert len(encode_data(at_limit, "/data").encode()) == 65_536
    with pytest.raises(PayloadTooLargeError):
        encode_data({"t": "a" * (65_536 - 7)}, "/data")
    assert encode_data({"t": "a" * 100_000}, "/data", max_bytes=None)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_numbers_json_cannot_carry_are_refused(number):
    with pytest.raises(ValidationError) as refused:
        encode_data({"x": [number]}, "/ops/2/data")
    assert refused.value.details == [
        {"field": "/ops/2/data", "message": "numbers must be finite", "type": "number"}
    ]


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target, patch, result):
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_its_inputs_alone():
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_equality_filters_compare_json_values():
    data = {"done": False, "n": 1, "tags": ["a"], "o": {"x": 1.0}, "s": "1"}
    assert matches(data, {})
    assert matches(data, {"done": False, "n": 1.0, "tags": ["a"], "o": {"x": 1}})
    assert not matches(data, {"done": 0})
    assert not matches(data, {"n": True})
    assert not matches(data, {"s": 1})
    assert not matches(data, {"missing": None})
    assert json_equal(None, None) and not json_equal(None, False)


@pytest.mark.parametrize("raw", ["[1]", '"x"', "{", "null", "1"])
def test_where_must_be_a_json_object(raw):
    with pytest.raises(ValidationError):
        parse_where(raw)


@pytest.mark.parametrize(
    ("write", "current", "if_match", "error"),
    [
        (CREATE, LIVE, None, DocExistsError),
        (CREATE, GONE, None, None),
        (CREATE, None, None, None),
        (DocWrite(KEY, 1, Absent(over_tombstone=False), data="{}"), GONE, None, DocExistsError),
        (DocWrite(KEY, 1, Absent(over_tombstone=False), data="{}"), None, None, None),
        (EDIT, None, None, NotFoundError),
        (EDIT, GONE, None, NotFoundError),
        (DELETE, GONE, None, NotFoundError),
        (DocWrite(KEY, 1, Live(3), data="{}"), LIVE, 3, VersionMismatchError),
        (DocWrite(KEY, 1, Live(4), data="{}"), LIVE, 4, None),
        (EDIT, LIVE, None, None),
    ],
)
def test_why_a_write_was_refused(write, current, if_match, error):
    refusal = refusal_for(write, current, if_match)
    if error is None:
        assert refusal is None
    else:
        assert isinstance(refusal, error)


def _request(headers: dict[str, str]) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": headers,
            "pathParameters": {},
            "requestContext": {"httpMethod": "PUT", "resourcePath": "/notes/{raw_id}"},
            "body": None,
            "stageVariables": None,
            "isBase64Encoded": False,
        }
    )


@pytest.mark.parametrize(
    ("header", "version"), [(None, None), ("*", None), ('"7"', 7), ("7", 7), (' "12" ', 12)]
)
def test_if_match_carries_a_version(header, version):
    headers = {} if header is None else {"if-match": header}
    assert if_match_version(_request(headers)) == version


@pytest.mark.parametrize("header", ['W/"7"', '"7", "8"', "seven", '"-1"', ""])
def test_a_malformed_if_match_is_refused(header):
    with pytest.raises(ValidationError):
        if_match_version(_request({"if-match": header}))


def test_idempotency_keys_are_visible_ascii_up_to_255():
    assert idempotency_key(_request({})) is None
    assert idempotency_key(_request({"idempotency-key": "a" * 255})) == "a" * 255
    for bad in ("", "a" * 256, "with space", "é"):
        with pytest.raises(ValidationError):
            idempotency_key(_request({"idempotency-key": bad}))
