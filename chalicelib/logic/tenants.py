"""Tenant provisioning: a place for each account's data, ready before its first write.

Silo mode creates a table per tenant; pool mode gives it a partition of the
shared table. Either way provisioning ends by writing the tenant's `meta` item,
so "meta exists" means "fully provisioned". Data routes open the tenant here;
while a new table is still CREATING they get 503 `tenant_provisioning` with
Retry-After. A process remembers tenants it has seen ready, so the hot path
makes no DescribeTable call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.dal.accounts import AccountStore
from chalicelib.dal.tenant_store import TenantGoneError, TenantStore
from chalicelib.dal.tenant_tables import TableState, TenantTable, TenantTables
from chalicelib.errors import TenantNotReadyError, UnauthorizedError
from chalicelib.logic.instance_cache import InstanceCache
from chalicelib.observability import logger

READY_CACHE_SIZE = 10_000


class TenantTableStep(Protocol):
    """An extra step of a tenant's table's life, such as its stream's event source mapping.
    Steps must be idempotent: a table may be finished by more than one process, and in pool
    mode every tenant shares one table.
    """

    def on_ready(self, tenant_id: str, table: TenantTable) -> None:
        """The table is ACTIVE (its stream ARN is known); runs before `meta` is written."""
        ...

    def on_release(self, tenant_id: str, table: TenantTable) -> None:
        """The tenant's dedicated (silo) table is about to be deleted."""
        ...


class TenantService:
    """Provisions, opens and releases tenants' data; storage and extra steps are injected."""

    def __init__(
        self,
        tables: TenantTables,
        accounts: AccountStore,
        *,
        wait_seconds: float,
        retry_after_seconds: int,
        steps: Sequence[TenantTableStep] = (),
    ) -> None:
        self._tables = tables
        self._accounts = accounts
        self._wait_seconds = wait_seconds
        self._retry_after = retry_after_seconds
        self._steps = tuple(steps)
        self._ready: InstanceCache[str, bool] = InstanceCache(READY_CACHE_SIZE)

    def provision(self, tenant_id: str) -> None:
        """Create the tenant's place (idempotent) and wait, bounded, for it to be ready.

        If the table is still CREATING when the wait ends, the first data
        request that finds it ACTIVE finishes the job.
        """
        self._tables.create(tenant_id)
        table = self._tables.wait_active(tenant_id, self._wait_seconds)
        if table.state is TableState.ACTIVE:
            self._finish(tenant_id, table)

    def open(self, tenant_id: str) -> TenantStore:
        """The tenant's store, ready for reads and writes.

        TenantNotReadyError (503) while its table is CREATING; UnauthorizedError
        if the account no longer exists.
        """
        if self._ready.get(tenant_id):
            return self._tables.store(tenant_id)
        table = self._tables.describe(tenant_id)
        if table.state is TableState.MISSING:
            self._account_must_exist(tenant_id)
            # Provisioning did not get as far as the table (e.g. a CreateTable limit): redo it.
            self._tables.create(tenant_id)
            raise TenantNotReadyError(retry_after=self._retry_after)
        if table.state is TableState.CREATING:
            raise TenantNotReadyError(retry_after=self._retry_after)
        if table.state is TableState.DELETING:
            raise UnauthorizedError()
        store = self._tables.store(tenant_id)
        try:
            store.read_meta()
        except TenantGoneError:
            self._account_must_exist(tenant_id)
            self._finish(tenant_id, table)
        self._ready.put(tenant_id, True)
        return store

    def recover(self, tenant_id: str) -> TenantStore:
        """Open again after the store reported the tenant gone (deleted, or never finished)."""
        self._forget(tenant_id)
        return self.open(tenant_id)

    def release(self, tenant_id: str) -> None:
        """Delete all of the tenant's data: its table (silo) or its partition (pool)."""
        self._forget(tenant_id)
        table = self._tables.describe(tenant_id)
        if table.dedicated and table.state is not TableState.MISSING:
            for step in self._steps:
                step.on_release(tenant_id, table)
        self._tables.release(tenant_id, self._wait_seconds)

    def _finish(self, tenant_id: str, table: TenantTable) -> None:
        self._tables.enable_ttl(tenant_id)
        for step in self._steps:
            step.on_ready(tenant_id, table)
        self._tables.store(tenant_id).initialise()
        logger.info("tenant ready", extra={"tenant_table": table.name})

    def _account_must_exist(self, tenant_id: str) -> None:
        # A session cached on this instance may outlive its account by a few seconds.
        if self._accounts.get(tenant_id) is None:
            raise UnauthorizedError()

    def _forget(self, tenant_id: str) -> None:
        self._ready.forget(tenant_id)
