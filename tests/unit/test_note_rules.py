"""Note ids, text limits, write refusals and the headers that carry versions and keys."""

from __future__ import annotations

import re

import pytest
from chalice.app import Request

from chalicelib.api.notes import idempotency_key, if_match_version, parse_note_id
from chalicelib.dal.tenant_store import EditNote, LedgerChange, PutNote, StoredNote, TombstoneNote
from chalicelib.errors import (
    NoteExistsError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
    VersionMismatchError,
)
from chalicelib.logic.notes import check_text_size, refusal_for
from chalicelib.logic.tokens import derived_id, new_id
from chalicelib.models.notes import NOTE_ID_PATTERN, CreateNoteRequest

LIVE = StoredNote("note_0000000000000001", 4, "t", 1, 1)
GONE = StoredNote("note_0000000000000001", 5, None, 1, 2, deleted=True, expires=99)
EDIT = EditNote(LIVE.id, "x", 1)
DELETE = TombstoneNote(LIVE.id, 1, 99, LedgerChange(bucket=0))


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


def test_a_valid_path_id_passes():
    assert parse_note_id("note_0123456789abcdez") == "note_0123456789abcdez"


@pytest.mark.parametrize(
    "raw",
    ["note_abc", "note_0123456789ABCDEF", "note_0123456789abcdef0", "x", "note_0123456789abcde!"],
)
def test_invalid_path_ids_are_a_validation_error(raw):
    with pytest.raises(ValidationError):
        parse_note_id(raw)


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


@pytest.mark.parametrize(
    ("write", "current", "error"),
    [
        (PutNote(LIVE.id, "t", 1), LIVE, NoteExistsError),
        (PutNote(LIVE.id, "t", 1), GONE, None),
        (PutNote(LIVE.id, "t", 1), None, None),
        (PutNote(LIVE.id, "t", 1, over_tombstone=False), GONE, NoteExistsError),
        (PutNote(LIVE.id, "t", 1, over_tombstone=False), None, None),
        (EDIT, None, NotFoundError),
        (EDIT, GONE, NotFoundError),
        (DELETE, GONE, NotFoundError),
        (EditNote(LIVE.id, "x", 1, if_version=3), LIVE, VersionMismatchError),
        (EditNote(LIVE.id, "x", 1, if_version=4), LIVE, None),
        (EDIT, LIVE, None),
    ],
)
def test_why_a_write_was_refused(write, current, error):
    refusal = refusal_for(write, current)
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
