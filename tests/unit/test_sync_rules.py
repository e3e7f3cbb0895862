"""When to answer with a snapshot, and how an answer is cut (pure rules)."""

from __future__ import annotations

import pytest

from chalicelib.dal.tenant_store import StoredDoc, TenantMeta
from chalicelib.logic.doc_rules import to_change
from chalicelib.logic.sync import (
    CONTINUATION_MARGIN_SECONDS,
    continuation_is_fresh,
    encoded_size,
    for_collections,
    needs_snapshot,
    take_changes,
)
from chalicelib.logic.tombstones import DAY_SECONDS
from chalicelib.models.notes import SyncResponse
from chalicelib.models.protocol import Changes

NOW_MS = 1_800_000_000_000
NOW_S = NOW_MS // 1000
DAYS = 7
# A tenant at version 20 whose tombstones up to version 8 may be gone already.
META = TenantMeta(version=20, tombstone_buckets={NOW_S // DAY_SECONDS - 1: 8})


def _note(version: int, deleted: bool = False, expires: int | None = None) -> StoredDoc:
    data = None if deleted else '{"text":"t"}'
    return StoredDoc("notes", f"note_{version:016d}", version, data, 1, 2, deleted, expires)


@pytest.mark.parametrize(
    ("since", "snapshot"),
    [(None, True), (0, True), (7, True), (8, False), (20, False), (21, True)],
)
def test_snapshot_below_the_horizon_without_a_cursor_or_ahead_of_the_tenant(since, snapshot):
    assert needs_snapshot(since, META, NOW_MS, tombstone_days=DAYS) is snapshot


def test_a_fresh_snapshot_continuation_is_answered_with_changes_below_the_horizon():
    started = NOW_MS - 60_000
    assert not needs_snapshot(3, META, NOW_MS, tombstone_days=DAYS, snapshot_started_ms=started)


def test_a_stale_snapshot_continuation_gets_a_new_snapshot():
    started = NOW_MS - DAYS * DAY_SECONDS * 1000
    assert needs_snapshot(3, META, NOW_MS, tombstone_days=DAYS, snapshot_started_ms=started)


def test_continuations_are_trusted_for_the_tombstone_lifetime_less_a_margin():
    lifetime_ms = DAYS * DAY_SECONDS * 1000
    margin_ms = CONTINUATION_MARGIN_SECONDS * 1000
    started = NOW_MS
    assert continuation_is_fresh(started, started + lifetime_ms - margin_ms - 1, DAYS)
    assert not continuation_is_fresh(started, started + lifetime_ms - margin_ms, DAYS)
    # A start far in the future is no proof of anything
    assert not continuation_is_fresh(NOW_MS + margin_ms + 1, NOW_MS, DAYS)


def test_changes_stop_at_the_limit_and_say_more():
    notes = [_note(v) for v in range(1, 6)]
    items, more = take_changes(notes, ceiling=20, now_s=NOW_S, limit=2, max_bytes=None)
    assert [i["version"] for i in items] == [1, 2]
    assert more


def test_changes_that_fit_exactly_are_not_more():
    notes = [_note(v) for v in range(1, 3)]
    items, more = take_changes(notes, ceiling=20, now_s=NOW_S, limit=2, max_bytes=None)
    assert [i["version"] for i in items] == [1, 2]
    assert not more


def test_versions_above_the_ceiling_are_left_for_the_next_answer():
    notes = [_note(v) for v in (1, 2, 21, 22)]
    items, more = take_changes(notes, ceiling=20, now_s=NOW_S, limit=None, max_bytes=None)
    assert [i["version"] for i in items] == [1, 2]
    assert not more


def test_expired_tombstones_are_skipped_and_do_not_make_more():
    notes = [
        _note(1),
        _note(2, deleted=True, expires=NOW_S),
        _note(3, deleted=True, expires=NOW_S + 1),
    ]
    items, more = take_changes(notes, ceiling=20, now_s=NOW_S, limit=2, max_bytes=None)
    tombstone = {"collection": "notes", "id": notes[2].id, "version": 3, "deleted": True}
    assert items == [to_change(notes[0]), tombstone]
    assert not more


def test_the_byte_budget_cuts_an_answer_but_never_to_nothing():
    notes = [
        StoredDoc("notes", f"n{v}", v, '{"text":"%s"}' % ("x" * 1000), 1, 1) for v in (1, 2, 3)
    ]
    one = encoded_size(to_change(notes[0]))
    items, more = take_changes(notes, ceiling=20, now_s=NOW_S, limit=None, max_bytes=one * 2)
    assert len(items) == 2 and more
    items, more = take_changes(notes, ceiling=20, now_s=NOW_S, limit=None, max_bytes=10)
    assert len(items) == 1 and more


def test_the_rest_sync_body_is_a_changes_message_with_from_more_and_cursor():
    # Given a REST /sync answer
    item = {
        "collection": "notes",
        "id": "note_0000000000000005",
        "data": {"text": "t"},
        "created": 1,
        "updated": 1,
        "version": 5,
    }
    body = SyncResponse(from_=3, to=5, snapshot=False, items=[item], cursor=None)
    # When the API serialises it as json_response does
    dumped = body.model_dump(mode="json")
    # Then the fields carry the names of DESIGN §5, `more` always present
    assert dumped == {
        "type": "changes",
        "from": 3,
        "to": 5,
        "snapshot": False,
        "items": [item],
        "more": False,
        "cursor": None,
    }
    assert isinstance(body, Changes)


def test_a_document_change_carries_its_collection_and_its_data_exactly():
    data = '{"t":"é","n":9007199254740993,"f":0.1,"z":null,"l":[[],{}],"neg":-0.0}'
    doc = StoredDoc("todos", "a-1", 7, data, 10, 20)
    assert to_change(doc) == {
        "collection": "todos",
        "id": "a-1",
        "data": {"t": "é", "n": 9007199254740993, "f": 0.1, "z": None, "l": [[], {}], "neg": -0.0},
        "version": 7,
        "created": 10,
        "updated": 20,
    }


def test_a_follower_of_some_collections_gets_their_items_over_the_same_range():
    items = [
        {"collection": "notes", "id": "a", "version": 4, "deleted": True},
        {"collection": "todos", "id": "b", "version": 5, "deleted": True},
    ]
    changes = Changes(from_=3, to=6, items=items)
    assert for_collections(changes, None) is changes
    only_todos = for_collections(changes, frozenset({"todos"}))
    assert (only_todos.from_, only_todos.to, only_todos.items) == (3, 6, items[1:])
    nothing = for_collections(changes, frozenset({"settings"}))
    assert (nothing.from_, nothing.to, nothing.items) == (3, 6, [])
