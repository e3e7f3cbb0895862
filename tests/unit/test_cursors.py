"""Opaque cursors: round trips, and refusal of anything not issued to this tenant."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.errors import InvalidCursorError
from chalicelib.logic.cursors import (
    SyncContinuation,
    decode_list_cursor,
    decode_sync_cursor,
    encode_list_cursor,
    encode_sync_cursor,
    tenant_fingerprint,
)

A = "usr_aaaaaaaaaaaaaaaa"
B = "usr_bbbbbbbbbbbbbbbb"
NOTE = "note_0123456789abcdef"


def _raw(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_list_cursor_round_trips_for_its_tenant():
    cursor = encode_list_cursor(A, NOTE)
    assert decode_list_cursor(A, cursor) == NOTE
    assert NOTE not in cursor and "note" not in cursor  # opaque, not a readable key


def test_a_sync_cursor_round_trips_with_and_without_a_snapshot_start():
    for continuation in (SyncContinuation(12), SyncContinuation(12, 1_800_000_000_000)):
        assert decode_sync_cursor(A, encode_sync_cursor(A, continuation)) == continuation


def test_another_tenants_cursor_is_refused():
    with pytest.raises(InvalidCursorError, match="another account"):
        decode_list_cursor(B, encode_list_cursor(A, NOTE))
    with pytest.raises(InvalidCursorError):
        decode_sync_cursor(B, encode_sync_cursor(A, SyncContinuation(3)))


def test_a_cursor_of_one_kind_is_not_accepted_as_the_other():
    with pytest.raises(InvalidCursorError):
        decode_sync_cursor(A, encode_list_cursor(A, NOTE))
    with pytest.raises(InvalidCursorError):
        decode_list_cursor(A, encode_sync_cursor(A, SyncContinuation(3)))


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "bm90IGpzb24",  # "not json"
        _raw([1, 2]),
        _raw({"f": 2, "k": "list", "t": tenant_fingerprint(A), "a": NOTE}),
        _raw({"f": 1, "k": "list", "t": tenant_fingerprint(A), "a": "note#x"}),
        _raw({"f": 1, "k": "list", "t": tenant_fingerprint(A), "a": 5}),
        _raw({"f": 1, "k": "list", "a": NOTE}),
    ],
)
def test_malformed_list_cursors_are_refused(cursor):
    with pytest.raises(InvalidCursorError):
        decode_list_cursor(A, cursor)


@pytest.mark.parametrize("since", [-1, "3", True, None, 1.5])
def test_sync_cursors_need_a_whole_non_negative_version(since):
    cursor = _raw({"f": 1, "k": "sync", "t": tenant_fingerprint(A), "s": since})
    with pytest.raises(InvalidCursorError):
        decode_sync_cursor(A, cursor)
