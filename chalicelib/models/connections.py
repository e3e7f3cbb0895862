"""A tenant's live WebSocket connection."""

from __future__ import annotations

from chalicelib.models.base import ResponseModel


class Connection(ResponseModel):
    tenant_id: str
    connection_id: str
    client_id: str
    session_id: str
    acked_version: int = 0
    connected_at: int
    # The collections this connection follows (its `hello` said so); None: all of them.
    collections: frozenset[str] | None = None


class TenantConnections(ResponseModel):
    """A tenant's live connections and its pushed marks, as one Query reads them.

    `pushed` maps a connection id to the highest version a write's own push is known to
    have posted to it contiguously (docs/protocol.md, The fast path); ids of connections
    that are gone may remain until the marks are next written.
    """

    connections: list[Connection]
    pushed: dict[str, int] = {}
    # The highest version whose writer's own push is over (docs/protocol.md, The claim).
    settled: int = 0

    def placed(self, connection: Connection) -> bool:
        """Whether the server knows where the connection's client is: it acked a version, or
        was posted a catch-up or a change (a connection still saying hello is not)."""
        return connection.acked_version > 0 or connection.connection_id in self.pushed

    def covered(self, connection: Connection) -> int:
        """The version up to which `connection` holds every change: acked by the client,
        or posted to it contiguously."""
        return max(connection.acked_version, self.pushed.get(connection.connection_id, 0))
