"""The conditional-increment loop, driven by a scripted store (no I/O)."""

from __future__ import annotations

import pytest

from chalicelib.dal.tenant_store import (
    Absent,
    Commit,
    CommitOutcome,
    CommitResult,
    DocKey,
    DocWrite,
    TenantMeta,
)
from chalicelib.errors import DocExistsError, TenantBusyError
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

    def commit(self, commit: Commit, expected_version: int) -> CommitResult:
        self.expected.append(expected_version)
        outcome = self._outcomes.pop(0)
        refused = 0 if outcome is CommitOutcome.DOC_CONDITION else None
        return CommitResult(outcome, refused)


def _write(doc_id: str = "note_0000000000000001") -> DocWrite:
    return DocWrite(DocKey("notes", doc_id), 1, Absent(), data='{"text":"t"}')


WRITE = Commit(writes=(_write(),))


def test_a_commit_on_the_first_try_takes_the_next_version():
    store = ScriptedStore([4], [CommitOutcome.COMMITTED])
    committed = commit_next_version(
        store, lambda meta: WRITE, lambda c, i: None, pause=lambda n: None
    )
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
    committed = commit_next_version(
        store, lambda meta: WRITE, lambda c, i: None, pause=pauses.append
    )
    # Then each attempt expected the version it had just read, with a pause between attempts
    assert store.expected == [4, 5, 6]
    assert committed.version == 7
    assert pauses == [0, 1]


def test_the_write_is_rebuilt_from_each_fresh_read():
    store = ScriptedStore([1, 2], [CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED])
    seen: list[int] = []

    def make(meta: TenantMeta) -> Commit:
        seen.append(meta.version)
        return WRITE

    commit_next_version(store, make, lambda c, i: None, pause=lambda n: None)
    assert seen == [1, 2]


def test_a_refused_document_condition_raises_the_explanation():
    store = ScriptedStore([3], [CommitOutcome.DOC_CONDITION])
    with pytest.raises(DocExistsError):
        commit_next_version(
            store, lambda m: WRITE, lambda c, i: DocExistsError(), pause=lambda n: None
        )


def test_a_document_condition_explained_by_a_race_is_retried():
    store = ScriptedStore([3, 4], [CommitOutcome.DOC_CONDITION, CommitOutcome.COMMITTED])
    committed = commit_next_version(store, lambda m: WRITE, lambda c, i: None, pause=lambda n: None)
    assert committed.version == 5


def test_too_many_lost_races_is_a_429():
    store = ScriptedStore(list(range(5)), [CommitOutcome.STALE_VERSION] * 5)
    with pytest.raises(TenantBusyError) as raised:
        commit_next_version(
            store, lambda m: WRITE, lambda c, i: None, attempts=5, pause=lambda n: None
        )
    assert raised.value.status == 429 and raised.value.retry_after == 1


def test_a_known_meta_is_tried_without_reading():
    # Given this process's last write left the tenant at version 7
    store = ScriptedStore([], [CommitOutcome.COMMITTED])
    committed = commit_next_version(
        store, lambda m: WRITE, lambda c, i: None, pause=lambda n: None, known=TenantMeta(version=7)
    )
    # Then the write is tried as version 8 with no read of `meta`
    assert committed.version == 8
    assert store.expected == [7]


def test_a_stale_known_meta_costs_one_refused_try_and_no_pause():
    # Given another instance wrote meanwhile (meta is at 9, not 7)
    store = ScriptedStore([9], [CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED])
    pauses: list[int] = []
    committed = commit_next_version(
        store, lambda m: WRITE, lambda c, i: None, pause=pauses.append, known=TenantMeta(version=7)
    )
    # Then the refused guess is followed at once by a read and a commit on the real version
    assert store.expected == [7, 9]
    assert committed.version == 10
    assert pauses == []


def test_a_commit_of_several_writes_takes_as_many_versions():
    # Given a commit of three writes on a tenant at version 4
    store = ScriptedStore([4], [CommitOutcome.COMMITTED])
    commit = Commit(writes=(_write("a"), _write("b"), _write("c")))
    committed = commit_next_version(
        store, lambda m: commit, lambda c, i: None, pause=lambda n: None
    )
    # Then its writes got 5, 6 and 7, and the tenant is at 7
    assert [committed.version_of(i) for i in range(3)] == [5, 6, 7]
    assert (committed.first_version, committed.version) == (5, 7)


def test_the_refused_write_is_named_to_the_explanation():
    store = ScriptedStore([3], [CommitOutcome.DOC_CONDITION])
    asked: list[int] = []

    def explain(commit: Commit, index: int) -> DocExistsError:
        asked.append(index)
        return DocExistsError()

    with pytest.raises(DocExistsError):
        commit_next_version(store, lambda m: WRITE, explain, pause=lambda n: None)
    assert asked == [0]
