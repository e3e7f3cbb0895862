"""WebSocket connections in `{prefix}-connections`: pk tenant id, sk connection id.

Each connection also has a pointer item (`connection#{id}`) naming its tenant,
written in the same transaction, because message events carry only the
connection id. The tenant's partition also holds its pushed marks (`~pushed`), so the
Query that lists the connections reads them at no extra request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.pagination import ResultIterator
from pynamodb.transactions import TransactWrite

from chalicelib.dal.items import (
    PUSHED_MARKS_SORT_KEY,
    ConnectionItem,
    ConnectionPointerItem,
    PushedMarksItem,
)
from chalicelib.dal.tables import TableBinding
from chalicelib.models.connections import Connection, TenantConnections


class ConnectionStore(Protocol):
    def add(self, connection: Connection, expires: int) -> None: ...

    def get(self, connection_id: str) -> Connection | None:
        """The connection by id alone (consistent), or None once it is gone."""
        ...

    def for_tenant(self, tenant_id: str) -> list[Connection]:
        """Every stored connection of the tenant (consistent)."""
        ...

    def listing(self, tenant_id: str) -> TenantConnections:
        """Every stored connection of the tenant and its pushed marks (one consistent read)."""
        ...

    def record_pushed(
        self, tenant_id: str, pushed: Mapping[str, int], expires: int, settled: int = 0
    ) -> None:
        """Replace the tenant's pushed marks with `pushed` and the version whose push is
        over with `settled` (epoch-second TTL `expires`)."""
        ...

    def tenant_of(self, connection_id: str) -> str | None:
        """The tenant of a connection by id alone (consistent), or None once it is gone."""
        ...

    def raise_ack(self, tenant_id: str, connection_id: str, version: int) -> bool:
        """Set the acked version to `version` if higher, never lower; False if no such
        connection (it is not brought back)."""
        ...

    def follow(
        self, tenant_id: str, connection_id: str, collections: frozenset[str] | None
    ) -> None:
        """Record the collections the connection follows (None: all of them)."""
        ...

    def record_settled(self, tenant_id: str, settled: int, expires: int) -> None:
        """Raise the version whose writer's push is over to `settled` (never lower it),
        leaving the marks as they are."""
        ...

    def remove(self, tenant_id: str, connection_id: str) -> None: ...

    def delete_all(self, tenant_id: str) -> int:
        """Remove every connection of the tenant (account deletion); returns how many."""
        ...


def _pointer_key(connection_id: str) -> str:
    return f"connection#{connection_id}"


def _to_connection(item: ConnectionItem) -> Connection:
    return Connection(
        tenant_id=item.pk,
        connection_id=item.sk,
        client_id=item.client_id,
        session_id=item.session_id,
        acked_version=int(item.acked_version),
        connected_at=int(item.connected_at),
        collections=frozenset(item.collections) if item.collections else None,
    )


class DynamoConnectionStore:
    """ConnectionStore on DynamoDB."""

    def __init__(self, table: TableBinding) -> None:
        self._table = table
        self._items = table.model(ConnectionItem)
        self._pointers = table.model(ConnectionPointerItem)
        self._marks = table.model(PushedMarksItem)

    def add(self, connection: Connection, expires: int) -> None:
        with TransactWrite(connection=self._table.connection()) as transaction:
            transaction.save(
                self._items(
                    connection.tenant_id,
                    connection.connection_id,
                    client_id=connection.client_id,
                    session_id=connection.session_id,
                    acked_version=connection.acked_version,
                    connected_at=connection.connected_at,
                    expires=expires,
                )
            )
            transaction.save(
                self._pointers(
                    _pointer_key(connection.connection_id),
                    tenant_id=connection.tenant_id,
                    expires=expires,
                )
            )

    def tenant_of(self, connection_id: str) -> str | None:
        try:
            pointer = self._pointers.get(
                _pointer_key(connection_id), "connection", consistent_read=True
            )
        except DoesNotExist:
            return None
        return str(pointer.tenant_id)

    def get(self, connection_id: str) -> Connection | None:
        tenant_id = self.tenant_of(connection_id)
        if tenant_id is None:
            return None
        try:
            item = self._items.get(tenant_id, connection_id, consistent_read=True)
        except DoesNotExist:
            return None
        return _to_connection(item)

    def for_tenant(self, tenant_id: str) -> list[Connection]:
        return self.listing(tenant_id).connections

    def listing(self, tenant_id: str) -> TenantConnections:
        # Raw items: the partition holds two kinds, told apart by their sort key.
        raw_items: ResultIterator[dict[str, Any]] = ResultIterator(
            self._items._get_connection().query,
            (tenant_id,),
            {"consistent_read": True},
            map_fn=lambda raw: raw,
        )
        connections: list[Connection] = []
        pushed: dict[str, int] = {}
        settled = 0
        for raw in raw_items:
            if raw["sk"]["S"] == PUSHED_MARKS_SORT_KEY:
                # The map's raw DynamoDB JSON: {connection id: {"N": version}}.
                marks = raw.get("pushed", {}).get("M", {})
                pushed = {str(k): int(v["N"]) for k, v in marks.items() if "N" in v}
                settled = int(raw.get("settled", {}).get("N", "0"))
            else:
                connections.append(_to_connection(self._items.from_raw_data(raw)))
        return TenantConnections(connections=connections, pushed=pushed, settled=settled)

    def record_pushed(
        self, tenant_id: str, pushed: Mapping[str, int], expires: int, settled: int = 0
    ) -> None:
        self._marks(tenant_id, pushed=dict(pushed), settled=settled, expires=expires).save()

    def record_settled(self, tenant_id: str, settled: int, expires: int) -> None:
        marks = self._marks
        try:
            marks(tenant_id).update(
                actions=[marks.settled.set(settled), marks.expires.set(expires)],
                condition=marks.settled.does_not_exist() | (marks.settled < settled),
            )
        except UpdateError as error:
            # Another writer recorded a later version already: nothing to do.
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def raise_ack(self, tenant_id: str, connection_id: str, version: int) -> bool:
        items = self._items
        try:
            items(tenant_id, connection_id).update(
                actions=[items.acked_version.set(version)],
                condition=items.pk.exists() & (items.acked_version < version),
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            # Refused: acked that far already, or gone. Rare (acks rise), so one read says which.
            try:
                items.get(tenant_id, connection_id, consistent_read=True)
            except DoesNotExist:
                return False
        return True

    def follow(
        self, tenant_id: str, connection_id: str, collections: frozenset[str] | None
    ) -> None:
        items = self._items
        action = (
            items.collections.set(set(collections)) if collections else items.collections.remove()
        )
        try:
            items(tenant_id, connection_id).update(actions=[action], condition=items.pk.exists())
        except UpdateError as error:
            # Gone meanwhile: its next message is answered by closing it.
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def remove(self, tenant_id: str, connection_id: str) -> None:
        with TransactWrite(connection=self._table.connection()) as transaction:
            transaction.delete(self._items(tenant_id, connection_id))
            transaction.delete(self._pointers(_pointer_key(connection_id), "connection"))

    def delete_all(self, tenant_id: str) -> int:
        connections = self.for_tenant(tenant_id)
        for connection in connections:
            self.remove(tenant_id, connection.connection_id)
        self._marks(tenant_id).delete()
        return len(connections)
