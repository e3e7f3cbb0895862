"""Opening a tenant's store and committing to it: the one path every read and write takes.

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

from chalicelib.dal.tenant_store import Commit, TenantGoneError, TenantMeta, TenantStore
from chalicelib.errors import UserdbError
from chalicelib.logic.instance_cache import InstanceCache
from chalicelib.logic.versions import Committed, commit_next_version, jittered_pause

R = TypeVar("R")


class TenantAccess(Protocol):
    def open(self, tenant_id: str) -> TenantStore: ...

    def recover(self, tenant_id: str) -> TenantStore: ...


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
        if committed.commit.ledger is not None:
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


class TenantWriter:
    """Reads and commits to tenants' stores; tenants and the retry pause are injected."""

    def __init__(
        self, tenants: TenantAccess, pause: Callable[[int], None] = jittered_pause
    ) -> None:
        self._tenants = tenants
        self._pause = pause
        self._known = KnownMeta()
        self._turns = WriteTurns()

    def read(self, tenant_id: str, action: Callable[[TenantStore], R]) -> R:
        """`action` on the tenant's store."""
        try:
            return action(self._tenants.open(tenant_id))
        except TenantGoneError:
            # Deleted meanwhile (401) or never finished provisioning (finished now, or 503).
            return action(self._tenants.recover(tenant_id))

    def commit(
        self,
        tenant_id: str,
        make_commit: Callable[[TenantStore, TenantMeta], Commit],
        explain: Callable[[TenantStore, Commit, int], UserdbError | None],
    ) -> Committed:
        """Commit `make_commit(store, meta)` as the tenant's next versions (versions.py);
        `explain(store, commit, index)` says why a document's condition failed, or None
        when a concurrent write explains it and the commit is retried."""

        def attempt(store: TenantStore) -> Committed:
            return commit_next_version(
                store,
                lambda meta: make_commit(store, meta),
                lambda commit, index: explain(store, commit, index),
                pause=self._pause,
                known=self._known.get(tenant_id),
            )

        with self._turns.turn(tenant_id):
            committed = self.read(tenant_id, attempt)
            self._known.after(tenant_id, committed)
        return committed
