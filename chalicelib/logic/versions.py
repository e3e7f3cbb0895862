"""The per-tenant version counter: optimistic, conditional increments with bounded retries.

A write reads `meta` (version V), then commits itself as V+1 on the condition
that `meta` is still V. If another write committed first, the condition fails,
nothing is written, and the write is tried again on a fresh read. So every
committed write has its own version, versions have no gaps, and their order is
the order in which the writes committed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.dal.tenant_store import CommitOutcome, NoteWrite, TenantMeta
from chalicelib.errors import TenantBusyError, UserdbError

MAX_ATTEMPTS = 40
BACKOFF_BASE_SECONDS = 0.004
BACKOFF_CAP_SECONDS = 0.1


class VersionedStore(Protocol):
    """The part of a TenantStore that versioned writes use."""

    def read_meta(self) -> TenantMeta: ...

    def commit(self, write: NoteWrite, expected_version: int) -> CommitOutcome: ...


@dataclass(frozen=True)
class Committed:
    """A committed write: the version it got, and the `meta` it was based on."""

    version: int
    write: NoteWrite
    based_on: TenantMeta


def jittered_pause(attempt: int) -> None:
    """Full-jitter exponential backoff between attempts (spreads contending writers apart)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not secrecy


def commit_next_version(
    store: VersionedStore,
    make_write: Callable[[TenantMeta], NoteWrite],
    explain_refusal: Callable[[NoteWrite], UserdbError | None],
    *,
    attempts: int = MAX_ATTEMPTS,
    pause: Callable[[int], None] = jittered_pause,
    known: TenantMeta | None = None,
) -> Committed:
    """Commit `make_write(meta)` as the tenant's next version.

    `known` is a `meta` this process believes current (what its last write left):
    the first attempt is made on it without reading `meta`. If it is stale, the
    version condition refuses the write, nothing is written, and the loop reads.
    When the note's own condition fails, `explain_refusal` says why (an error
    to raise) or returns None when a concurrent write explains it (retry).
    TenantBusyError (429) after `attempts` lost races.
    """
    for attempt in range(attempts):
        guessed = known is not None
        meta = known if known is not None else store.read_meta()
        known = None
        write = make_write(meta)
        outcome = store.commit(write, meta.version)
        if outcome is CommitOutcome.COMMITTED:
            return Committed(version=meta.version + 1, write=write, based_on=meta)
        if outcome is CommitOutcome.NOTE_CONDITION:
            refusal = explain_refusal(write)
            if refusal is not None:
                raise refusal
        if not guessed:
            # A wrong guess lost no race: read and try again at once.
            pause(attempt)
    raise TenantBusyError(retry_after=1)
