"""Every table of a stage: the single source for local bootstrap, provisioning and templates.

Keys and indexes come from the PynamoDB item classes in `chalicelib/dal/items.py`
(through `chalicelib.dal.schema`), so the code and the tables cannot drift apart.
"""

from __future__ import annotations

from chalicelib.dal import items
from chalicelib.dal.schema import TableDefinition, table_definition
from chalicelib.dal.tables import (
    ACCOUNTS_SUFFIX,
    CONNECTIONS_SUFFIX,
    IDEMPOTENCY_SUFFIX,
    POOL_TENANTS_SUFFIX,
    SESSIONS_SUFFIX,
)
from chalicelib.settings import Settings, Tenancy


def shared_tables(settings: Settings) -> list[TableDefinition]:
    """The tables a stage needs before any user signs up."""
    definitions = [
        table_definition(
            items.AccountItem, settings.table_name(ACCOUNTS_SUFFIX), items.TTL_ATTRIBUTE
        ),
        table_definition(
            items.SessionItem, settings.table_name(SESSIONS_SUFFIX), items.TTL_ATTRIBUTE
        ),
        table_definition(
            items.ConnectionItem, settings.table_name(CONNECTIONS_SUFFIX), items.TTL_ATTRIBUTE
        ),
        table_definition(
            items.IdempotencyRecordItem,
            settings.table_name(IDEMPOTENCY_SUFFIX),
            items.IDEMPOTENCY_TTL_ATTRIBUTE,
        ),
    ]
    if settings.tenancy is Tenancy.POOL:
        definitions.append(
            table_definition(
                items.TenantItem, settings.table_name(POOL_TENANTS_SUFFIX), items.TTL_ATTRIBUTE
            )
        )
    return definitions
