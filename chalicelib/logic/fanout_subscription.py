"""Subscribing tenants' streams to the fan-out function, as a step of their tables' life."""

from __future__ import annotations

from typing import Protocol

from chalicelib.dal.tenant_tables import TenantTable


class StreamSubscriptions(Protocol):
    def ensure(self, stream_arn: str) -> None: ...

    def remove(self, stream_arn: str) -> None: ...


class FanOutSubscription:
    """A TenantTableStep: a silo table's stream gets its own mapping to the fan-out, made
    when the table is ready and removed before it is deleted; pool mode's shared table
    has one mapping, ensured once and never removed with a tenant.
    """

    def __init__(self, subscriptions: StreamSubscriptions) -> None:
        self._subscriptions = subscriptions

    def on_ready(self, tenant_id: str, table: TenantTable) -> None:
        if table.stream_arn is None:
            raise RuntimeError(f"table {table.name} has no stream to fan out from")
        self._subscriptions.ensure(table.stream_arn)

    def on_release(self, tenant_id: str, table: TenantTable) -> None:
        if table.dedicated and table.stream_arn is not None:
            self._subscriptions.remove(table.stream_arn)
