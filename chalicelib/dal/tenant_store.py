"""One tenant's notes and version counter: its silo table, or its partition of the pool table.

Layout (DESIGN §3): pk = tenant id; sk = `meta` (the version counter and the
tombstone ledger) or `note#{id}`. Every write is one TransactWriteItems that
moves `meta` from version V to V+1 on the condition that it is still V, and
writes the note with version V+1, so versions are gap-free and in commit order.
The store is bound to one tenant id at construction; nothing here takes a
partition key from its caller.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.dal.items import TenantItem
from chalicelib.dal.tables import TableBinding
from chalicelib.errors import TenantStorageFullError

META_SK = "meta"
NOTE_SK_PREFIX = "note#"
MAX_PAGE_SIZE = 100

# Transaction cancellation reasons after which reading `meta` again and retrying can succeed.
_RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


class TenantGoneError(LookupError):
    """The tenant's table or its `meta` item does not exist (not provisioned yet, or deleted)."""


@dataclass(frozen=True)
class TenantMeta:
    """The `meta` item: the current version and the tombstone ledger (docs/sync.md)."""

    version: int
    tombstone_floor: int = 0
    # expiry day (epoch seconds // 86400) -> highest version tombstoned with an expiry that day
    tombstone_buckets: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredNote:
    """A note item as stored: live, or a tombstone (`deleted`, `expires` in epoch seconds)."""

    id: str
    version: int
    text: str | None
    created: int
    updated: int
    deleted: bool = False
    expires: int | None = None


@dataclass(frozen=True)
class LedgerChange:
    """How a deletion moves the ledger: its bucket, and buckets folded into the floor."""

    bucket: int
    floor: int | None = None
    folded: tuple[int, ...] = ()


@dataclass(frozen=True)
class PutNote:
    """Create a note; allowed where no note or only a tombstone has this id (no note at
    all without `over_tombstone`)."""

    note_id: str
    text: str
    now_ms: int
    over_tombstone: bool = True


@dataclass(frozen=True)
class EditNote:
    """Replace a live note's text, optionally only if it is still at `if_version`."""

    note_id: str
    text: str
    now_ms: int
    if_version: int | None = None


@dataclass(frozen=True)
class TombstoneNote:
    """Turn a live note into a tombstone that DynamoDB's TTL removes after `expires_s`."""

    note_id: str
    now_ms: int
    expires_s: int
    ledger: LedgerChange
    if_version: int | None = None


NoteWrite = PutNote | EditNote | TombstoneNote


class CommitOutcome(Enum):
    COMMITTED = "committed"
    STALE_VERSION = "stale_version"  # `meta` moved on (or a conflict): read it again and retry
    NOTE_CONDITION = "note_condition"  # the note is not in the state the write needs


class TenantStore(Protocol):
    """The data of one tenant (bound at construction)."""

    @property
    def tenant_id(self) -> str: ...

    def read_meta(self) -> TenantMeta:
        """The `meta` item, read consistently; TenantGoneError if it does not exist."""
        ...

    def initialise(self) -> None:
        """Write `meta` at version 0 unless it exists (the last step of provisioning)."""
        ...

    def commit(self, write: NoteWrite, expected_version: int) -> CommitOutcome:
        """Apply `write` as version `expected_version + 1` if `meta` is still `expected_version`."""
        ...

    def get_note(self, note_id: str) -> StoredNote | None:
        """The note or tombstone with this id, read consistently."""
        ...

    def live_notes_by_id(
        self, after_id: str | None, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[StoredNote]:
        """Live notes in id order, starting after `after_id`; read lazily, page by page
        (`page_size`: how many the caller expects to need, to read no more than that)."""
        ...

    def notes_by_version(
        self, after_version: int, *, live_only: bool, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[StoredNote]:
        """Notes (and tombstones unless `live_only`) with version > `after_version`, ascending."""
        ...

    def purge(self) -> int:
        """Delete every item of the tenant (pool mode's account deletion); returns the count."""
        ...


def _is_reason(error: PynamoDBException, code: str) -> bool:
    return getattr(error, "cause_response_code", None) == code


@contextlib.contextmanager
def _tenant_errors() -> Iterator[None]:
    """A missing silo table means the tenant is gone (or not created yet)."""
    try:
        yield
    except PynamoDBException as error:
        if _is_reason(error, "ResourceNotFoundException"):
            raise TenantGoneError("the tenant table does not exist") from error
        if _is_reason(error, "ItemCollectionSizeLimitExceededException"):
            raise TenantStorageFullError() from error
        raise


def _to_note(item: TenantItem) -> StoredNote:
    return StoredNote(
        id=item.sk.removeprefix(NOTE_SK_PREFIX),
        version=int(item.version),
        text=item.text,
        created=int(item.created or 0),
        updated=int(item.updated or 0),
        deleted=bool(item.deleted),
        expires=int(item.expires) if item.expires is not None else None,
    )


class DynamoTenantStore:
    """TenantStore on DynamoDB (PynamoDB); the same code for a silo table and the pool table."""

    def __init__(self, table: TableBinding, tenant_id: str) -> None:
        self._table = table
        self._tenant_id = tenant_id
        self._items = table.model(TenantItem)

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    @property
    def table_name(self) -> str:
        return self._table.table_name

    def _note_key(self, note_id: str) -> str:
        return NOTE_SK_PREFIX + note_id

    def read_meta(self) -> TenantMeta:
        with _tenant_errors():
            try:
                item = self._items.get(self._tenant_id, META_SK, consistent_read=True)
            except DoesNotExist:
                raise TenantGoneError("the tenant has no meta item") from None
        ledger = item.tombstone_buckets
        buckets = dict(ledger.attribute_values) if ledger is not None else {}
        return TenantMeta(
            version=int(item.version),
            tombstone_floor=int(item.tombstone_floor or 0),
            tombstone_buckets={int(day): int(version) for day, version in buckets.items()},
        )

    def initialise(self) -> None:
        items = self._items
        meta = items(self._tenant_id, META_SK, version=0, tombstone_floor=0, tombstone_buckets={})
        with _tenant_errors():
            try:
                meta.save(condition=items.pk.does_not_exist())
            except PutError as error:
                # A meta that exists already (another process finished first) is kept as it is.
                if not _is_reason(error, "ConditionalCheckFailedException"):
                    raise

    def commit(self, write: NoteWrite, expected_version: int) -> CommitOutcome:
        items = self._items
        version = expected_version + 1
        meta_actions: list[Action] = [items.version.set(version)]
        if isinstance(write, TombstoneNote):
            meta_actions.extend(self._ledger_actions(write.ledger, version))
        try:
            with _tenant_errors(), TransactWrite(connection=self._table.connection()) as tx:
                tx.update(
                    items(self._tenant_id, META_SK),
                    actions=meta_actions,
                    condition=items.version == expected_version,
                )
                self._write_note(tx, write, version)
        except TransactWriteError as error:
            return self._outcome_of(error)
        return CommitOutcome.COMMITTED

    def _ledger_actions(self, ledger: LedgerChange, version: int) -> list[Action]:
        buckets = self._items.tombstone_buckets
        # Later commits carry higher versions, so a plain SET keeps each bucket's maximum.
        actions: list[Action] = [buckets[str(ledger.bucket)].set(version)]
        if ledger.floor is not None:
            actions.append(self._items.tombstone_floor.set(ledger.floor))
        actions.extend(buckets[str(day)].remove() for day in ledger.folded)
        return actions

    def _write_note(self, tx: TransactWrite, write: NoteWrite, version: int) -> None:
        # Updates only (a create is an upsert): PynamoDB sends puts before updates, and
        # cancellation reasons are read by position, meta first.
        items = self._items
        note = items(self._tenant_id, self._note_key(write.note_id))
        if isinstance(write, PutNote):
            created: list[Action] = [
                items.version.set(version),
                items.text.set(write.text),
                items.created.set(write.now_ms),
                items.updated.set(write.now_ms),
                items.deleted.remove(),
                items.expires.remove(),
            ]
            condition = items.pk.does_not_exist()
            if write.over_tombstone:
                condition |= items.deleted == True  # noqa: E712
            tx.update(note, actions=created, condition=condition)
            return
        condition = items.pk.exists() & items.deleted.does_not_exist()
        if write.if_version is not None:
            condition &= items.version == write.if_version
        actions: list[Action] = [items.version.set(version), items.updated.set(write.now_ms)]
        if isinstance(write, EditNote):
            actions.append(items.text.set(write.text))
        else:
            actions.extend(
                [
                    items.deleted.set(True),
                    items.expires.set(write.expires_s),
                    items.text.remove(),
                ]
            )
        tx.update(note, actions=actions, condition=condition)

    @staticmethod
    def _outcome_of(error: TransactWriteError) -> CommitOutcome:
        reasons = [reason.code if reason else None for reason in error.cancellation_reasons or []]
        if not reasons:
            raise error
        if "ItemCollectionSizeLimitExceeded" in reasons:
            raise TenantStorageFullError() from error
        meta_reason = reasons[0]
        note_reason = reasons[1] if len(reasons) > 1 else None
        if meta_reason == "ConditionalCheckFailed" or meta_reason in _RETRYABLE_REASONS:
            return CommitOutcome.STALE_VERSION
        if note_reason in _RETRYABLE_REASONS:
            return CommitOutcome.STALE_VERSION
        if note_reason == "ConditionalCheckFailed":
            return CommitOutcome.NOTE_CONDITION
        raise error

    def get_note(self, note_id: str) -> StoredNote | None:
        with _tenant_errors():
            try:
                item = self._items.get(
                    self._tenant_id, self._note_key(note_id), consistent_read=True
                )
            except DoesNotExist:
                return None
        return _to_note(item)

    def live_notes_by_id(
        self, after_id: str | None, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[StoredNote]:
        items = self._items
        start: dict[str, dict[str, Any]] | None = None
        if after_id is not None:
            # The start key's partition is always this tenant's, whatever the cursor said.
            start = {"pk": {"S": self._tenant_id}, "sk": {"S": self._note_key(after_id)}}
        results = items.query(
            self._tenant_id,
            items.sk.startswith(NOTE_SK_PREFIX),
            filter_condition=items.deleted.does_not_exist(),
            consistent_read=True,
            last_evaluated_key=start,
            page_size=min(max(page_size, 1), MAX_PAGE_SIZE),
        )
        with _tenant_errors():
            for item in results:
                yield _to_note(item)

    def notes_by_version(
        self, after_version: int, *, live_only: bool, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[StoredNote]:
        items = self._items
        only_notes: Condition = items.sk.startswith(NOTE_SK_PREFIX)
        if live_only:
            only_notes &= items.deleted.does_not_exist()
        results = items.by_version.query(
            self._tenant_id,
            items.version > after_version,
            filter_condition=only_notes,
            consistent_read=True,
            scan_index_forward=True,
            page_size=min(max(page_size, 1), MAX_PAGE_SIZE),
        )
        with _tenant_errors():
            for item in results:
                yield _to_note(item)

    def purge(self) -> int:
        items = self._items
        deleted = 0
        with _tenant_errors():
            while True:
                keys = list(
                    items.query(
                        self._tenant_id,
                        consistent_read=True,
                        attributes_to_get=["pk", "sk"],
                        limit=500,
                    )
                )
                if not keys:
                    return deleted
                with items.batch_write() as batch:
                    for item in keys:
                        batch.delete(item)
                deleted += len(keys)
