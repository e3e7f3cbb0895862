"""The live connections: who is connected, when they were last active, in-order delivery.

No sockets here: a connection talks to its client through a `Peer`, so the
bookkeeping (ordering, expiry, gone-ness) is tested with an in-memory peer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from infra.local.websocket_gateway.events import ConnectionInfo
from infra.local.websocket_gateway.limits import CloseCause, ConnectionLimits, expiry

log = logging.getLogger("userdb.local.websocket")


class Peer(Protocol):
    """The client end of one socket."""

    async def send_text(self, text: str) -> None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class PeerGoneError(Exception):
    """The socket is closed or closing; nothing more can be sent on it."""


@dataclass(eq=False, slots=True)
class Connection:
    """One client connection; `open` once `$connect` accepted it, until it closes."""

    info: ConnectionInfo
    peer: Peer
    connected_at: float  # monotonic seconds, for the limits
    last_active: float  # monotonic seconds
    last_active_ms: int  # epoch ms, for GetConnection
    open: bool = False
    close_cause: CloseCause | None = None
    # Told that a message was refused as throttled, and not admitted one since.
    told_throttled: bool = False
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def connection_id(self) -> str:
        return self.info.connection_id

    def touch(self, now: float, now_ms: int) -> None:
        """A data message went one way or the other: the connection is not idle."""
        self.last_active = now
        self.last_active_ms = now_ms

    async def deliver(self, payload: bytes, now: float, now_ms: int) -> None:
        """Send one message; posts to one connection leave in the order they were made.

        Text frames when the payload is UTF-8 (as API Gateway sends what is posted),
        binary frames otherwise. Raises PeerGoneError once the connection is closing.
        """
        async with self._send_lock:
            if not self.open or self.close_cause is not None:
                raise PeerGoneError(self.connection_id)
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            try:
                if text is not None:
                    await self.peer.send_text(text)
                else:
                    await self.peer.send_bytes(payload)
            except Exception as error:
                raise PeerGoneError(self.connection_id) from error
            self.touch(now, now_ms)

    async def close(self, cause: CloseCause) -> bool:
        """Close from the server side; False if it was already closing."""
        if self.close_cause is not None:
            return False
        self.close_cause = cause
        # No send lock: a send that waits for a slow client must not hold the close back.
        try:
            await self.peer.close(cause.code, cause.reason)
        except Exception:  # the client may already be gone; the close still stands
            log.debug("close of %s after the client left", self.connection_id)
        return True


class ConnectionRegistry:
    """Connections by id, including those still in `$connect` (not open yet)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Connection] = {}

    def add(self, connection: Connection) -> None:
        self._by_id[connection.connection_id] = connection

    def remove(self, connection_id: str) -> None:
        self._by_id.pop(connection_id, None)

    def open_connection(self, connection_id: str) -> Connection | None:
        """The connection if it can be posted to, got or deleted (else API Gateway says Gone)."""
        connection = self._by_id.get(connection_id)
        if connection is None or not connection.open or connection.close_cause is not None:
            return None
        return connection

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_id.values()))

    def expired(self, limits: ConnectionLimits, now: float) -> list[tuple[Connection, CloseCause]]:
        """Open connections past their idle timeout or maximum lifetime, with the cause."""
        due: list[tuple[Connection, CloseCause]] = []
        for connection in self._by_id.values():
            if not connection.open or connection.close_cause is not None:
                continue
            cause = expiry(limits, connection.connected_at, connection.last_active, now)
            if cause is not None:
                due.append((connection, cause))
        return due
