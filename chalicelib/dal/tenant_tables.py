"""Where each tenant's data lives: its own table (silo) or its partition of one table (pool).

Both modes use the same item layout and `DynamoTenantStore`; they differ in the
table name, in how a tenant's place is created (CreateTable vs. nothing: the
pool table is a shared table) and in how it is released (DeleteTable vs.
deleting the partition's items). The tenant id always comes from a validated
session; it is checked here once more before it becomes part of a table name.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.dal.items import TTL_ATTRIBUTE, TenantItem
from chalicelib.dal.schema import table_definition
from chalicelib.dal.tables import (
    POOL_TENANTS_SUFFIX,
    TENANT_TABLE_INFIX,
    TableBinding,
    dynamodb_client,
    shared_table,
)
from chalicelib.dal.tenant_store import DynamoTenantStore
from chalicelib.settings import Settings, Tenancy

# Account ids (`usr_` + 16 of [a-z0-9]) and nothing else name a tenant.
TENANT_ID = re.compile(r"^usr_[a-z0-9]{16}$")
POLL_SECONDS = 0.25


class TableState(StrEnum):
    MISSING = "MISSING"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    DELETING = "DELETING"


@dataclass(frozen=True)
class TenantTable:
    """A tenant's table as DynamoDB describes it; `dedicated` is true in silo mode."""

    name: str
    state: TableState
    dedicated: bool
    stream_arn: str | None = None


class TenantTables(Protocol):
    """Creates, describes and releases tenants' tables, and opens their stores."""

    def store(self, tenant_id: str) -> DynamoTenantStore:
        """The tenant's store (no I/O)."""
        ...

    def create(self, tenant_id: str) -> TenantTable:
        """Create the tenant's table unless it exists (idempotent); returns its state."""
        ...

    def describe(self, tenant_id: str) -> TenantTable: ...

    def wait_active(self, tenant_id: str, timeout_seconds: float) -> TenantTable:
        """Poll until ACTIVE or `timeout_seconds` have passed; returns the last state seen."""
        ...

    def enable_ttl(self, tenant_id: str) -> None:
        """Turn on TTL on `expires` (only possible once the table is ACTIVE; idempotent)."""
        ...

    def release(self, tenant_id: str, timeout_seconds: float) -> None:
        """Remove all of the tenant's data: the table (silo) or the partition (pool)."""
        ...


def checked_tenant_id(tenant_id: str) -> str:
    """`tenant_id` if it is an account id; ValueError otherwise (never a name from input)."""
    if not TENANT_ID.fullmatch(tenant_id):
        raise ValueError("not a tenant id")
    return tenant_id


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class SiloTenantTables:
    """One table per tenant: `{prefix}-tenant-{user_id}`, made from TenantItem's definition."""

    def __init__(self, settings: Settings, client: Any) -> None:
        self._settings = settings
        self._client = client

    def table_name(self, tenant_id: str) -> str:
        return self._settings.table_name(TENANT_TABLE_INFIX + checked_tenant_id(tenant_id))

    def _binding(self, tenant_id: str) -> TableBinding:
        settings = self._settings
        return TableBinding(self.table_name(tenant_id), settings.dynamodb_endpoint, settings.region)

    def store(self, tenant_id: str) -> DynamoTenantStore:
        return DynamoTenantStore(self._binding(tenant_id), tenant_id)

    def create(self, tenant_id: str) -> TenantTable:
        definition = table_definition(TenantItem, self.table_name(tenant_id), TTL_ATTRIBUTE)
        try:
            reply = self._client.create_table(**definition.request)
        except ClientError as error:
            if _error_code(error) != "ResourceInUseException":
                raise
            return self.describe(tenant_id)
        return self._table(reply["TableDescription"])

    def describe(self, tenant_id: str) -> TenantTable:
        name = self.table_name(tenant_id)
        try:
            reply = self._client.describe_table(TableName=name)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
            return TenantTable(name=name, state=TableState.MISSING, dedicated=True)
        return self._table(reply["Table"])

    @staticmethod
    def _table(description: dict[str, Any]) -> TenantTable:
        status = str(description.get("TableStatus", "ACTIVE"))
        # UPDATING and the like still serve reads and writes.
        state = TableState(status) if status in TableState.__members__ else TableState.ACTIVE
        return TenantTable(
            name=str(description["TableName"]),
            state=state,
            dedicated=True,
            stream_arn=description.get("LatestStreamArn"),
        )

    def wait_active(self, tenant_id: str, timeout_seconds: float) -> TenantTable:
        deadline = time.monotonic() + timeout_seconds
        while True:
            table = self.describe(tenant_id)
            if table.state is not TableState.CREATING or time.monotonic() >= deadline:
                return table
            time.sleep(POLL_SECONDS)

    def enable_ttl(self, tenant_id: str) -> None:
        name = self.table_name(tenant_id)
        reply = self._client.describe_time_to_live(TableName=name)
        if reply["TimeToLiveDescription"].get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return
        self._client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    def release(self, tenant_id: str, timeout_seconds: float) -> None:
        name = self.table_name(tenant_id)
        # A table still CREATING cannot be deleted yet: wait for it, within the bound.
        self.wait_active(tenant_id, timeout_seconds)
        try:
            self._client.delete_table(TableName=name)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise


class PoolTenantTables:
    """Every tenant in `{prefix}-tenants` (a shared table), one partition each."""

    def __init__(self, settings: Settings, client: Any) -> None:
        self._table = shared_table(settings, POOL_TENANTS_SUFFIX)
        self._client = client
        self._stream_arn: str | None = None

    def store(self, tenant_id: str) -> DynamoTenantStore:
        return DynamoTenantStore(self._table, checked_tenant_id(tenant_id))

    def _shared(self) -> TenantTable:
        if self._stream_arn is None:
            # The shared table exists before any tenant (infra/tables.py); its stream never changes.
            description = self._client.describe_table(TableName=self._table.table_name)
            self._stream_arn = description["Table"].get("LatestStreamArn")
        return TenantTable(
            name=self._table.table_name,
            state=TableState.ACTIVE,
            dedicated=False,
            stream_arn=self._stream_arn,
        )

    def create(self, tenant_id: str) -> TenantTable:
        checked_tenant_id(tenant_id)
        return self._shared()

    def describe(self, tenant_id: str) -> TenantTable:
        checked_tenant_id(tenant_id)
        return self._shared()

    def wait_active(self, tenant_id: str, timeout_seconds: float) -> TenantTable:
        return self.describe(tenant_id)

    def enable_ttl(self, tenant_id: str) -> None:
        """TTL is part of the shared table's definition (infra/tables.py)."""

    def release(self, tenant_id: str, timeout_seconds: float) -> None:
        self.store(tenant_id).purge()


def tenant_tables(settings: Settings) -> SiloTenantTables | PoolTenantTables:
    """The stage's tenancy: silo (a table per tenant) unless USERDB_TENANCY=pool."""
    if settings.tenancy is Tenancy.POOL:
        return PoolTenantTables(settings, dynamodb_client(settings))
    return SiloTenantTables(settings, dynamodb_client(settings))
