"""The conditional-increment loop, driven by a scripted store (no I/O)."""

from __future__ import annotations

import pytest

from chalicelib.dal.tenant_store import CommitOutcome, PutNote, TenantMeta
from chalicelib.errors import NoteExistsError, TenantBusyError
from chalicelib.logic.versions import commit_next_version


class ScriptedStore:
    """Answers reads from `versions` and commits from `outcomes`, recording what it was asked."""

    tenant_id = "usr_0000000000000000"

    def __init__(self, versions: list[int], outcomes: list[CommitOutcome]) -> None:
        self._versions = list(versions)
        self._outcomes = list(outcomes)
        self.expected: list[int] = []

    def read_meta(self) -> TenantMeta:
        return TenantMeta(version=self._versions.pop(0))

    def commit(self, write, expected_version: int) -> CommitOutcome:
        self.expected.append(expected_version)
        return self._outcomes.pop(0)


WRITE = PutNote("note_0000000000000001", "t", 1)


def test_a_commit_on_the_first_try_takes_the_next_version():
    store = ScriptedStore([4], [CommitOutcome.COMMITTED])
    committed = commit_next_version(store, lambda meta: WRITE, lambda w: None, pause=lambda n: None)
    assert committed.version == 5
    assert store.expected == [4]


def test_a_lost_race_reads_again_and_commits_on_the_new_version():
    # Given two writers that commit between this one's read and its commit
    store = ScriptedStore(
        [4, 5, 6],
        [CommitOutcome.STALE_VERSION, CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED],
    )
    pauses: list[int] = []
    # When it commits
    committed = commit_next_version(store, lambda meta: WRITE, lambda w: None, pause=pauses.append)
    # Then each attempt expected the version it had just read, with a pause between attempts
    assert store.expected == [4, 5, 6]
    assert committed.version == 7
    assert pauses == [0, 1]


def test_the_write_is_rebuilt_from_each_fresh_read():
    store = ScriptedStore([1, 2], [CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED])
    seen: list[int] = []

    def make(meta: TenantMeta) -> PutNote:
        seen.append(meta.version)
        return WRITE

    commit_next_version(store, make, lambda w: None, pause=lambda n: None)
    assert seen == [1, 2]


def test_a_refused_note_condition_raises_the_explanation():
    store = ScriptedStore([3], [CommitOutcome.NOTE_CONDITION])
    with pytest.raises(NoteExistsError):
        commit_next_version(
            store, lambda m: WRITE, lambda w: NoteExistsError(), pause=lambda n: None
        )


def test_a_note_condition_explained_by_a_race_is_retried():
    store = ScriptedStore([3, 4], [CommitOutcome.NOTE_CONDITION, CommitOutcome.COMMITTED])
    committed = commit_next_version(store, lambda m: WRITE, lambda w: None, pause=lambda n: None)
    assert committed.version == 5


def test_too_many_lost_races_is_a_429():
    store = ScriptedStore(list(range(5)), [CommitOutcome.STALE_VERSION] * 5)
    with pytest.raises(TenantBusyError) as raised:
        commit_next_version(
            store, lambda m: WRITE, lambda w: None, attempts=5, pause=lambda n: None
        )
    assert raised.value.status == 429 and raised.value.retry_after == 1


def test_a_known_meta_is_tried_without_reading():
    # Given this process's last write left the tenant at version 7
    store = ScriptedStore([], [CommitOutcome.COMMITTED])
    committed = commit_next_version(
        store, lambda m: WRITE, lambda w: None, pause=lambda n: None, known=TenantMeta(version=7)
    )
    # Then the write is tried as version 8 with no read of `meta`
    assert committed.version == 8
    assert store.expected == [7]


def test_a_stale_known_meta_costs_one_refused_try_and_no_pause():
    # Given another instance wrote meanwhile (meta is at 9, not 7)
    store = ScriptedStore([9], [CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED])
    pauses: list[int] = []
    committed = commit_next_version(
        store, lambda m: WRITE, lambda w: None, pause=pauses.append, known=TenantMeta(version=7)
    )
    # Then the refused guess is followed at once by a read and a commit on the real version
    assert store.expected == [7, 9]
    assert committed.version == 10
    assert pauses == []
