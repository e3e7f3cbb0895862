"""In-memory fakes of our interfaces (preferred over mock.patch)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

from chalicelib.dal.accounts import LoginAttempts
from chalicelib.dal.tenant_store import (
    CommitOutcome,
    EditNote,
    NoteWrite,
    PutNote,
    StoredNote,
    TenantGoneError,
    TenantMeta,
    TombstoneNote,
)
from chalicelib.models.accounts import Session


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


class InMemorySessionStore:
    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.reads = 0

    def put(self, session: Session) -> None:
        self.sessions[session.token_hash] = session

    def get(self, token_hash: str) -> Session | None:
        self.reads += 1
        return self.sessions.get(token_hash)

    def renew(self, session: Session) -> bool:
        if session.token_hash not in self.sessions:
            return False
        self.sessions[session.token_hash] = session
        return True

    def delete(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    def list_for_user(self, user_id: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.user_id == user_id]


class InMemoryLoginAttemptsStore:
    def __init__(self) -> None:
        self.attempts: dict[str, LoginAttempts] = {}

    def get(self, email: str) -> LoginAttempts | None:
        return self.attempts.get(email)

    def save(self, email: str, attempts: LoginAttempts, expected_revision: int) -> bool:
        current = self.attempts.get(email)
        if (current.revision if current else 0) != expected_revision:
            return False
        self.attempts[email] = LoginAttempts(
            failures=attempts.failures,
            window_started=attempts.window_started,
            lockouts=attempts.lockouts,
            locked_until=attempts.locked_until,
            revision=expected_revision + 1,
            expires=attempts.expires,
        )
        return True


class InMemoryTenantStore:
    """TenantStore in memory, with the same conditions as DynamoDB's transaction (one lock)."""

    def __init__(self, tenant_id: str = "usr_0000000000000000") -> None:
        self._tenant_id = tenant_id
        self.meta: TenantMeta | None = None
        self.notes: dict[str, StoredNote] = {}
        self._lock = threading.Lock()

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def read_meta(self) -> TenantMeta:
        with self._lock:
            if self.meta is None:
                raise TenantGoneError("no meta")
            return self.meta

    def initialise(self) -> None:
        with self._lock:
            if self.meta is None:
                self.meta = TenantMeta(version=0)

    def commit(self, write: NoteWrite, expected_version: int) -> CommitOutcome:
        with self._lock:
            if self.meta is None:
                raise TenantGoneError("no meta")
            if self.meta.version != expected_version:
                return CommitOutcome.STALE_VERSION
            current = self.notes.get(write.note_id)
            live = current is not None and not current.deleted
            version = expected_version + 1
            if isinstance(write, PutNote):
                if live:
                    return CommitOutcome.NOTE_CONDITION
                self.notes[write.note_id] = StoredNote(
                    write.note_id, version, write.text, write.now_ms, write.now_ms
                )
            else:
                if current is None or not live:
                    return CommitOutcome.NOTE_CONDITION
                if write.if_version is not None and current.version != write.if_version:
                    return CommitOutcome.NOTE_CONDITION
                if isinstance(write, EditNote):
                    self.notes[write.note_id] = replace(
                        current, version=version, text=write.text, updated=write.now_ms
                    )
                else:
                    self.notes[write.note_id] = replace(
                        current,
                        version=version,
                        text=None,
                        updated=write.now_ms,
                        deleted=True,
                        expires=write.expires_s,
                    )
            self.meta = self._moved_meta(self.meta, write, version)
            return CommitOutcome.COMMITTED

    @staticmethod
    def _moved_meta(meta: TenantMeta, write: NoteWrite, version: int) -> TenantMeta:
        if not isinstance(write, TombstoneNote):
            return replace(meta, version=version)
        buckets = {
            day: v for day, v in meta.tombstone_buckets.items() if day not in write.ledger.folded
        }
        buckets[write.ledger.bucket] = version
        floor = write.ledger.floor if write.ledger.floor is not None else meta.tombstone_floor
        return TenantMeta(version=version, tombstone_floor=floor, tombstone_buckets=buckets)

    def get_note(self, note_id: str) -> StoredNote | None:
        with self._lock:
            return self.notes.get(note_id)

    def live_notes_by_id(
        self, after_id: str | None, *, page_size: int = 100
    ) -> Iterator[StoredNote]:
        with self._lock:
            notes = sorted(self.notes.values(), key=lambda n: n.id)
        yield from (n for n in notes if not n.deleted and (after_id is None or n.id > after_id))

    def notes_by_version(
        self, after_version: int, *, live_only: bool, page_size: int = 100
    ) -> Iterator[StoredNote]:
        with self._lock:
            notes = sorted(self.notes.values(), key=lambda n: n.version)
        yield from (n for n in notes if n.version > after_version and not (live_only and n.deleted))

    def purge(self) -> int:
        with self._lock:
            count = len(self.notes) + (self.meta is not None)
            self.notes.clear()
            self.meta = None
            return count

    def expire(self, now_s: int) -> int:
        """What DynamoDB's TTL would eventually do: drop tombstones whose expiry has passed."""
        with self._lock:
            gone = [
                k for k, n in self.notes.items() if n.expires is not None and n.expires <= now_s
            ]
            for key in gone:
                del self.notes[key]
            return len(gone)
