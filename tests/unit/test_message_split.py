"""Change sets split by version into messages under 128 KB."""

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.logic.message_split import MAX_MESSAGE_BYTES, split_changes
from chalicelib.models.protocol import Changes, encode


def note(version, size=10, id_=None):
    return {
        "id": id_ or f"note_{version:016d}",
        "text": "x" * size,
        "created": 1,
        "updated": 1,
        "version": version,
    }


def apply(state, cursor, message):
    """What a client does with one `changes` message (DESIGN §5)."""
    if message["snapshot"]:
        state = {}
    elif cursor < message["from"]:
        raise AssertionError("gap")
    for item in message["items"]:
        if item.get("deleted"):
            state.pop(item["id"], None)
        else:
            state[item["id"]] = item
    return state, message["to"]


def test_small_change_sets_are_not_split():
    changes = Changes(from_=3, to=5, items=[note(4), note(5)])
    assert split_changes(changes) == [changes]


def test_a_burst_is_split_into_parts_that_chain_and_fit():
    # Given 500 notes of 1 KB: about 500 KB of changes
    items = [note(v, size=1000) for v in range(101, 601)]
    changes = Changes(from_=100, to=600, items=list(reversed(items)))
    # When split
    parts = split_changes(changes)
    # Then each part fits, they chain by version and cover everything once
    assert len(parts) >= 4
    assert all(len(encode(part)) <= MAX_MESSAGE_BYTES for part in parts)
    assert parts[0].from_ == 100
    assert parts[-1].to == 600
    for before, after in itertools.pairwise(parts):
        assert after.from_ == before.to
    versions = [item["version"] for part in parts for item in part.items]
    assert versions == list(range(101, 601))
    for part in parts:
        assert all(part.from_ < item["version"] <= part.to for item in part.items)


def test_only_the_first_part_of_a_snapshot_is_a_snapshot():
    items = [note(v, size=2000) for v in range(1, 200)]
    parts = split_changes(Changes(from_=0, to=250, snapshot=True, items=items))
    assert [part.snapshot for part in parts] == [True] + [False] * (len(parts) - 1)
    # The last part carries the snapshot's `to`, beyond its last item (a later deletion)
    assert parts[-1].to == 250


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=60_000), min_size=1, max_size=40),
    snapshot=st.booleans(),
    limit=st.integers(min_value=70_000, max_value=MAX_MESSAGE_BYTES),
)
def test_applying_every_part_equals_applying_the_whole(sizes, snapshot, limit):
    items = [note(v + 1, size=s) for v, s in enumerate(sizes)]
    whole = Changes(from_=0, to=len(items) + 3, snapshot=snapshot, items=items)
    parts = [json.loads(encode(p)) for p in split_changes(whole, max_bytes=limit)]
    assert all(len(json.dumps(p, separators=(",", ":"))) <= limit for p in parts)
    expected, _ = apply({"stale": {}}, 0, json.loads(encode(whole)))
    state: dict[str, object] = {"stale": {}}
    cursor = 0
    for part in parts:
        state, cursor = apply(state, cursor, part)
    assert state == expected
    assert cursor == whole.to
