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
