"""The TenantStore contract (documents of collections, the version counter, tombstones), run
against every backend by one parametrised fixture.

Backends: the in-memory fake, moto (silo and pool tables), AWS's DynamoDB Local
(silo tables; skipped where Java or the jar is missing) and LocalStack (silo tables, in the
LocalStack pass: tests/support/localstack.py). Guarantees that
depend on DynamoDB serialising concurrent transactions are proved on DynamoDB
Local only (FACTS.md: moto does not always serialise them).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.dal.items import TTL_ATTRIBUTE, TenantItem
from chalicelib.dal.schema import create_tables, table_definition
from chalicelib.dal.tables import POOL_TENANTS_SUFFIX
from chalicelib.dal.tenant_store import (
    Absent,
    Commit,
    CommitOutcome,
    CommitResult,
    DocKey,
    DocWrite,
    LedgerChange,
    Live,
    TenantGoneError,
    TenantMeta,
    TenantStore,
)
from chalicelib.dal.tenant_tables import PoolTenantTables, SiloTenantTables
from chalicelib.logic.collections import parse_declarations
from chalicelib.logic.documents import DocumentService
from chalicelib.logic.feed import DocumentFeed
from chalicelib.logic.sync import changes_since
from chalicelib.logic.tenant_writes import TenantWriter
from chalicelib.logic.tokens import new_id
from chalicelib.logic.tombstones import DAY_SECONDS
from chalicelib.logic.versions import commit_next_version
from chalicelib.settings import Settings, Tenancy
from tests.support.fakes import FakeClock, InMemoryTenantStore

# DynamoDB Local and LocalStack come from the session fixtures `dynamodb_local` and
# `localstack_dynamodb` (tests/support/), which skip when they cannot run (and fail in CI).
BACKENDS: list[Any] = [
    "memory",
    "moto-silo",
    "moto-pool",
    pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local),
    pytest.param("localstack", marks=pytest.mark.localstack),
]

TOMBSTONE_DAYS = 7


@dataclass
class Backend:
    name: str
    new_store: Callable[[], TenantStore]

    @property
    def serialises_concurrent_transactions(self) -> bool:
        return not self.name.startswith("moto")

    @property
    def write_scale(self) -> int:
        """Divides the size of the bulk tests: moto deep-copies the whole table on every
        TransactWriteItems, so its writes cost O(table size) and 1,000 take minutes."""
        return 10 if self.name.startswith("moto") else 1


def _dynamodb_backend(name: str, settings: Settings) -> Backend:
    client = boto3.client(
        "dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region
    )
    if settings.tenancy is Tenancy.POOL:
        pool_table = settings.table_name(POOL_TENANTS_SUFFIX)
        create_tables(client, [table_definition(TenantItem, pool_table, TTL_ATTRIBUTE)])
        pool = PoolTenantTables(settings, client)

        def new_pool_store() -> TenantStore:
            store = pool.store(new_id("usr"))
            store.initialise()
            return store

        return Backend(name, new_pool_store)
    silo = SiloTenantTables(settings, client)

    def new_silo_store() -> TenantStore:
        tenant_id = new_id("usr")
        silo.create(tenant_id)
        silo.wait_active(tenant_id, 30)
        silo.enable_ttl(tenant_id)
        store = silo.store(tenant_id)
        store.initialise()
        return store

    return Backend(name, new_silo_store)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    prefix = f"contract-{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        yield Backend("memory", lambda: _initialised(InMemoryTenantStore(new_id("usr"))))
    elif request.param in ("dynamodb-local", "localstack"):
        server = request.getfixturevalue(
            "dynamodb_local" if request.param == "dynamodb-local" else "localstack_dynamodb"
        )
        settings = Settings(table_prefix=prefix, dynamodb_endpoint=server.endpoint)
        yield _dynamodb_backend(request.param, settings)
    else:
        tenancy = Tenancy.POOL if request.param == "moto-pool" else Tenancy.SILO
        with mock_aws():
            settings = Settings(table_prefix=prefix, tenancy=tenancy, dynamodb_endpoint=None)
            yield _dynamodb_backend(request.param, settings)


def _initialised(store: InMemoryTenantStore) -> TenantStore:
    store.initialise()
    return store


class DirectTenants:
    """TenantAccess for one ready store (the contract is about the store, not provisioning)."""

    def __init__(self, store: TenantStore) -> None:
        self.store = store

    def open(self, tenant_id: str) -> TenantStore:
        assert tenant_id == self.store.tenant_id
        return self.store

    def recover(self, tenant_id: str) -> TenantStore:
        return self.open(tenant_id)


class NoIdempotency:
    def once(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used by these tests")


COLLECTIONS = parse_declarations(
    '{"collections": {"notes": {"schema": {"type": "object"}}, '
    '"todos": {"schema": {"type": "object"}}}}',
    "test",
)


def _services(store: TenantStore, clock: FakeClock) -> tuple[DocumentService, DocumentFeed]:
    writer = TenantWriter(DirectTenants(store), pause=lambda attempt: None)
    documents = DocumentService(
        writer, COLLECTIONS, NoIdempotency(), clock, tombstone_days=TOMBSTONE_DAYS
    )
    feed = DocumentFeed(writer, COLLECTIONS, clock, tombstone_days=TOMBSTONE_DAYS)
    return documents, feed


def _key(doc_id: str, collection: str = "notes") -> DocKey:
    return DocKey(collection, doc_id)


def _data(text: str) -> str:
    return json.dumps({"text": text})


def _put(doc_id: str, text: str = "t", collection: str = "notes") -> Commit:
    return Commit(writes=(DocWrite(_key(doc_id, collection), 1_000, Absent(), data=_data(text)),))


def _edit(doc_id: str, text: str, now_ms: int = 1, version: int | None = None) -> Commit:
    return Commit(writes=(DocWrite(_key(doc_id), now_ms, Live(version), data=_data(text)),))


def _delete(
    doc_id: str, expires_s: int, ledger: LedgerChange, version: int | None = None
) -> Commit:
    write = DocWrite(_key(doc_id), 1, Live(version), expires_s=expires_s)
    return Commit(writes=(write,), ledger=ledger)


def _doc_id() -> str:
    return new_id("note")


COMMITTED = CommitResult(CommitOutcome.COMMITTED)


def _text(data: str | None) -> str | None:
    return None if data is None else json.loads(data)["text"]


# ---- the counter and the document conditions ----


def test_a_new_tenant_is_at_version_zero_with_nothing_in_it(backend):
    # Given a provisioned tenant
    store = backend.new_store()
    # Then its meta is at version 0 and it has no documents
    assert store.read_meta() == TenantMeta(version=0)
    assert list(store.docs_by_version(0, live_only=False)) == []
    assert list(store.live_docs("notes", None)) == []


def test_initialise_keeps_an_existing_meta(backend):
    # Given a tenant with one write
    store = backend.new_store()
    assert store.commit(_put(_doc_id()), 0) == COMMITTED
    # When provisioning finishes again (another process)
    store.initialise()
    # Then the counter is not reset
    assert store.read_meta().version == 1


def test_each_commit_takes_the_next_version(backend):
    # Given a tenant
    store = backend.new_store()
    first, second = _doc_id(), _doc_id()
    # When two documents are created and the first is edited
    assert store.commit(_put(first, "a"), 0) == COMMITTED
    assert store.commit(_put(second, "b"), 1) == COMMITTED
    assert store.commit(_edit(first, "a2", 2_000), 2) == COMMITTED
    # Then versions follow commits, and each document carries the version of its last write
    assert store.read_meta().version == 3
    changed = list(store.docs_by_version(0, live_only=False))
    assert [(d.id, d.version, _text(d.data)) for d in changed] == [
        (second, 2, "b"),
        (first, 3, "a2"),
    ]
    edited = store.get_doc(_key(first))
    assert edited is not None
    assert (edited.created, edited.updated) == (1_000, 2_000)


def test_a_commit_of_several_writes_takes_consecutive_versions_or_nothing(backend):
    # Given a tenant with one live document
    store = backend.new_store()
    kept = _doc_id()
    store.commit(_put(kept, "k"), 0)
    a, b = _doc_id(), _doc_id()
    writes = (
        DocWrite(_key(a), 5, Absent(), data=_data("a")),
        DocWrite(_key(b, "todos"), 5, Absent(), data='{"x": 1}'),
        DocWrite(_key(kept), 5, Live(1), data=_data("k2")),
    )
    # When three writes commit together
    assert store.commit(Commit(writes=writes), 1) == COMMITTED
    # Then they took versions 2, 3 and 4 in their order, and the tenant is at 4
    assert store.read_meta().version == 4
    assert [(d.collection, d.id, d.version) for d in store.docs_by_version(1, live_only=False)] == [
        ("notes", a, 2),
        ("todos", b, 3),
        ("notes", kept, 4),
    ]
    # When a commit's third write is refused (its document is not at version 1 any more)
    c = _doc_id()
    refused = Commit(
        writes=(
            DocWrite(_key(c), 6, Absent(), data=_data("c")),
            DocWrite(_key(a), 6, Live(), expires_s=DAY_SECONDS),
            DocWrite(_key(kept), 6, Live(1), data=_data("k3")),
        ),
        ledger=LedgerChange(bucket=1),
    )
    # Then the store names the refused write, and nothing of the commit was written
    assert store.commit(refused, 4) == CommitResult(CommitOutcome.DOC_CONDITION, refused=2)
    assert store.read_meta() == TenantMeta(version=4)
    assert store.get_doc(_key(c)) is None
    a_doc = store.get_doc(_key(a))
    assert a_doc is not None and a_doc.live


def test_collections_keep_their_documents_apart(backend):
    # Given the same id in two collections
    store = backend.new_store()
    store.commit(_put("same", "note", "notes"), 0)
    store.commit(_put("same", "todo", "todos"), 1)
    store.commit(_put("other", "todo2", "todos"), 2)
    # Then each collection lists and reads its own
    assert [_text(d.data) for d in store.live_docs("notes", None)] == ["note"]
    assert [d.id for d in store.live_docs("todos", None)] == ["other", "same"]
    note = store.get_doc(_key("same", "notes"))
    todo = store.get_doc(_key("same", "todos"))
    assert note is not None and todo is not None
    assert (_text(note.data), _text(todo.data)) == ("note", "todo")
    assert store.get_doc(_key("same", "settings")) is None
    # And changes can be read for some collections only
    only = store.docs_by_version(0, live_only=False, collections=frozenset({"todos"}))
    assert [(d.collection, d.version) for d in only] == [("todos", 2), ("todos", 3)]
    # And several documents are read at once, absent ones left out
    keys = [_key("same", "notes"), _key("same", "todos"), _key("none", "notes")]
    found = store.get_docs(keys)
    assert set(found) == set(keys[:2])


def test_data_round_trips_exactly(backend):
    store = backend.new_store()
    data = json.dumps(
        {
            "s": "ünïcödé ✓ 𝄞 \u0000 \n",
            "big": 2**53,
            "neg": -(2**53),
            "f": 0.1,
            "e": 1e-7,
            "huge": 1.7976931348623157e308,
            "z": -0.0,
            "n": None,
            "b": [True, False],
            "nested": {"a": [[], {}, [1, [2, [3]]]]},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    store.commit(Commit(writes=(DocWrite(_key("x", "todos"), 1, Absent(), data=data),)), 0)
    stored = store.get_doc(_key("x", "todos"))
    assert stored is not None and stored.data == data
    assert json.loads(stored.data) == json.loads(data)


def test_a_stale_expected_version_writes_nothing(backend):
    # Given a tenant at version 1
    store = backend.new_store()
    store.commit(_put(_doc_id()), 0)
    late = _doc_id()
    # When a write still expects version 0
    outcome = store.commit(_put(late), 0)
    # Then it is refused as stale and neither meta nor the document changed
    assert outcome.outcome is CommitOutcome.STALE_VERSION
    assert store.read_meta().version == 1
    assert store.get_doc(_key(late)) is None


def test_document_conditions(backend):
    # Given a live document at version 1
    store = backend.new_store()
    doc_id = _doc_id()
    store.commit(_put(doc_id), 0)
    refused = CommitResult(CommitOutcome.DOC_CONDITION, refused=0)
    # Then creating it again, editing at a stale version, or touching a missing one is refused
    assert store.commit(_put(doc_id), 1) == refused
    assert store.commit(_edit(doc_id, "x", version=7), 1) == refused
    assert store.commit(_edit(_doc_id(), "x"), 1) == refused
    # And the refused writes did not move the counter
    assert store.read_meta().version == 1
    # While an edit at the current version passes
    assert store.commit(_edit(doc_id, "x", version=1), 1) == COMMITTED


def test_a_tombstone_keeps_id_and_version_drops_data_and_can_be_recreated(backend):
    # Given a live document
    store = backend.new_store()
    doc_id = _doc_id()
    store.commit(_put(doc_id, "secret"), 0)
    # When it is deleted
    tombstone = _delete(doc_id, 99 * DAY_SECONDS, LedgerChange(bucket=99))
    assert store.commit(tombstone, 1) == COMMITTED
    # Then a tombstone remains: version 2, deleted, expiring, without its data
    stored = store.get_doc(_key(doc_id))
    assert stored is not None
    assert (stored.version, stored.deleted, stored.expires, stored.data) == (
        2,
        True,
        99 * DAY_SECONDS,
        None,
    )
    assert list(store.live_docs("notes", None)) == []
    assert store.read_meta().tombstone_buckets == {99: 2}
    # And it cannot be edited or deleted again, nor replaced by a create that wants no
    # document at all there, but the id can be used anew
    refused = CommitResult(CommitOutcome.DOC_CONDITION, refused=0)
    assert store.commit(_edit(doc_id, "x"), 2) == refused
    assert store.commit(tombstone, 2) == refused
    fresh_only = DocWrite(_key(doc_id), 1_000, Absent(over_tombstone=False), data=_data("again"))
    assert store.commit(Commit(writes=(fresh_only,)), 2) == refused
    assert store.commit(_put(doc_id, "again"), 2) == COMMITTED
    recreated = store.get_doc(_key(doc_id))
    assert recreated is not None
    assert (recreated.deleted, recreated.expires, _text(recreated.data)) == (False, None, "again")


def test_the_ledger_folds_begun_days_into_the_floor(backend):
    # Given tombstones in buckets 10 and 11
    store = backend.new_store()
    ids = [_doc_id() for _ in range(3)]
    for version, doc_id in enumerate(ids):
        store.commit(_put(doc_id), version)
    store.commit(_delete(ids[0], 10 * DAY_SECONDS, LedgerChange(bucket=10)), 3)
    store.commit(_delete(ids[1], 11 * DAY_SECONDS, LedgerChange(bucket=11)), 4)
    # When a later deletion folds bucket 10 into the floor
    fold = LedgerChange(bucket=12, floor=4, folded=(10,))
    store.commit(_delete(ids[2], 12 * DAY_SECONDS, fold), 5)
    # Then meta holds the floor and the remaining buckets
    meta = store.read_meta()
    assert (meta.version, meta.tombstone_floor, dict(meta.tombstone_buckets)) == (
        6,
        4,
        {11: 5, 12: 6},
    )


def test_live_docs_resumes_after_an_id(backend):
    # Given five documents, one of them deleted
    store = backend.new_store()
    ids = sorted(_doc_id() for _ in range(5))
    for version, doc_id in enumerate(ids):
        store.commit(_put(doc_id), version)
    store.commit(_delete(ids[2], DAY_SECONDS, LedgerChange(bucket=1)), 5)
    # When listing from the start and after the second id
    # Then live documents come in id order, tombstones skipped
    assert [d.id for d in store.live_docs("notes", None)] == [ids[0], ids[1], ids[3], ids[4]]
    assert [d.id for d in store.live_docs("notes", ids[1])] == [ids[3], ids[4]]


def test_purge_leaves_nothing(backend):
    # Given a tenant with documents and a tombstone
    store = backend.new_store()
    ids = [_doc_id() for _ in range(3)]
    for version, doc_id in enumerate(ids):
        store.commit(_put(doc_id), version)
    store.commit(_delete(ids[0], DAY_SECONDS, LedgerChange(bucket=1)), 3)
    # When it is purged
    assert store.purge() == 4
    # Then it has no meta and no items
    with pytest.raises(TenantGoneError):
        store.read_meta()
    assert list(store.docs_by_version(0, live_only=False)) == []


# ---- concurrency ----


class InterleavedStore:
    """A store through which writer A's first commit lands just after writer B committed."""

    def __init__(self, store: TenantStore, other_writer: Callable[[], None]) -> None:
        self._store = store
        self._other_writer: Callable[[], None] | None = other_writer
        self.outcomes: list[CommitOutcome] = []

    @property
    def tenant_id(self) -> str:
        return self._store.tenant_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def commit(self, commit: Commit, expected_version: int) -> CommitResult:
        if self._other_writer is not None:
            other, self._other_writer = self._other_writer, None
            other()
        result = self._store.commit(commit, expected_version)
        self.outcomes.append(result.outcome)
        return result


def test_a_writer_that_loses_the_race_retries_on_the_next_version(backend):
    # Given writer A that read meta at version 0, and writer B that commits before A does
    store = backend.new_store()
    a_id, b_id = _doc_id(), _doc_id()

    def writer_b() -> None:
        assert store.commit(_put(b_id, "b"), 0) == COMMITTED

    interleaved = InterleavedStore(store, writer_b)
    # When A commits through the retry loop
    committed = commit_next_version(
        interleaved, lambda meta: _put(a_id, "a"), lambda c, i: None, pause=lambda n: None
    )
    # Then A's first attempt was refused as stale and its retry took version 2
    assert interleaved.outcomes == [CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED]
    assert committed.version == 2
    versions = {d.id: d.version for d in store.docs_by_version(0, live_only=False)}
    assert versions == {b_id: 1, a_id: 2}


def test_concurrent_writers_get_unique_gap_free_versions_in_commit_order(backend):
    if not backend.serialises_concurrent_transactions:
        pytest.skip("moto does not always serialise concurrent conditional transactions")
    # Given one tenant and 20 writers, each creating 3 documents at the same time
    store = backend.new_store()
    writers, per_writer = 20, 3
    start = threading.Barrier(writers)
    results: list[tuple[int, float, float, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        try:
            start.wait(timeout=30)
            for _ in range(per_writer):
                doc_id = _doc_id()
                commit = _put(doc_id)
                began = time.monotonic()
                committed = commit_next_version(
                    store,
                    lambda meta, commit=commit: commit,  # type: ignore[misc]
                    lambda c, i: None,
                    pause=lambda attempt: time.sleep(
                        random.uniform(0, 0.002 * 2 ** min(attempt, 5))
                    ),
                )
                ended = time.monotonic()
                with lock:
                    results.append((committed.version, began, ended, doc_id))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Then every write got its own version, 1..60 without a gap
    assert not errors
    versions = sorted(version for version, *_ in results)
    assert versions == list(range(1, writers * per_writer + 1))
    assert store.read_meta().version == writers * per_writer
    # And each document is stored with the version its writer was told
    stored = {d.id: d.version for d in store.docs_by_version(0, live_only=False)}
    assert stored == {doc_id: version for version, _, _, doc_id in results}
    # And a write that finished before another began has the lower version (commit order)
    for v1, _, ended1, _ in results:
        for v2, began2, _, _ in results:
            if ended1 < began2:
                assert v1 < v2


# ---- sync over the store ----


def _replay(changes_items: list[Any], state: dict[Any, Any]) -> None:
    for item in changes_items:
        key = (item["collection"], item["id"])
        if item.get("deleted"):
            state.pop(key, None)
        else:
            state[key] = item


def _pull(
    store: TenantStore,
    clock: FakeClock,
    since: int | None,
    limit: int,
    *,
    held: dict[Any, Any] | None = None,
    collections: frozenset[str] | None = None,
) -> tuple[dict[Any, Any], int]:
    """A client holding `held` at cursor `since`, catching up in parts of `limit`."""
    state: dict[Any, Any] = dict(held or {})
    snapshot_started: int | None = None
    cursor = since
    for _ in range(10_000):
        page = changes_since(
            store,
            cursor,
            now_ms=int(clock.now() * 1000),
            tombstone_days=TOMBSTONE_DAYS,
            limit=limit,
            snapshot_started_ms=snapshot_started,
            collections=collections,
        )
        changes = page.changes
        if changes.snapshot:
            state = {}
        _replay(changes.items, state)
        cursor = changes.to
        if not changes.more:
            return state, cursor
        assert page.continuation is not None
        snapshot_started = page.continuation.snapshot_started_ms
    raise AssertionError("sync did not finish")


def _live(store: TenantStore, collection: str) -> dict[Any, tuple[Any, int]]:
    return {
        (collection, d.id): (json.loads(d.data or "{}"), d.version)
        for d in store.live_docs(collection, None)
    }


def _held(state: dict[Any, Any]) -> dict[Any, tuple[Any, int]]:
    return {key: (item["data"], item["version"]) for key, item in state.items()}


def test_sync_after_1000_writes_with_300_deletes_returns_exactly_the_live_documents(backend):
    # Given 500 creates (two collections), 200 edits and 300 deletes, with a client that
    # synced half-way (a tenth of that on moto: see Backend.write_scale)
    store = backend.new_store()
    clock = FakeClock()
    documents, _ = _services(store, clock)
    tenant = store.tenant_id
    rng = random.Random(7)
    creates, edits, deletes = (count // backend.write_scale for count in (500, 200, 300))
    keys: list[tuple[str, str]] = []
    for index in range(creates):
        collection = "todos" if index % 3 == 0 else "notes"
        doc = documents.create(tenant, collection, {"text": f"n{index}"})
        keys.append((collection, doc.id))
        if index == creates // 2:
            midway_state, midway_cursor = _pull(store, clock, 0, 1000)
    for collection, doc_id in rng.sample(keys, edits):
        documents.patch(tenant, collection, doc_id, {"text": f"edited {doc_id}", "n": 1})
    deleted = set(rng.sample(keys, deletes))
    for collection, doc_id in deleted:
        documents.delete(tenant, collection, doc_id)
    total = creates + edits + deletes
    assert store.read_meta().version == total
    expected = {**_live(store, "notes"), **_live(store, "todos")}
    assert set(expected) == set(keys) - deleted
    # When a new client takes a snapshot, an old client catches up from version 0 in
    # small parts, the half-way client catches up from its cursor, and a client that
    # follows only todos catches up from 0
    snapshot = changes_since(store, None, now_ms=int(clock.now() * 1000), tombstone_days=7)
    from_zero, zero_cursor = _pull(store, clock, 0, 37)
    midway_state, _ = _pull(store, clock, midway_cursor, 50, held=midway_state)
    todos, todos_cursor = _pull(store, clock, 0, 29, collections=frozenset({"todos"}))
    # Then each of them holds exactly the live documents (of what it follows), latest state
    snapshot_state: dict[Any, Any] = {}
    _replay(snapshot.changes.items, snapshot_state)
    assert snapshot.changes.snapshot
    assert _held(snapshot_state) == expected
    assert _held(from_zero) == expected
    assert zero_cursor == total
    assert _held(midway_state) == expected
    assert _held(todos) == _live(store, "todos")
    assert todos_cursor == total


def test_expired_tombstones_turn_a_stale_cursor_into_a_snapshot(backend):
    # Given three documents, a client at their version, then one deletion
    store = backend.new_store()
    clock = FakeClock()
    documents, feed = _services(store, clock)
    tenant = store.tenant_id
    ids = [documents.create(tenant, "notes", {"text": str(i)}).id for i in range(3)]
    client_cursor = store.read_meta().version
    documents.delete(tenant, "notes", ids[0])
    # When the client syncs within the tombstone lifetime
    fresh = feed.changes_since(tenant, client_cursor)
    # Then it gets the deletion as a change
    assert (fresh.snapshot, fresh.from_, fresh.to) == (False, 3, 4)
    assert [(i["id"], i.get("deleted")) for i in fresh.items] == [(ids[0], True)]
    # When the tombstone's expiry has passed (whether or not TTL removed it yet)
    clock.advance(TOMBSTONE_DAYS * DAY_SECONDS + 1)
    if isinstance(store, InMemoryTenantStore):
        store.expire(int(clock.now()))
    late = feed.changes_since(tenant, client_cursor)
    # Then the client gets a snapshot of the live documents instead
    assert late.snapshot
    assert sorted(i["id"] for i in late.items) == sorted(ids[1:])
    assert late.to == 4
    # And a client already past the deletion still gets plain changes
    assert not feed.changes_since(tenant, 4).snapshot


def test_a_limited_snapshot_below_the_horizon_still_finishes(backend):
    # Given 30 documents, then a deletion whose tombstone has expired (horizon above most)
    store = backend.new_store()
    clock = FakeClock()
    documents, _ = _services(store, clock)
    tenant = store.tenant_id
    ids = [documents.create(tenant, "notes", {"text": str(i)}).id for i in range(30)]
    documents.delete(tenant, "notes", ids[-1])
    clock.advance(TOMBSTONE_DAYS * DAY_SECONDS + 1)
    documents.create(tenant, "notes", {"text": "late"})
    # When a new client pulls in parts of 4 (each continuation is below the horizon)
    state, cursor = _pull(store, clock, None, 4)
    # Then it ends with every live document instead of restarting the snapshot forever
    assert cursor == 32
    assert sorted(state) == sorted(("notes", d.id) for d in store.live_docs("notes", None))
    assert len(state) == 30
