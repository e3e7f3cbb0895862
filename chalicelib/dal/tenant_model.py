"""What a tenant's partition holds, as its store hands it out and takes it in: documents,
the `meta` counter, and the writes a commit makes (chalicelib/dal/tenant_store.py keeps them).

Sort keys (DESIGN §3, §7): `meta`, `note#{id}` for the `notes` collection (the layout
notes have always had), `doc#{collection}#{id}` for every other collection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

META_SK = "meta"
NOTES_COLLECTION = "notes"
NOTE_SK_PREFIX = "note#"
DOC_SK_PREFIX = "doc#"
MAX_PAGE_SIZE = 100


class TenantGoneError(LookupError):
    """The tenant's table or its `meta` item does not exist (not provisioned yet, or deleted)."""


def collection_prefix(collection: str) -> str:
    """The sort-key prefix of a collection's documents."""
    if collection == NOTES_COLLECTION:
        return NOTE_SK_PREFIX
    return f"{DOC_SK_PREFIX}{collection}#"


def doc_sort_key(collection: str, doc_id: str) -> str:
    return collection_prefix(collection) + doc_id


def parse_sort_key(sort_key: str) -> tuple[str, str] | None:
    """(collection, id) of a document's sort key; None for anything else (`meta`)."""
    if sort_key.startswith(NOTE_SK_PREFIX):
        return NOTES_COLLECTION, sort_key.removeprefix(NOTE_SK_PREFIX)
    if sort_key.startswith(DOC_SK_PREFIX):
        collection, _, doc_id = sort_key.removeprefix(DOC_SK_PREFIX).partition("#")
        return collection, doc_id
    return None


@dataclass(frozen=True)
class DocKey:
    collection: str
    id: str


@dataclass(frozen=True)
class TenantMeta:
    """The `meta` item: the current version and the tombstone ledger (docs/sync.md)."""

    version: int
    tombstone_floor: int = 0
    # expiry day (epoch seconds // 86400) -> highest version tombstoned with an expiry that day
    tombstone_buckets: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredDoc:
    """A document as stored: live (`data` is its JSON text), or a tombstone (`deleted`,
    `expires` in epoch seconds, no data)."""

    collection: str
    id: str
    version: int
    data: str | None
    created: int
    updated: int
    deleted: bool = False
    expires: int | None = None

    @property
    def key(self) -> DocKey:
        return DocKey(self.collection, self.id)

    @property
    def live(self) -> bool:
        return not self.deleted


@dataclass(frozen=True)
class LedgerChange:
    """How a deletion moves the ledger: its bucket, and buckets folded into the floor."""

    bucket: int
    floor: int | None = None
    folded: tuple[int, ...] = ()


@dataclass(frozen=True)
class Absent:
    """The write needs no live document at its key (and no tombstone either unless
    `over_tombstone`): it creates one."""

    over_tombstone: bool = True


@dataclass(frozen=True)
class Live:
    """The write needs a live document at its key, at `version` when that is given."""

    version: int | None = None


Expectation = Absent | Live


@dataclass(frozen=True)
class DocWrite:
    """One document write: new data (`data`, JSON text), or a tombstone (`data` None,
    removable by TTL after `expires_s`). It applies only if `expect` holds."""

    key: DocKey
    now_ms: int
    expect: Expectation
    data: str | None = None
    expires_s: int | None = None

    @property
    def is_deletion(self) -> bool:
        return self.data is None


@dataclass(frozen=True)
class Commit:
    """Writes committed together, in order, as the next len(writes) versions; `ledger`
    records the deletions among them (the tombstone ledger)."""

    writes: tuple[DocWrite, ...]
    ledger: LedgerChange | None = None
    # Epoch ms until which the writer posts this commit to the tenant's connections itself
    # (the fast path's claim, read by the stream's fan-out from `meta`); 0: no claim.
    push_claim_ms: int = 0


class CommitOutcome(Enum):
    COMMITTED = "committed"
    STALE_VERSION = "stale_version"  # `meta` moved on (or a conflict): read it again and retry
    DOC_CONDITION = "doc_condition"  # a document is not in the state its write needs


@dataclass(frozen=True)
class CommitResult:
    outcome: CommitOutcome
    # With DOC_CONDITION: the index of the first write whose condition failed.
    refused: int | None = None
