"""The WebSocket gateway's I/O: sockets and `@connections` on one port, handlers on threads.

Starlette routes the two kinds of traffic; everything API Gateway decides (events,
routes, replies, limits) comes from the socket-free modules beside this one. Handlers
run through the Lambda emulation on a thread pool, so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Collection, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from infra.local import faults as fault_control
from infra.local import request_signing
from infra.local.app_loader import LoadedApp
from infra.local.faults import Faults
from infra.local.lambda_runtime import Invocation, LambdaRuntime, websocket_function_names
from infra.local.request_signing import LOCAL_KEY, SigningKey
from infra.local.websocket_gateway import management
from infra.local.websocket_gateway.connections import (
    Connection,
    ConnectionRegistry,
    PeerGoneError,
)
from infra.local.websocket_gateway.events import (
    CONNECT_ROUTE,
    DISCONNECT_ROUTE,
    ApiInfo,
    ConnectionInfo,
    UpgradeRequest,
    connect_event,
    disconnect_event,
    local_api_id,
    message_event,
    new_id,
)
from infra.local.websocket_gateway.limits import (
    BINARY_FRAME,
    DELETED,
    MESSAGE_TOO_BIG,
    CloseCause,
    ConnectionLimits,
    client_close,
)
from infra.local.websocket_gateway.routing import (
    FORBIDDEN_MESSAGE,
    INTERNAL_ERROR_MESSAGE,
    THROTTLED_MESSAGE,
    ConnectDecision,
    client_error,
    connect_decision,
    select_route,
    throttled_connect,
)
from infra.local.websocket_gateway.scheduling import FairInbox, TokenBucket

log = logging.getLogger("userdb.local.websocket")


@dataclass(frozen=True)
class WebSocketApi:
    """The API as deployed: its id, stage and which function serves each route key."""

    api_id: str
    stage: str
    routes: dict[str, str] = field(default_factory=dict)


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


class _StarlettePeer:
    """A connection's client end, through Starlette's WebSocket."""

    __slots__ = ("_ws",)

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws

    async def send_text(self, text: str) -> None:
        await self._ws.send_text(text)

    async def send_bytes(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)


def _reply(reply: management.ManagementReply) -> Response:
    return Response(reply.body, reply.status, headers=reply.headers)


class WebSocketGateway:
    """API Gateway's WebSocket API for one app: an ASGI app plus its housekeeping."""

    def __init__(
        self,
        api: WebSocketApi,
        lambdas: LambdaRuntime,
        limits: ConnectionLimits | None = None,
        *,
        workers: int = 32,
        clock: Callable[[], float] = time.monotonic,
        epoch_ms: Callable[[], int] = _epoch_ms,
        faults: Faults | None = None,
        signing_key: SigningKey = LOCAL_KEY,
        hosts: Collection[str] | None = None,
    ) -> None:
        self.api = api
        self.faults = faults or Faults()
        # `@connections` and `/@faults` take only requests signed with this key for one of
        # `hosts` (None: whatever Host the request names).
        self._signing_key = signing_key
        self._hosts = hosts
        self.limits = limits or ConnectionLimits()
        self.connections = ConnectionRegistry()
        self._lambdas = lambdas
        self._clock = clock
        self._epoch_ms = epoch_ms
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ws-lambda")
        self._sessions: set[asyncio.Task[Any]] = set()
        self._messages: set[asyncio.Task[None]] = set()
        # Client messages wait per connection and run in turns, at most `workers` at once.
        self._workers = workers
        self._inbox: FairInbox[str, tuple[Connection, str]] = FairInbox(
            self.limits.max_waiting_messages, self.limits.max_running_messages
        )
        self._running_messages = 0
        self._dispatcher: asyncio.Task[None] | None = None
        self._runnable: asyncio.Event | None = None
        # API Gateway's route throttling: a bucket per route key, the stage's numbers.
        self._route_buckets: dict[str, TokenBucket] = {}
        self.app = Starlette(
            routes=[
                Route("/@faults", self._control_faults, methods=["GET", "PUT", "DELETE"]),
                WebSocketRoute("/", self._session),
                WebSocketRoute("/{stage}", self._session),
                WebSocketRoute("/{stage}/", self._session),  # the URL AWS prints ends so
                Route(
                    "/@connections/{connection_id}",
                    self._manage,
                    methods=["GET", "POST", "DELETE"],
                ),
                Route(
                    "/{stage}/@connections/{connection_id}",
                    self._manage,
                    methods=["GET", "POST", "DELETE"],
                ),
            ],
            exception_handlers={404: self._unknown_path},
        )

    # -- Lambda ---------------------------------------------------------------------------

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Invocation:
        loop = asyncio.get_running_loop()
        function = self.api.routes[route_key]
        return await loop.run_in_executor(self._executor, self._lambdas.invoke, function, event)

    # -- sockets --------------------------------------------------------------------------

    def _connection_info(self, ws: WebSocket) -> ConnectionInfo:
        server_host, server_port = ws.scope.get("server") or ("127.0.0.1", 0)
        domain = ws.headers.get("host") or f"{server_host}:{server_port}"
        return ConnectionInfo(
            connection_id=new_id(),
            connected_at_ms=self._epoch_ms(),
            source_ip=ws.client.host if ws.client else "127.0.0.1",
            user_agent=ws.headers.get("user-agent"),
            api=ApiInfo(api_id=self.api.api_id, stage=self.api.stage, domain_name=domain),
        )

    @staticmethod
    def _upgrade_request(ws: WebSocket) -> UpgradeRequest:
        server = ws.scope.get("server") or ("127.0.0.1", 0)
        return UpgradeRequest(
            headers=tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in ws.scope["headers"]
            ),
            query_string=ws.scope.get("query_string", b"").decode("latin-1"),
            server_port=int(server[1] or 0),
        )

    async def _session(self, ws: WebSocket) -> None:
        """One socket from upgrade to `$disconnect`."""
        stage = ws.path_params.get("stage")
        if not management.stage_matches(stage, self.api.stage):
            await ws.send_denial_response(Response(b'{"message":"Forbidden"}', 403))
            return
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
        try:
            await self._run_session(ws)
        finally:
            if task is not None:
                self._sessions.discard(task)

    async def _run_session(self, ws: WebSocket) -> None:
        info = self._connection_info(ws)
        now = self._clock()
        connection = Connection(info, _StarlettePeer(ws), now, now, info.connected_at_ms)
        self.connections.add(connection)
        try:
            decision = await self._connect(connection, ws)
            if not decision.accepted:
                response = Response(decision.body, decision.status, headers=decision.headers)
                with contextlib.suppress(OSError, WebSocketDisconnect, RuntimeError):
                    await ws.send_denial_response(response)
                return
            try:
                await ws.accept(subprotocol=decision.subprotocol)
            except (OSError, WebSocketDisconnect):
                # `$connect` accepted a client that has already left: still tell the app.
                await self._disconnected(connection, client_close(1006, None))
                return
            connection.open = True
            cause = await self._receive_until_closed(connection, ws)
            connection.open = False
            await self._disconnected(connection, cause)
        finally:
            self.connections.remove(info.connection_id)

    def _throttled(self, route_key: str) -> bool:
        """True when the stage's throttling refuses one more request to `route_key`."""
        bucket = self._route_buckets.get(route_key)
        if bucket is None:
            throttle = self.limits.throttling.for_route(route_key)
            if throttle is None:
                return False
            bucket = TokenBucket(throttle.rate_per_second, throttle.burst, self._clock)
            self._route_buckets[route_key] = bucket
        return not bucket.take()

    async def _connect(self, connection: Connection, ws: WebSocket) -> ConnectDecision:
        if CONNECT_ROUTE not in self.api.routes:
            return ConnectDecision(200)
        if self._throttled(CONNECT_ROUTE):
            return throttled_connect()
        now_ms = self._epoch_ms()
        event = connect_event(connection.info, self._upgrade_request(ws), now_ms, new_id())
        invocation = await self._invoke(CONNECT_ROUTE, event)
        return connect_decision(invocation.result, failed=not invocation.ok)

    async def _receive_until_closed(self, connection: Connection, ws: WebSocket) -> CloseCause:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                if connection.close_cause is not None:
                    return connection.close_cause
                code = message.get("code")
                if code == MESSAGE_TOO_BIG.code:
                    return MESSAGE_TOO_BIG
                return client_close(code, message.get("reason"))
            text = message.get("text")
            if text is None:
                # API Gateway takes no binary frames: it closes with 1003.
                await connection.close(BINARY_FRAME)
                continue
            connection.touch(self._clock(), self._epoch_ms())
            self._enqueue(connection, text)

    # -- client messages: a queue per connection, run in turns ------------------------------

    def _enqueue(self, connection: Connection, body: str) -> None:
        if not self._inbox.offer(connection.connection_id, (connection, body)):
            # Its queue is full: refused as throttled, and the client told once (until it
            # has room again), so that a flood costs next to nothing.
            if not connection.told_throttled:
                connection.told_throttled = True
                self._spawn(self._tell_client(connection, THROTTLED_MESSAGE, new_id()))
            return
        connection.told_throttled = False
        self._wake_dispatcher()

    def _wake_dispatcher(self) -> None:
        if self._runnable is None:
            self._runnable = asyncio.Event()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(self._runnable))
        self._runnable.set()

    async def _dispatch(self, runnable: asyncio.Event) -> None:
        """Start waiting messages, a connection at a time in turn, while workers are free."""
        while True:
            await runnable.wait()
            runnable.clear()
            while self._running_messages < self._workers:
                taken = self._inbox.take()
                if taken is None:
                    break
                self._running_messages += 1
                self._spawn(self._run_message(*taken[1]))

    async def _run_message(self, connection: Connection, body: str) -> None:
        try:
            await self._on_message(connection, body)
        finally:
            self._running_messages -= 1
            self._inbox.done(connection.connection_id)
            if self._runnable is not None:
                self._runnable.set()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._messages.add(task)
        task.add_done_callback(self._messages.discard)

    async def _on_message(self, connection: Connection, body: str) -> None:
        try:
            await self._route_message(connection, body)
        except Exception:  # a task nobody awaits: say what went wrong instead of losing it
            log.exception("handling a message of %s failed", connection.connection_id)

    async def _route_message(self, connection: Connection, body: str) -> None:
        route = select_route(body, self.api.routes.keys())
        request_id = new_id()
        if route is None:
            await self._tell_client(connection, FORBIDDEN_MESSAGE, request_id)
            return
        if self._throttled(route):
            await self._tell_client(connection, THROTTLED_MESSAGE, request_id)
            return
        event = message_event(
            connection.info,
            route,
            body,
            self._epoch_ms(),
            request_id=request_id,
            message_id=new_id(),
        )
        invocation = await self._invoke(route, event)
        if not invocation.ok:
            await self._tell_client(connection, INTERNAL_ERROR_MESSAGE, request_id)

    async def _tell_client(self, connection: Connection, message: str, request_id: str) -> None:
        frame = client_error(message, connection.connection_id, request_id)
        with contextlib.suppress(PeerGoneError):
            await connection.deliver(frame.encode(), self._clock(), self._epoch_ms())

    async def _disconnected(self, connection: Connection, cause: CloseCause) -> None:
        connection.open = False
        if DISCONNECT_ROUTE not in self.api.routes:
            return
        event = disconnect_event(
            connection.info, cause.code, cause.reason, self._epoch_ms(), new_id()
        )
        await self._invoke(DISCONNECT_ROUTE, event)

    # -- @connections ---------------------------------------------------------------------

    async def _unsigned(self, request: Request, body: bytes, request_id: str) -> Response | None:
        """403 unless the request is signed with the runtime's key (request_signing.py)."""
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        host = request.headers.get("host", "")
        url = f"http://{host}{raw_path.decode('latin-1')}" + (
            f"?{query.decode('latin-1')}" if query else ""
        )
        received = request_signing.ReceivedRequest(
            request.method,
            url,
            {name.lower(): value for name, value in request.headers.items()},
            body,
        )
        refusal = request_signing.verify(
            received,
            key=self._signing_key,
            hosts=self._hosts if self._hosts is not None else {host},
            now=dt.datetime.now(dt.UTC),
        )
        if refusal is None:
            return None
        log.info("refused an unsigned %s %s: %s", request.method, request.url.path, refusal.message)
        return _reply(management.refused(refusal.error_type, refusal.message, request_id))

    async def _manage(self, request: Request) -> Response:
        request_id = new_id()
        if not management.stage_matches(request.path_params.get("stage"), self.api.stage):
            return _reply(management.forbidden(request_id))
        payload = await self._payload(request, request_id)
        if isinstance(payload, Response):
            return payload
        refused = await self._unsigned(request, payload, request_id)
        return refused or await self._connection_call(request, payload, request_id)

    async def _connection_call(self, request: Request, payload: bytes, request_id: str) -> Response:
        """A signed POST, GET or DELETE on `@connections/{id}`."""
        connection_id = str(request.path_params["connection_id"])
        fault = self.faults.connection_fault(request.method, connection_id)
        if fault is not None and fault.delay_ms is not None:
            log.info("injected delay: %s %s, %d ms", request.method, connection_id, fault.delay_ms)
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault is not None and fault.status is not None:
            log.info("injected fault: %s %s -> %d", request.method, connection_id, fault.status)
            return _reply(
                management.injected(fault.status, fault.error_type, connection_id, request_id)
            )
        if request.method == "POST":
            return await self._post(payload, connection_id, request_id)
        connection = self.connections.open_connection(connection_id)
        if connection is None:
            return _reply(management.gone(connection_id, request_id))
        if request.method == "GET":
            return _reply(
                management.described(connection.info, connection.last_active_ms, request_id)
            )
        await connection.close(DELETED)
        return _reply(management.deleted(request_id))

    async def _post(self, payload: bytes, connection_id: str, request_id: str) -> Response:
        connection = self.connections.open_connection(connection_id)
        if connection is None:
            return _reply(management.gone(connection_id, request_id))
        try:
            await connection.deliver(payload, self._clock(), self._epoch_ms())
        except PeerGoneError:
            return _reply(management.gone(connection_id, request_id))
        return _reply(management.ok(request_id))

    async def _payload(self, request: Request, request_id: str) -> bytes | Response:
        """The body, or 413 over API Gateway's 128 KB (declared or streamed)."""
        limit = self.limits.max_message_bytes
        length = request.headers.get("content-length", "")
        declared = int(length) if length.isdigit() else 0
        if declared > limit:
            return _reply(management.payload_too_large(declared, request_id))
        payload = await self._read_capped(request, limit)
        if payload is None:
            return _reply(management.payload_too_large(limit + 1, request_id))
        return payload

    @staticmethod
    async def _read_capped(request: Request, limit: int) -> bytes | None:
        """The body, or None as soon as it grows past `limit` (chunked uploads included)."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _control_faults(self, request: Request) -> Response:
        body = await request.body()
        refused = await self._unsigned(request, body, new_id())
        if refused is not None:
            return refused
        status, answer = fault_control.control(self.faults, request.method, body)
        return JSONResponse(answer, status_code=status)

    async def _unknown_path(self, request: Request, _: Exception) -> Response:
        return _reply(management.forbidden(new_id()))

    # -- housekeeping ---------------------------------------------------------------------

    async def sweep_forever(self) -> None:
        """Close connections past their idle timeout or maximum lifetime, until cancelled."""
        while True:
            await asyncio.sleep(self.limits.sweep_interval_s)
            try:
                for connection, cause in self.connections.expired(self.limits, self._clock()):
                    log.info("closing %s: %s", connection.connection_id, cause.reason)
                    await connection.close(cause)
            except Exception:  # one bad round must not end the sweeping
                log.exception("sweeping expired connections failed")

    async def close_all(self, cause: CloseCause, grace_s: float) -> None:
        """Close every connection and wait (at most `grace_s`) for their `$disconnect`."""
        for connection in self.connections:
            if connection.open:
                await connection.close(cause)
        pending = self._sessions | self._messages
        if pending:
            await asyncio.wait(pending, timeout=grace_s)

    def shutdown(self) -> None:
        """Let no new invocation start; those still running finish on their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def build_websocket_gateway(
    loaded: LoadedApp,
    lambdas: LambdaRuntime,
    limits: ConnectionLimits,
    faults: Faults | None = None,
    hosts: Collection[str] | None = None,
) -> WebSocketGateway:
    """The gateway for a loaded Chalice app: its websocket handlers, its API Gateway stage."""
    api = WebSocketApi(
        api_id=local_api_id(loaded.app.app_name, "websocket"),
        stage=loaded.api_gateway_stage,
        routes=websocket_function_names(loaded.app, loaded.config),
    )
    return WebSocketGateway(api, lambdas, limits, faults=faults, hosts=hosts)
