"""One tenant's documents and version counter: its silo table, or its partition of the pool table.

Layout (DESIGN §3, §7): pk = tenant id; sk = `meta` (the version counter and the
tombstone ledger), `note#{id}` for the `notes` collection (the layout notes have
always had, so notes written before collections existed are documents of it as
they are) or `doc#{collection}#{id}` for every other collection. A document's
data is stored as its JSON text, which round-trips exactly.

Every write is one TransactWriteItems that moves `meta` from version V to V+n
on the condition that it is still V, and writes its n documents with versions
V+1 .. V+n, so versions are gap-free and in commit order. The store is bound to
one tenant id at construction; nothing here takes a partition key from its caller.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.dal.items import TenantItem
from chalicelib.dal.tables import TableBinding
from chalicelib.dal.tenant_model import (
    DOC_SK_PREFIX,
    MAX_PAGE_SIZE,
    META_SK,
    NOTE_SK_PREFIX,
    NOTES_COLLECTION,
    Absent,
    Commit,
    CommitOutcome,
    CommitResult,
    DocKey,
    DocWrite,
    Expectation,
    LedgerChange,
    Live,
    StoredDoc,
    TenantGoneError,
    TenantMeta,
    collection_prefix,
    doc_sort_key,
    parse_sort_key,
)
from chalicelib.errors import TenantStorageFullError

__all__ = [
    "DOC_SK_PREFIX",
    "MAX_PAGE_SIZE",
    "META_SK",
    "NOTES_COLLECTION",
    "NOTE_SK_PREFIX",
    "Absent",
    "Commit",
    "CommitOutcome",
    "CommitResult",
    "DocKey",
    "DocWrite",
    "DynamoTenantStore",
    "Expectation",
    "LedgerChange",
    "Live",
    "StoredDoc",
    "TenantGoneError",
    "TenantMeta",
    "TenantStore",
    "collection_prefix",
    "doc_sort_key",
    "parse_sort_key",
]

# BatchGetItem reads at most 100 keys a request.
_BATCH_GET_KEYS = 100
# Transaction cancellation reasons after which reading `meta` again and retrying can succeed.
_RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


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

    def commit(self, commit: Commit, expected_version: int) -> CommitResult:
        """Apply `commit`'s writes as versions expected_version+1.. if `meta` is still
        `expected_version` and every write's expectation holds; else nothing."""
        ...

    def get_doc(self, key: DocKey) -> StoredDoc | None:
        """The document or tombstone with this key, read consistently."""
        ...

    def get_docs(self, keys: Iterable[DocKey]) -> dict[DocKey, StoredDoc]:
        """Several documents or tombstones at once (consistent); absent keys are left out."""
        ...

    def live_docs(
        self, collection: str, after_id: str | None, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[StoredDoc]:
        """A collection's live documents in id order, starting after `after_id`; read lazily,
        page by page (`page_size`: how many the caller expects to need)."""
        ...

    def docs_by_version(
        self,
        after_version: int,
        *,
        live_only: bool,
        collections: frozenset[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[StoredDoc]:
        """Documents (and tombstones unless `live_only`) with version > `after_version`,
        ascending; only those of `collections` when given."""
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


def _stored_data(item: TenantItem) -> str | None:
    if item.deleted:
        return None
    if item.data is not None:
        return str(item.data)
    # A note written before collections existed keeps its text in `text`.
    return json.dumps({"text": item.text or ""}, ensure_ascii=False, separators=(",", ":"))


def _to_doc(item: TenantItem) -> StoredDoc | None:
    parsed = parse_sort_key(str(item.sk))
    if parsed is None:
        return None
    collection, doc_id = parsed
    return StoredDoc(
        collection=collection,
        id=doc_id,
        version=int(item.version),
        data=_stored_data(item),
        created=int(item.created or 0),
        updated=int(item.updated or 0),
        deleted=bool(item.deleted),
        expires=int(item.expires) if item.expires is not None else None,
    )


def _docs(items: Iterable[TenantItem]) -> Iterator[StoredDoc]:
    for item in items:
        doc = _to_doc(item)
        if doc is not None:
            yield doc


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

    def commit(self, commit: Commit, expected_version: int) -> CommitResult:
        items = self._items
        last_version = expected_version + len(commit.writes)
        meta_actions: list[Action] = [items.version.set(last_version)]
        if commit.ledger is not None:
            meta_actions.extend(self._ledger_actions(commit.ledger, last_version))
        if commit.push_claim_ms:
            meta_actions.append(items.push_claim.set(commit.push_claim_ms))
        try:
            with _tenant_errors(), TransactWrite(connection=self._table.connection()) as tx:
                tx.update(
                    items(self._tenant_id, META_SK),
                    actions=meta_actions,
                    condition=items.version == expected_version,
                )
                for offset, write in enumerate(commit.writes, start=1):
                    self._write_doc(tx, write, expected_version + offset)
        except TransactWriteError as error:
            return self._outcome_of(error)
        return CommitResult(CommitOutcome.COMMITTED)

    def _ledger_actions(self, ledger: LedgerChange, version: int) -> list[Action]:
        buckets = self._items.tombstone_buckets
        # Later commits carry higher versions, so a plain SET keeps each bucket's maximum.
        actions: list[Action] = [buckets[str(ledger.bucket)].set(version)]
        if ledger.floor is not None:
            actions.append(self._items.tombstone_floor.set(ledger.floor))
        actions.extend(buckets[str(day)].remove() for day in ledger.folded)
        return actions

    def _write_doc(self, tx: TransactWrite, write: DocWrite, version: int) -> None:
        # Updates only (a create is an upsert): PynamoDB sends puts before updates, and
        # cancellation reasons are read by position, meta first.
        items = self._items
        doc = items(self._tenant_id, doc_sort_key(write.key.collection, write.key.id))
        expect = write.expect
        condition: Condition
        if isinstance(expect, Absent):
            condition = items.pk.does_not_exist()
            if expect.over_tombstone:
                condition |= items.deleted == True  # noqa: E712
        else:
            condition = items.pk.exists() & items.deleted.does_not_exist()
            if expect.version is not None:
                condition &= items.version == expect.version
        actions: list[Action] = [
            items.version.set(version),
            items.updated.set(write.now_ms),
            # Notes written before collections kept their text here; data replaces it.
            items.text.remove(),
        ]
        if write.data is None:
            assert write.expires_s is not None, "a tombstone expires"
            actions += [
                items.deleted.set(True),
                items.expires.set(write.expires_s),
                items.data.remove(),
            ]
        else:
            actions += [items.data.set(write.data), items.deleted.remove(), items.expires.remove()]
            if isinstance(expect, Absent):
                actions.append(items.created.set(write.now_ms))
        tx.update(doc, actions=actions, condition=condition)

    @staticmethod
    def _outcome_of(error: TransactWriteError) -> CommitResult:
        reasons = [reason.code if reason else None for reason in error.cancellation_reasons or []]
        if not reasons:
            raise error
        if "ItemCollectionSizeLimitExceeded" in reasons:
            raise TenantStorageFullError() from error
        if reasons[0] == "ConditionalCheckFailed" or any(r in _RETRYABLE_REASONS for r in reasons):
            return CommitResult(CommitOutcome.STALE_VERSION)
        for index, reason in enumerate(reasons[1:]):
            if reason == "ConditionalCheckFailed":
                return CommitResult(CommitOutcome.DOC_CONDITION, refused=index)
        raise error

    def get_doc(self, key: DocKey) -> StoredDoc | None:
        with _tenant_errors():
            try:
                item = self._items.get(
                    self._tenant_id, doc_sort_key(key.collection, key.id), consistent_read=True
                )
            except DoesNotExist:
                return None
        return _to_doc(item)

    def get_docs(self, keys: Iterable[DocKey]) -> dict[DocKey, StoredDoc]:
        wanted = list(dict.fromkeys(keys))
        found: dict[DocKey, StoredDoc] = {}
        with _tenant_errors():
            for start in range(0, len(wanted), _BATCH_GET_KEYS):
                chunk = wanted[start : start + _BATCH_GET_KEYS]
                pairs = [(self._tenant_id, doc_sort_key(k.collection, k.id)) for k in chunk]
                for doc in _docs(self._items.batch_get(pairs, consistent_read=True)):
                    found[doc.key] = doc
        return found

    def live_docs(
        self, collection: str, after_id: str | None, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[StoredDoc]:
        items = self._items
        start: dict[str, dict[str, Any]] | None = None
        if after_id is not None:
            # The start key's partition is always this tenant's, whatever the cursor said.
            start = {"pk": {"S": self._tenant_id}, "sk": {"S": doc_sort_key(collection, after_id)}}
        results = items.query(
            self._tenant_id,
            items.sk.startswith(collection_prefix(collection)),
            filter_condition=items.deleted.does_not_exist(),
            consistent_read=True,
            last_evaluated_key=start,
            page_size=min(max(page_size, 1), MAX_PAGE_SIZE),
        )
        with _tenant_errors():
            yield from _docs(results)

    def docs_by_version(
        self,
        after_version: int,
        *,
        live_only: bool,
        collections: frozenset[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[StoredDoc]:
        items = self._items
        wanted: Condition = self._in_collections(collections)
        if live_only:
            wanted &= items.deleted.does_not_exist()
        results = items.by_version.query(
            self._tenant_id,
            items.version > after_version,
            filter_condition=wanted,
            consistent_read=True,
            scan_index_forward=True,
            page_size=min(max(page_size, 1), MAX_PAGE_SIZE),
        )
        with _tenant_errors():
            yield from _docs(results)

    def _in_collections(self, collections: frozenset[str] | None) -> Condition:
        """Documents only (not `meta`), of `collections` when given."""
        sk = self._items.sk
        if collections is None:
            documents: Condition = sk.startswith(NOTE_SK_PREFIX) | sk.startswith(DOC_SK_PREFIX)
            return documents
        prefixes = sorted(collection_prefix(name) for name in collections)
        if not prefixes:
            raise ValueError("follow at least one collection")
        condition: Condition = sk.startswith(prefixes[0])
        for prefix in prefixes[1:]:
            condition |= sk.startswith(prefix)
        return condition

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
