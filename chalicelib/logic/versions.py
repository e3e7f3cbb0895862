"""The per-tenant version counter: optimistic, conditional increments with bounded retries.

A commit of n writes reads `meta` (version V), then commits its writes as
V+1 .. V+n on the condition that `meta` is still V. If another commit came
first, the condition fails, nothing is written, and the commit is tried again
on a fresh read. So every committed write has its own version, versions have
no gaps, and their order is the order in which the writes committed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.dal.tenant_store import Commit, CommitOutcome, CommitResult, TenantMeta
from chalicelib.errors import TenantBusyError, UserdbError

MAX_ATTEMPTS = 40
BACKOFF_BASE_SECONDS = 0.004
BACKOFF_CAP_SECONDS = 0.1


class VersionedStore(Protocol):
    """The part of a TenantStore that versioned writes use."""

    def read_meta(self) -> TenantMeta: ...

    def commit(self, commit: Commit, expected_version: int) -> CommitResult: ...


@dataclass(frozen=True)
class Committed:
    """A committed commit: the `meta` it was based on; its writes got versions
    `first_version` .. `version` (the tenant's version after it)."""

    commit: Commit
    based_on: TenantMeta

    @property
    def first_version(self) -> int:
        return self.based_on.version + 1

    @property
    def version(self) -> int:
        return self.based_on.version + len(self.commit.writes)

    def version_of(self, index: int) -> int:
        """The version the commit's write at `index` got."""
        return self.first_version + index


def jittered_pause(attempt: int) -> None:
    """Full-jitter exponential backoff between attempts (spreads contending writers apart)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not secrecy


def commit_next_version(
    store: VersionedStore,
    make_commit: Callable[[TenantMeta], Commit],
    explain_refusal: Callable[[Commit, int], UserdbError | None],
    *,
    attempts: int = MAX_ATTEMPTS,
    pause: Callable[[int], None] = jittered_pause,
    known: TenantMeta | None = None,
) -> Committed:
    """Commit `make_commit(meta)` as the tenant's next versions.

    `known` is a `meta` this process believes current (what its last write left):
    the first attempt is made on it without reading `meta`. If it is stale, the
    version condition refuses the commit, nothing is written, and the loop reads.
    When a document's own condition fails, `explain_refusal(commit, index)` says
    why (an error to raise) or returns None when a concurrent write explains it
    (retry). TenantBusyError (429) after `attempts` lost races.
    """
    for attempt in range(attempts):
        guessed = known is not None
        meta = known if known is not None else store.read_meta()
        known = None
        commit = make_commit(meta)
        result = store.commit(commit, meta.version)
        if result.outcome is CommitOutcome.COMMITTED:
            return Committed(commit=commit, based_on=meta)
        if result.outcome is CommitOutcome.DOC_CONDITION:
            refusal = explain_refusal(commit, result.refused or 0)
            if refusal is not None:
                raise refusal
        if not guessed:
            # A wrong guess lost no race: read and try again at once.
            pause(attempt)
    raise TenantBusyError(retry_after=1)
