"""Notes: list, create (idempotent), read, update (conditional), delete (tombstone), sync.

Every method takes the tenant id of a validated session and nothing else that
chooses whose data is touched: the store it opens is bound to that tenant.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Protocol, TypeVar

from chalicelib.dal.idempotency import IdempotentRunner, RemainingTime
from chalicelib.dal.tenant_store import (
    EditNote,
    NoteWrite,
    PutNote,
    StoredNote,
    TenantGoneError,
    TenantMeta,
    TenantStore,
    TombstoneNote,
)
from chalicelib.errors import (
    NoteExistsError,
    NotFoundError,
    PayloadTooLargeError,
    UserdbError,
    ValidationError,
    VersionMismatchError,
)
from chalicelib.logic.clock import Clock, epoch_ms
from chalicelib.logic.cursors import (
    decode_list_cursor,
    decode_sync_cursor,
    encode_list_cursor,
    encode_sync_cursor,
)
from chalicelib.logic.instance_cache import InstanceCache
from chalicelib.logic.sync import (
    SyncPage,
    changes_since,
    committed_changes,
    encoded_size,
    to_note,
)
from chalicelib.logic.tokens import derived_id, new_id
from chalicelib.logic.tombstones import ledger_change, tombstone_expiry
from chalicelib.logic.versions import Committed, commit_next_version, jittered_pause
from chalicelib.models.notes import (
    MAX_NOTE_TEXT_BYTES,
    CreateNoteRequest,
    ListNotesQuery,
    Note,
    NotesPage,
    SyncQuery,
    SyncResponse,
    UpdateNoteRequest,
)
from chalicelib.models.protocol import Changes

R = TypeVar("R")

# Item bytes per REST reply: JSON-escaped twice over (body, then Lambda's proxy result),
# this stays under Lambda's 6 MB response limit.
REPLY_ITEM_BYTES = 2_500_000
CREATE_OPERATION = "notes.create"


class TenantAccess(Protocol):
    def open(self, tenant_id: str) -> TenantStore: ...

    def recover(self, tenant_id: str) -> TenantStore: ...


def check_text_size(text: str) -> None:
    """PayloadTooLargeError (413) above 64 KiB of UTF-8; ValidationError if not encodable."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValidationError(
            details=[{"field": "text", "message": "Text is not valid Unicode.", "type": "unicode"}]
        ) from None
    if size > MAX_NOTE_TEXT_BYTES:
        raise PayloadTooLargeError(
            f"Note text is {size} bytes of UTF-8; the limit is {MAX_NOTE_TEXT_BYTES}."
        )


def refusal_for(write: NoteWrite, current: StoredNote | None) -> UserdbError | None:
    """Why the store refused `write` given the note as it is now (None: a race, retry)."""
    live = current is not None and not current.deleted
    if isinstance(write, PutNote):
        taken = live or (current is not None and not write.over_tombstone)
        return NoteExistsError() if taken else None
    if current is None or not live:
        return NotFoundError("No such note.")
    if write.if_version is not None and current.version != write.if_version:
        return VersionMismatchError(f"The note changed: it is at version {current.version}.")
    return None


class KnownMeta:
    """Each tenant's `meta` as this process's last write left it: the next write is tried
    on it without reading `meta` first (one request instead of two while a single
    instance writes; a stale guess costs one refused transaction). Bounded, per process.
    """

    def __init__(self, max_tenants: int = 10_000) -> None:
        self._metas: InstanceCache[str, TenantMeta] = InstanceCache(max_tenants)

    def get(self, tenant_id: str) -> TenantMeta | None:
        return self._metas.get(tenant_id)

    def after(self, tenant_id: str, committed: Committed) -> None:
        if isinstance(committed.write, TombstoneNote):
            # A deletion also changed the tombstone ledger: read `meta` next time.
            self._metas.forget(tenant_id)
        else:
            self._metas.put(tenant_id, replace(committed.based_on, version=committed.version))


class WriteTurns:
    """One lock per tenant: this process's writes to a tenant take turns instead of racing.

    Of writes that race on `meta` only one commits; each other pays a refused
    transaction, a read and a backoff, so racing threads write slower than one
    (and may run out of attempts: 429). A Lambda instance serves one request at a
    time and never waits here; a process that serves many at once does.
    """

    def __init__(self) -> None:
        # Locks live while someone holds or waits on them: no bound needed.
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def turn(self, tenant_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.get(tenant_id)
            if lock is None:
                lock = self._locks[tenant_id] = threading.Lock()
        with lock:
            yield


class NoteService:
    """The notes rules; tenants, idempotency records and time are injected.

    Also the realtime ChangeFeed (logic/change_feed.py): `changes_since` and
    `current_version` serve the fan-out and the WebSocket's hello/ping/sync.
    """

    def __init__(
        self,
        tenants: TenantAccess,
        idempotency: IdempotentRunner,
        clock: Clock,
        *,
        tombstone_days: int,
        reply_item_bytes: int = REPLY_ITEM_BYTES,
        pause: Callable[[int], None] = jittered_pause,
    ) -> None:
        self._tenants = tenants
        self._idempotency = idempotency
        self._clock = clock
        self._tombstone_days = tombstone_days
        self._reply_bytes = reply_item_bytes
        self._pause = pause
        self._known = KnownMeta()
        self._turns = WriteTurns()

    def _with_store(self, tenant_id: str, action: Callable[[TenantStore], R]) -> R:
        try:
            return action(self._tenants.open(tenant_id))
        except TenantGoneError:
            # Deleted meanwhile (401) or never finished provisioning (finished now, or 503).
            return action(self._tenants.recover(tenant_id))

    def _commit(self, tenant_id: str, make_write: Callable[[TenantMeta], NoteWrite]) -> Committed:
        def commit(store: TenantStore) -> Committed:
            def explain(write: NoteWrite) -> UserdbError | None:
                return refusal_for(write, store.get_note(write.note_id))

            return commit_next_version(
                store, make_write, explain, pause=self._pause, known=self._known.get(tenant_id)
            )

        with self._turns.turn(tenant_id):
            committed = self._with_store(tenant_id, commit)
            self._known.after(tenant_id, committed)
        return committed

    def list(self, tenant_id: str, query: ListNotesQuery) -> NotesPage:
        """Live notes in id order, `query.limit` at most, and the tenant's version."""
        after = decode_list_cursor(tenant_id, query.cursor) if query.cursor else None

        def page(store: TenantStore) -> NotesPage:
            version = store.read_meta().version
            notes: list[Note] = []
            size = 0
            for stored in store.live_notes_by_id(after, page_size=query.limit + 1):
                note = to_note(stored)
                size += encoded_size(note.model_dump(mode="json"))
                if notes and (len(notes) >= query.limit or size > self._reply_bytes):
                    return NotesPage(
                        notes=notes,
                        cursor=encode_list_cursor(tenant_id, notes[-1].id),
                        version=version,
                    )
                notes.append(note)
            return NotesPage(notes=notes, cursor=None, version=version)

        return self._with_store(tenant_id, page)

    def create(
        self,
        tenant_id: str,
        request: CreateNoteRequest,
        idempotency_key: str | None,
        lambda_context: RemainingTime | None = None,
    ) -> Note:
        """A new note (client id or `note_` + 16 random); NoteExistsError if the id is live.

        With an Idempotency-Key, a repeat of the same request by the same tenant
        returns the first result instead of creating again.
        """
        check_text_size(request.text)
        if idempotency_key is None:
            return self._create(tenant_id, request.id or new_id("note"), request.text)
        return self._idempotency.once(
            CREATE_OPERATION,
            scope=tenant_id,
            key=idempotency_key,
            request=request.model_dump(mode="json"),
            result_type=Note,
            operation=lambda: self._create_once(tenant_id, request, idempotency_key),
            lambda_context=lambda_context,
        )

    def _create_once(self, tenant_id: str, request: CreateNoteRequest, key: str) -> Note:
        """The idempotent create, safe to run again for the same key.

        The idempotency record and the note are separate writes: a process that dies
        between them leaves the note committed and the record in progress, and once
        that expires the retry runs this again. Without a client id the note's id is
        derived from the key and the text, so the rerun finds its note instead of making
        a second (and the key reused with another text, once its record is gone, makes
        another note rather than answering with the old one).
        """
        if request.id is not None:
            return self._create(tenant_id, request.id, request.text)
        note_id = derived_id("note", tenant_id, key, request.text)
        try:
            # Not over a tombstone either: that would bring back a note deleted since.
            return self._create(tenant_id, note_id, request.text, over_tombstone=False)
        except NoteExistsError:
            stored = self._with_store(tenant_id, lambda store: store.get_note(note_id))
            if stored is None or stored.deleted:
                raise NoteExistsError(
                    "This request created its note already; it has been deleted since."
                ) from None
            return to_note(stored)

    def _create(
        self, tenant_id: str, note_id: str, text: str, *, over_tombstone: bool = True
    ) -> Note:
        write = PutNote(note_id, text, epoch_ms(self._clock), over_tombstone)
        committed = self._commit(tenant_id, lambda _meta: write)
        return Note(
            id=write.note_id,
            text=write.text,
            created=write.now_ms,
            updated=write.now_ms,
            version=committed.version,
        )

    def get(self, tenant_id: str, note_id: str) -> Note:
        """The live note; NotFoundError for unknown ids and deleted notes alike."""
        stored = self._with_store(tenant_id, lambda store: store.get_note(note_id))
        if stored is None or stored.deleted:
            raise NotFoundError("No such note.")
        return to_note(stored)

    def update(
        self,
        tenant_id: str,
        note_id: str,
        request: UpdateNoteRequest,
        if_version: int | None,
    ) -> Note:
        """Replace the text; VersionMismatchError (412) if `if_version` is given and stale."""
        check_text_size(request.text)
        write = EditNote(note_id, request.text, epoch_ms(self._clock), if_version)
        committed = self._commit(tenant_id, lambda _meta: write)
        stored = self._with_store(tenant_id, lambda store: store.get_note(note_id))
        created = stored.created if stored is not None else write.now_ms
        return Note(
            id=note_id,
            text=write.text,
            created=created,
            updated=write.now_ms,
            version=committed.version,
        )

    def delete(self, tenant_id: str, note_id: str, if_version: int | None) -> int:
        """Leave a tombstone that expires after the tombstone lifetime; returns its version."""
        now_ms = epoch_ms(self._clock)
        now_s = now_ms // 1000
        expires = tombstone_expiry(now_s, self._tombstone_days)

        def tombstone(meta: TenantMeta) -> NoteWrite:
            return TombstoneNote(
                note_id, now_ms, expires, ledger_change(meta, expires, now_s), if_version
            )

        return self._commit(tenant_id, tombstone).version

    def current_version(self, tenant_id: str) -> int:
        """The tenant's version now (0 before the first write)."""
        return self._with_store(tenant_id, lambda store: store.read_meta().version)

    def changes_since(
        self,
        tenant_id: str,
        since: int | None,
        *,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Changes:
        """The `changes` body for a client at `since` (None: it has nothing yet).

        Exact changes (since, to] when possible, else a snapshot of live notes;
        `more` when `limit` or `max_bytes` stopped it (sync again from `to`).
        """
        return self._page(tenant_id, since, limit, max_bytes, None).changes

    def _page(
        self,
        tenant_id: str,
        since: int | None,
        limit: int | None,
        max_bytes: int | None,
        snapshot_started_ms: int | None,
    ) -> SyncPage:
        return self._with_store(
            tenant_id,
            lambda store: changes_since(
                store,
                since,
                now_ms=epoch_ms(self._clock),
                tombstone_days=self._tombstone_days,
                limit=limit,
                max_bytes=max_bytes,
                snapshot_started_ms=snapshot_started_ms,
            ),
        )

    def committed_changes(self, tenant_id: str, after: int, through: int) -> Changes:
        """Changes (after, through] a tenant's stream reported committed (the fan-out's read)."""
        return self._with_store(
            tenant_id,
            lambda store: committed_changes(store, after, through),
        )

    def sync(self, tenant_id: str, query: SyncQuery) -> SyncResponse:
        """REST `/sync`: `changes_since` within a reply's size, continued through `cursor`."""
        since, started = query.since, None
        if query.cursor is not None:
            continuation = decode_sync_cursor(tenant_id, query.cursor)
            since, started = continuation.since, continuation.snapshot_started_ms
        page = self._page(tenant_id, since, query.limit, self._reply_bytes, started)
        cursor = encode_sync_cursor(tenant_id, page.continuation) if page.continuation else None
        changes = page.changes
        return SyncResponse(
            from_=changes.from_,
            to=changes.to,
            snapshot=changes.snapshot,
            items=changes.items,
            more=changes.more,
            cursor=cursor,
        )
