"""Which table each store uses, bound to the stage's endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.dal.items import bind
from chalicelib.settings import Settings

ACCOUNTS_SUFFIX = "accounts"
SESSIONS_SUFFIX = "sessions"
CONNECTIONS_SUFFIX = "connections"
POOL_TENANTS_SUFFIX = "tenants"
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
        return Connection(region=self.region, host=self.endpoint)


def shared_table(settings: Settings, suffix: str) -> TableBinding:
    """One of the stage's shared tables (accounts, sessions, connections, pooled tenants)."""
    return TableBinding(settings.table_name(suffix), settings.dynamodb_endpoint, settings.region)
