"""A WebSocket server that runs the realtime protocol's own server logic, for SDK driver tests.

It is not the local runtime's gateway: it is the smallest socket server around
`chalicelib.logic.connections.ConnectionService` and `chalicelib.logic.fanout.FanOut`
(the real code), with in-memory stores from tests/support/fakes.py. It lets the SDK's
I/O layer (real websocket-client sockets, threads, timeouts, reconnects) be
tested without the full stack; tests/integration/ run the SDK against
`python -m infra.local up`. Tests can drop sockets, mute the server (no pongs)
and see every message it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import urllib.parse
from concurrent.futures import Future
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chalicelib.dal.connection_push import ConnectionGoneError
from chalicelib.errors import UserdbError
from chalicelib.logic.connections import ConnectionService
from chalicelib.logic.fanout import FanOut, TenantRange
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.sessions import ClientInfo, SessionService
from infra.local.ports import free_port
from tests.support.fakes import FakeChangeFeed, InMemoryConnectionStore, InMemorySessionStore


class _Clock:
    def now(self) -> float:
        return time.time()


class ProtocolServer:
    """Start with `start()`; `url` is ws://127.0.0.1:<free port>/."""

    def __init__(self) -> None:
        clock = _Clock()
        self.sessions = SessionService(
            InMemorySessionStore(),
            SessionCache(100, 0, clock),
            clock,
            lifetime_seconds=86_400,
            renew_after_seconds=86_400,
        )
        self.connections = InMemoryConnectionStore()
        self.feed = FakeChangeFeed()
        self.service = ConnectionService(self.sessions, self.connections, self.feed, clock)
        self.fanout = FanOut(self.feed, self.connections, self)
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/"
        self.muted = False  # when set, client messages are ignored (no pong, no welcome)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self._sockets: dict[str, ServerConnection] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Server | None = None
        self._pending: list[tuple[ServerConnection, str]] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ProtocolServer:
        self._thread.start()
        self._server = self._call(self._serve())
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                self._call(self._server.wait_closed())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self) -> Server:
        return await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            process_request=self._upgrade,
            ping_interval=None,
        )

    def _call(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(10)

    # ------------------------------------------------------------------ test controls
    def sign_in(self, user_id: str) -> str:
        token, _ = self.sessions.start(user_id, ClientInfo())
        return token

    def write(self, user_id: str, note_id: str, text: str | None) -> int:
        """Commit a write and fan it out, as the stream handler would."""
        before = self.feed.current_version(user_id)
        version = self.feed.write(user_id, note_id, text)
        self.fanout.deliver(TenantRange(user_id, before, version))
        return version

    def drop_all(self) -> None:
        """Close every socket abruptly (like a gateway restart)."""
        for websocket in list(self._sockets.values()):
            self._loop.call_soon_threadsafe(websocket.transport.abort)

    def messages(self, direction: str = "sent", kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            log = list(self.sent if direction == "sent" else self.received)
        found = [message for _, message in log]
        if kind is not None:
            key = "type" if direction == "sent" else "action"
            found = [message for message in found if message.get(key) == kind]
        return found

    # ------------------------------------------------------------------ ConnectionPusher
    def post(self, connection_id: str, data: bytes) -> None:
        websocket = self._sockets.get(connection_id)
        if websocket is None:
            raise ConnectionGoneError(connection_id)
        with self._lock:
            self.sent.append((connection_id, json.loads(data)))
        text = data.decode()
        if threading.current_thread() is self._thread:
            self._pending.append((websocket, text))  # sent in order after the handler step
        else:
            try:
                self._call(websocket.send(text))
            except ConnectionClosed:
                raise ConnectionGoneError(connection_id) from None  # what @connections says

    def close(self, connection_id: str) -> None:
        websocket = self._sockets.get(connection_id)
        if websocket is not None:
            self._loop.call_soon_threadsafe(lambda: self._loop.create_task(websocket.close()))

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for websocket, text in pending:
            with contextlib.suppress(Exception):
                await websocket.send(text)

    # ------------------------------------------------------------------ the gateway part
    def _upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        connection_id = f"conn{next(self._ids)}"
        try:
            self.service.connect(connection_id, query.get("token"), query.get("clientId"))
        except UserdbError as error:
            return connection.respond(HTTPStatus(error.status), error.message)
        connection.connection_id = connection_id  # type: ignore[attr-defined]
        return None

    async def _handle(self, websocket: ServerConnection) -> None:
        connection_id: str = websocket.connection_id  # type: ignore[attr-defined]
        self._sockets[connection_id] = websocket
        try:
            async for message in websocket:
                with self._lock:
                    self.received.append((connection_id, json.loads(message)))
                if not self.muted:
                    self.service.receive(connection_id, message, self)
                    await self._flush()
        except Exception:  # noqa: S110 - a dropped socket ends the handler
            pass
        finally:
            self._sockets.pop(connection_id, None)
            self.service.disconnect(connection_id)
