"""WebSocket connections of tenants, in `{prefix}-connections` (pk tenant id, sk connection id).

Only what account deletion needs lives here so far; the realtime fan-out adds the rest.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.dal.items import ConnectionItem
from chalicelib.dal.tables import TableBinding


class ConnectionStore(Protocol):
    def delete_all(self, tenant_id: str) -> int:
        """Delete every connection item of the tenant; returns how many there were."""
        ...


class DynamoConnectionStore:
    """ConnectionStore on DynamoDB."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(ConnectionItem)

    def delete_all(self, tenant_id: str) -> int:
        items = list(
            self._items.query(tenant_id, consistent_read=True, attributes_to_get=["pk", "sk"])
        )
        with self._items.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)
