"""The TenantStore contract, run against every backend by one parametrised fixture.

Backends: the in-memory fake, moto (silo and pool tables), AWS's DynamoDB Local
(silo tables; skipped where Java or the jar is missing) and LocalStack (silo tables, in the
LocalStack pass: tests/support/localstack.py). Guarantees that
depend on DynamoDB serialising concurrent transactions are proved on DynamoDB
Local only (FACTS.md: moto does not always serialise them).
"""

from __future__ import annotations

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
    CommitOutcome,
    EditNote,
    LedgerChange,
    NoteWrite,
    PutNote,
    TenantGoneError,
    TenantMeta,
    TenantStore,
    TombstoneNote,
)
from chalicelib.dal.tenant_tables import PoolTenantTables, SiloTenantTables
from chalicelib.logic.notes import NoteService
from chalicelib.logic.sync import changes_since
from chalicelib.logic.tokens import new_id
from chalicelib.logic.tombstones import DAY_SECONDS
from chalicelib.logic.versions import commit_next_version
from chalicelib.models.notes import CreateNoteRequest, UpdateNoteRequest
from chalicelib.settings import Settings, Tenancy
from tests.fakes import FakeClock, InMemoryTenantStore

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


def _notes(store: TenantStore, clock: FakeClock) -> NoteService:
    return NoteService(
        DirectTenants(store),
        NoIdempotency(),
        clock,
        tombstone_days=TOMBSTONE_DAYS,
        pause=lambda attempt: None,
    )


def _put(note_id: str, text: str = "t") -> PutNote:
    return PutNote(note_id, text, 1_000)


def _note_id() -> str:
    return new_id("note")


# ---- the counter and the note conditions ----


def test_a_new_tenant_is_at_version_zero_with_nothing_in_it(backend):
    # Given a provisioned tenant
    store = backend.new_store()
    # Then its meta is at version 0 and it has no notes
    assert store.read_meta() == TenantMeta(version=0)
    assert list(store.notes_by_version(0, live_only=False)) == []
    assert list(store.live_notes_by_id(None)) == []


def test_initialise_keeps_an_existing_meta(backend):
    # Given a tenant with one write
    store = backend.new_store()
    assert store.commit(_put(_note_id()), 0) is CommitOutcome.COMMITTED
    # When provisioning finishes again (another process)
    store.initialise()
    # Then the counter is not reset
    assert store.read_meta().version == 1


def test_each_commit_takes_the_next_version(backend):
    # Given a tenant
    store = backend.new_store()
    first, second = _note_id(), _note_id()
    # When two notes are created and the first is edited
    assert store.commit(_put(first, "a"), 0) is CommitOutcome.COMMITTED
    assert store.commit(_put(second, "b"), 1) is CommitOutcome.COMMITTED
    assert store.commit(EditNote(first, "a2", 2_000), 2) is CommitOutcome.COMMITTED
    # Then versions follow commits, and each note carries the version of its last write
    assert store.read_meta().version == 3
    changed = list(store.notes_by_version(0, live_only=False))
    assert [(n.id, n.version, n.text) for n in changed] == [(second, 2, "b"), (first, 3, "a2")]
    edited = store.get_note(first)
    assert edited is not None
    assert (edited.created, edited.updated) == (1_000, 2_000)


def test_a_stale_expected_version_writes_nothing(backend):
    # Given a tenant at version 1
    store = backend.new_store()
    store.commit(_put(_note_id()), 0)
    late = _note_id()
    # When a write still expects version 0
    outcome = store.commit(_put(late), 0)
    # Then it is refused as stale and neither meta nor the note changed
    assert outcome is CommitOutcome.STALE_VERSION
    assert store.read_meta().version == 1
    assert store.get_note(late) is None


def test_note_conditions(backend):
    # Given a live note at version 1
    store = backend.new_store()
    note_id = _note_id()
    store.commit(_put(note_id), 0)
    # Then creating it again, editing at a stale version, or touching a missing note is refused
    assert store.commit(_put(note_id), 1) is CommitOutcome.NOTE_CONDITION
    assert store.commit(EditNote(note_id, "x", 1, if_version=7), 1) is (
        CommitOutcome.NOTE_CONDITION
    )
    assert store.commit(EditNote(_note_id(), "x", 1), 1) is CommitOutcome.NOTE_CONDITION
    # And the refused writes did not move the counter
    assert store.read_meta().version == 1
    # While an edit at the current version passes
    assert store.commit(EditNote(note_id, "x", 1, if_version=1), 1) is CommitOutcome.COMMITTED


def test_a_tombstone_keeps_id_and_version_drops_text_and_can_be_recreated(backend):
    # Given a live note
    store = backend.new_store()
    note_id = _note_id()
    store.commit(_put(note_id, "secret"), 0)
    # When it is deleted
    tombstone = TombstoneNote(note_id, 5_000, 99 * DAY_SECONDS, LedgerChange(bucket=99))
    assert store.commit(tombstone, 1) is CommitOutcome.COMMITTED
    # Then a tombstone remains: version 2, deleted, expiring, without its text
    stored = store.get_note(note_id)
    assert stored is not None
    assert (stored.version, stored.deleted, stored.expires, stored.text) == (
        2,
        True,
        99 * DAY_SECONDS,
        None,
    )
    assert list(store.live_notes_by_id(None)) == []
    assert store.read_meta().tombstone_buckets == {99: 2}
    # And it cannot be edited or deleted again, nor replaced by a create that wants no
    # note at all there, but the id can be used anew
    assert store.commit(EditNote(note_id, "x", 1), 2) is CommitOutcome.NOTE_CONDITION
    assert store.commit(tombstone, 2) is CommitOutcome.NOTE_CONDITION
    fresh_only = PutNote(note_id, "again", 1_000, over_tombstone=False)
    assert store.commit(fresh_only, 2) is CommitOutcome.NOTE_CONDITION
    assert store.commit(_put(note_id, "again"), 2) is CommitOutcome.COMMITTED
    recreated = store.get_note(note_id)
    assert recreated is not None
    assert (recreated.deleted, recreated.expires, recreated.text) == (False, None, "again")


def test_the_ledger_folds_begun_days_into_the_floor(backend):
    # Given tombstones in buckets 10 and 11
    store = backend.new_store()
    ids = [_note_id() for _ in range(3)]
    for version, note_id in enumerate(ids):
        store.commit(_put(note_id), version)
    store.commit(TombstoneNote(ids[0], 1, 10 * DAY_SECONDS, LedgerChange(bucket=10)), 3)
    store.commit(TombstoneNote(ids[1], 1, 11 * DAY_SECONDS, LedgerChange(bucket=11)), 4)
    # When a later deletion folds bucket 10 into the floor
    fold = LedgerChange(bucket=12, floor=4, folded=(10,))
    store.commit(TombstoneNote(ids[2], 1, 12 * DAY_SECONDS, fold), 5)
    # Then meta holds the floor and the remaining buckets
    meta = store.read_meta()
    assert (meta.version, meta.tombstone_floor, dict(meta.tombstone_buckets)) == (
        6,
        4,
        {11: 5, 12: 6},
    )


def test_live_notes_by_id_resumes_after_an_id(backend):
    # Given five notes, one of them deleted
    store = backend.new_store()
    ids = sorted(_note_id() for _ in range(5))
    for version, note_id in enumerate(ids):
        store.commit(_put(note_id), version)
    store.commit(TombstoneNote(ids[2], 1, DAY_SECONDS, LedgerChange(bucket=1)), 5)
    # When listing from the start and after the second id
    # Then live notes come in id order, tombstones skipped
    assert [n.id for n in store.live_notes_by_id(None)] == [ids[0], ids[1], ids[3], ids[4]]
    assert [n.id for n in store.live_notes_by_id(ids[1])] == [ids[3], ids[4]]


def test_purge_leaves_nothing(backend):
    # Given a tenant with notes and a tombstone
    store = backend.new_store()
    ids = [_note_id() for _ in range(3)]
    for version, note_id in enumerate(ids):
        store.commit(_put(note_id), version)
    store.commit(TombstoneNote(ids[0], 1, DAY_SECONDS, LedgerChange(bucket=1)), 3)
    # When it is purged
    assert store.purge() == 4
    # Then it has no meta and no items
    with pytest.raises(TenantGoneError):
        store.read_meta()
    assert list(store.notes_by_version(0, live_only=False)) == []


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

    def commit(self, write: NoteWrite, expected_version: int) -> CommitOutcome:
        if self._other_writer is not None:
            other, self._other_writer = self._other_writer, None
            other()
        outcome = self._store.commit(write, expected_version)
        self.outcomes.append(outcome)
        return outcome


def test_a_writer_that_loses_the_race_retries_on_the_next_version(backend):
    # Given writer A that read meta at version 0, and writer B that commits before A does
    store = backend.new_store()
    a_id, b_id = _note_id(), _note_id()

    def writer_b() -> None:
        assert store.commit(_put(b_id, "b"), 0) is CommitOutcome.COMMITTED

    interleaved = InterleavedStore(store, writer_b)
    # When A commits through the retry loop
    committed = commit_next_version(
        interleaved, lambda meta: _put(a_id, "a"), lambda write: None, pause=lambda n: None
    )
    # Then A's first attempt was refused as stale and its retry took version 2
    assert interleaved.outcomes == [CommitOutcome.STALE_VERSION, CommitOutcome.COMMITTED]
    assert committed.version == 2
    versions = {n.id: n.version for n in store.notes_by_version(0, live_only=False)}
    assert versions == {b_id: 1, a_id: 2}


def test_concurrent_writers_get_unique_gap_free_versions_in_commit_order(backend):
    if not backend.serialises_concurrent_transactions:
        pytest.skip("moto does not always serialise concurrent conditional transactions")
    # Given one tenant and 20 writers, each creating 3 notes at the same time
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
                note_id = _note_id()
                write = _put(note_id)
                began = time.monotonic()
                committed = commit_next_version(
                    store,
                    lambda meta, write=write: write,  # type: ignore[misc]
                    lambda write: None,
                    pause=lambda attempt: time.sleep(
                        random.uniform(0, 0.002 * 2 ** min(attempt, 5))
                    ),
                )
                ended = time.monotonic()
                with lock:
                    results.append((committed.version, began, ended, note_id))
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
    # And each note is stored with the version its writer was told
    stored = {n.id: n.version for n in store.notes_by_version(0, live_only=False)}
    assert stored == {note_id: version for version, _, _, note_id in results}
    # And a write that finished before another began has the lower version (commit order)
    for v1, _, ended1, _ in results:
        for v2, began2, _, _ in results:
            if ended1 < began2:
                assert v1 < v2


# ---- sync over the store ----


def _replay(changes_items: list[Any], state: dict[str, Any]) -> None:
    for item in changes_items:
        if item.get("deleted"):
            state.pop(item["id"], None)
        else:
            state[item["id"]] = item


def _pull(
    store: TenantStore,
    clock: FakeClock,
    since: int | None,
    limit: int,
    held: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], int]:
    """A client holding `held` at cursor `since`, catching up in parts of `limit`."""
    state: dict[str, Any] = dict(held or {})
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


def test_sync_after_1000_writes_with_300_deletes_returns_exactly_the_live_notes(backend):
    # Given 500 creates, 200 edits and 300 deletes, with a client that synced half-way
    # (a tenth of that on moto: see Backend.write_scale)
    store = backend.new_store()
    clock = FakeClock()
    notes = _notes(store, clock)
    tenant = store.tenant_id
    rng = random.Random(7)
    creates, edits, deletes = (count // backend.write_scale for count in (500, 200, 300))
    ids: list[str] = []
    for index in range(creates):
        ids.append(notes.create(tenant, CreateNoteRequest(text=f"n{index}"), None).id)
        if index == creates // 2:
            midway_state, midway_cursor = _pull(store, clock, 0, 1000)
    for note_id in rng.sample(ids, edits):
        notes.update(tenant, note_id, UpdateNoteRequest(text=f"edited {note_id}"), None)
    deleted = set(rng.sample(ids, deletes))
    for note_id in deleted:
        notes.delete(tenant, note_id, None)
    total = creates + edits + deletes
    assert store.read_meta().version == total
    expected = {n.id: n for n in store.live_notes_by_id(None)}
    assert set(expected) == set(ids) - deleted
    # When a new client takes a snapshot, an old client catches up from version 0 in
    # small parts, and the half-way client catches up from its cursor
    snapshot = changes_since(store, None, now_ms=int(clock.now() * 1000), tombstone_days=7)
    from_zero, zero_cursor = _pull(store, clock, 0, 37)
    midway_state, _ = _pull(store, clock, midway_cursor, 50, midway_state)
    # Then each of them holds exactly the live notes, in their latest state
    live = {note_id: (n.text, n.version) for note_id, n in expected.items()}
    assert snapshot.changes.snapshot
    assert {i["id"]: (i["text"], i["version"]) for i in snapshot.changes.items} == live
    assert {i: (n["text"], n["version"]) for i, n in from_zero.items()} == live
    assert zero_cursor == total
    assert {i: (n["text"], n["version"]) for i, n in midway_state.items()} == live


def test_expired_tombstones_turn_a_stale_cursor_into_a_snapshot(backend):
    # Given three notes, a client at their version, then one deletion
    store = backend.new_store()
    clock = FakeClock()
    notes = _notes(store, clock)
    tenant = store.tenant_id
    ids = [notes.create(tenant, CreateNoteRequest(text=str(i)), None).id for i in range(3)]
    client_cursor = store.read_meta().version
    notes.delete(tenant, ids[0], None)
    # When the client syncs within the tombstone lifetime
    fresh = notes.changes_since(tenant, client_cursor)
    # Then it gets the deletion as a change
    assert (fresh.snapshot, fresh.from_, fresh.to) == (False, 3, 4)
    assert [(i["id"], i.get("deleted")) for i in fresh.items] == [(ids[0], True)]
    # When the tombstone's expiry has passed (whether or not TTL removed it yet)
    clock.advance(TOMBSTONE_DAYS * DAY_SECONDS + 1)
    if isinstance(store, InMemoryTenantStore):
        store.expire(int(clock.now()))
    late = notes.changes_since(tenant, client_cursor)
    # Then the client gets a snapshot of the live notes instead
    assert late.snapshot
    assert sorted(i["id"] for i in late.items) == sorted(ids[1:])
    assert late.to == 4
    # And a client already past the deletion still gets plain changes
    assert not notes.changes_since(tenant, 4).snapshot


def test_a_limited_snapshot_below_the_horizon_still_finishes(backend):
    # Given 30 notes, then a deletion whose tombstone has expired (horizon above most notes)
    store = backend.new_store()
    clock = FakeClock()
    notes = _notes(store, clock)
    tenant = store.tenant_id
    ids = [notes.create(tenant, CreateNoteRequest(text=str(i)), None).id for i in range(30)]
    notes.delete(tenant, ids[-1], None)
    clock.advance(TOMBSTONE_DAYS * DAY_SECONDS + 1)
    notes.create(tenant, CreateNoteRequest(text="late"), None)
    # When a new client pulls in parts of 4 (each continuation is below the horizon)
    state, cursor = _pull(store, clock, None, 4)
    # Then it ends with every live note instead of restarting the snapshot forever
    assert cursor == 32
    assert sorted(state) == sorted({n.id for n in store.live_notes_by_id(None)})
    assert len(state) == 30
