"""Which table each store uses, bound to the stage's endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import boto3
from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.dal.items import bind, shared_connection
from chalicelib.settings import Settings

ACCOUNTS_SUFFIX = "accounts"
SESSIONS_SUFFIX = "sessions"
CONNECTIONS_SUFFIX = "connections"
POOL_TENANTS_SUFFIX = "tenants"
IDEMPOTENCY_SUFFIX = "idempotency"
TENANT_TABLE_INFIX = "tenant-"

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class TableBinding:
    """A table name on an endpoint; binds item classes and opens transaction connections."""

    table_name: str
    endpoint: str | None
    region: str

    def model(self, item_class: type[M]) -> type[M]:
        return bind(item_class, self.table_name, self.endpoint, self.region)

    def connection(self) -> Connection:
        """The endpoint's shared connection (a new one would build a botocore client)."""
        return shared_connection(self.region, self.endpoint)


def dynamodb_client(settings: Settings) -> Any:
    """The boto3 DynamoDB client for the stage's endpoint (table management, Powertools)."""
    return _client(settings.dynamodb_endpoint, settings.region)


@lru_cache(maxsize=16)
def _client(endpoint: str | None, region: str) -> Any:
    # Clients are thread-safe and slow to build: one per endpoint and region.
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)


def shared_table(settings: Settings, suffix: str) -> TableBinding:
    """One of the stage's shared tables (accounts, sessions, connections, pooled tenants)."""
    return TableBinding(settings.table_name(suffix), settings.dynamodb_endpoint, settings.region)
