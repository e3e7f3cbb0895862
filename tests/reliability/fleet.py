"""Many sync clients in one thread: the SDK's `SyncEngine` driven from one asyncio loop.

The SDK drives its engine with a thread and a socket per client (userdb/live.py). The
reliability suite runs up to 150 clients beside the runtime on two cores, so it drives
the same engine — the same rules: backoff with jitter, `hello since=cursor`, gaps and
`sync`, throttled cumulative acks, pings — from one event loop (`websockets`), where an
idle client costs a socket and nothing else. Faults on the client's side are made here:
acks dropped before they leave, sockets cut without a close frame.

Each client records what it applied: how often each (note id, version) was applied
(a note applied twice is a bug even when the end state is right), every cursor
movement (it must never go backwards), and the messages, bytes, reconnects and
retries it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection, connect

from userdb.sync import (
    ChangeSet,
    Connect,
    Disconnect,
    DocsChanged,
    Effect,
    SaveState,
    Send,
    ServerErrorReceived,
    StatusChanged,
    SyncEngine,
    SyncState,
    SyncTimings,
)

T = TypeVar("T")

# Stand-ins for API Gateway's side of a connection: no pings (it sends none), no compression.
OPEN_TIMEOUT_S = 10.0
CLOSE_TIMEOUT_S = 2.0

Notes = dict[str, tuple[str, int]]  # note id -> (text, version)


@dataclass
class Observed:
    """What one client saw and did, for the suite's assertions and figures."""

    applied: Counter[tuple[str, int]] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    cursor_moves: int = 0
    cursor_regressions: list[tuple[int | None, int | None]] = field(default_factory=list)
    messages: Counter[str] = field(default_factory=Counter)
    bytes_received: int = 0
    duplicate_changes: int = 0  # `changes` wholly at or below the cursor when they came
    gap_changes: int = 0  # `changes` beginning beyond the cursor
    snapshots_applied: int = 0
    opened: int = 0
    connect_failures: int = 0
    refused: Counter[int] = field(default_factory=Counter)  # HTTP status of refused upgrades
    closes: Counter[str] = field(default_factory=Counter)  # why each socket ended
    cuts: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    acks_dropped: int = 0
    server_errors: Counter[str] = field(default_factory=Counter)


class FleetClient:
    """One client (one `clientId`) of one signed-in user; lives on the fleet's loop."""

    def __init__(
        self,
        name: str,
        ws_url: Callable[..., str],
        token: str,
        *,
        rng: random.Random,
        timings: SyncTimings | None = None,
        ack_drop_rate: float = 0.0,
    ) -> None:
        self.name = name
        self._ws_url = ws_url
        self.token = token
        self._rng = rng
        self.ack_drop_rate = ack_drop_rate
        client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.engine = SyncEngine(
            SyncState(client_id), clock=time.monotonic, random=rng.random, timings=timings
        )
        self.seen = Observed()
        self._held: dict[str, int] = {}  # note id -> version, as the engine holds them
        self._cursor: int | None = None
        self._ws: ClientConnection | None = None
        self._generation = 0  # events of sockets before the current one are stale
        self._inbox: asyncio.Queue[tuple[Any, ...]] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- read by the test (on the loop, through Fleet.call) ---------------------------------

    @property
    def cursor(self) -> int | None:
        return self.engine.state.cursor

    @property
    def connection_id(self) -> str | None:
        return self.engine.connection_id

    def notes(self) -> Notes:
        return {
            doc.id: (str(doc.data.get("text")), doc.version)
            for doc in self.engine.state.docs.values()
            if doc.collection == "notes"
        }

    def holds(self, version: int, notes: Notes) -> bool:
        return self.cursor == version and self.notes() == notes

    # -- the driver ----------------------------------------------------------------------

    async def run(self) -> None:
        self._inbox = asyncio.Queue()
        await self._carry_out(self.engine.start())
        while self.engine.running or self._ws is not None:
            due = self.engine.next_timer()
            wait = None if due is None else max(0.0, due - time.monotonic())
            try:
                event = await asyncio.wait_for(self._inbox.get(), wait)
            except TimeoutError:
                event = None
            effects = [] if event is None else self._on_event(event)
            due = self.engine.next_timer()
            if event is None or (due is not None and due <= time.monotonic()):
                effects += self.engine.tick()
            await self._carry_out(effects)

    def post(self, *event: Any) -> None:
        """Queue an event for the driver (call on the loop)."""
        assert self._inbox is not None
        self._inbox.put_nowait(event)

    def _on_event(self, event: tuple[Any, ...]) -> list[Effect]:
        kind = event[0]
        if kind == "message" and event[1] == self._generation:
            return self._on_message(event[2])
        if kind == "closed" and event[1] == self._generation:
            self._ws = None
            self.seen.closes[event[2]] += 1
            return self.engine.on_close(event[2])
        if kind == "cut":
            return self._cut()
        if kind == "stop":
            return self.engine.stop()
        return []

    def _on_message(self, data: str | bytes) -> list[Effect]:
        self.seen.bytes_received += len(data)
        with contextlib.suppress(ValueError, TypeError, KeyError):
            message = json.loads(data)
            kind = str(message.get("type"))
            self.seen.messages[kind] += 1
            if kind == "changes" and not message.get("snapshot"):
                cursor = self.engine.state.cursor
                if cursor is not None and int(message["to"]) <= cursor:
                    self.seen.duplicate_changes += 1
                elif int(message["from"]) > (cursor or 0):
                    self.seen.gap_changes += 1
        return self.engine.on_message(data)

    def _cut(self) -> list[Effect]:
        """Drop the socket without a close frame (a network failure); the engine reconnects."""
        ws, self._ws = self._ws, None
        if ws is None:
            return []
        self._generation += 1
        self.seen.cuts += 1
        ws.transport.abort()
        return self.engine.on_close("cut by the test")

    async def _carry_out(self, effects: list[Effect]) -> None:
        todo = deque(effects)
        while todo:
            effect = todo.popleft()
            if isinstance(effect, Connect):
                todo.extend(await self._connect())
            elif isinstance(effect, Send):
                todo.extend(await self._send(effect))
            elif isinstance(effect, Disconnect):
                if self._ws is not None and effect.reason != "stopped":
                    self.seen.closes[effect.reason] += 1  # the engine gave up on the socket
                await self._close(graceful=effect.reason == "stopped")
            elif isinstance(effect, DocsChanged):
                self._record(effect.changes)
            elif isinstance(effect, ServerErrorReceived):
                self.seen.server_errors[effect.code] += 1
            elif isinstance(effect, SaveState | StatusChanged):
                pass  # state stays in memory; status is read from the engine

    async def _connect(self) -> list[Effect]:
        url = self._ws_url(token=self.token, clientId=self.engine.state.client_id)
        try:
            ws = await connect(
                url,
                open_timeout=OPEN_TIMEOUT_S,
                close_timeout=CLOSE_TIMEOUT_S,
                ping_interval=None,
                compression=None,
                max_size=None,
            )
        except websockets.InvalidStatus as error:
            status = error.response.status_code
            self.seen.connect_failures += 1
            self.seen.refused[status] += 1
            return self.engine.on_connect_failed(f"upgrade refused (HTTP {status})", status)
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            self.seen.connect_failures += 1
            return self.engine.on_connect_failed(f"cannot connect: {type(error).__name__}")
        self._generation += 1
        self._ws = ws
        self.seen.opened += 1
        asyncio.get_running_loop().create_task(self._read(ws, self._generation))
        return self.engine.on_open()

    async def _read(self, ws: ClientConnection, generation: int) -> None:
        try:
            async for data in ws:
                self.post("message", generation, data)
        except websockets.ConnectionClosed:
            pass
        except OSError:
            pass
        code = ws.close_code if ws.close_code is not None else 1006
        self.post("closed", generation, f"close {code}")

    async def _send(self, effect: Send) -> list[Effect]:
        action = str(effect.message.get("action"))
        if action == "ack" and self._rng.random() < self.ack_drop_rate:
            self.seen.acks_dropped += 1
            return []
        ws = self._ws
        if ws is None:
            return []
        try:
            await ws.send(effect.text)
        except (OSError, websockets.WebSocketException):
            self._ws = None
            self._generation += 1
            ws.transport.abort()
            return self.engine.on_close("send failed")
        self.seen.sent[action] += 1
        return []

    async def _close(self, *, graceful: bool) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        self._generation += 1
        if graceful:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), CLOSE_TIMEOUT_S)
        ws.transport.abort()

    def _record(self, changes: ChangeSet) -> None:
        if changes.local:
            return
        if changes.snapshot:
            self.seen.snapshots_applied += 1
            fresh = {n.id: n.version for n in changes.upserted}  # notes only: ids are unique
            for note_id, version in fresh.items():
                if self._held.get(note_id) != version:
                    self.seen.applied[(note_id, version)] += 1
            self._held = fresh
        else:
            for note in changes.upserted:
                self.seen.applied[(note.id, note.version)] += 1
                self._held[note.id] = note.version
            for _, note_id in changes.deleted:
                self.seen.removed[note_id] += 1
                self._held.pop(note_id, None)
        before, after = self._cursor, changes.cursor
        if before is not None and (after is None or after < before):
            self.seen.cursor_regressions.append((before, after))
        if after != before:
            self.seen.cursor_moves += 1
        self._cursor = after


class Fleet:
    """An event loop in a thread running many FleetClients; the test's thread steers it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fleet", daemon=True)
        self._thread.start()
        self.clients: list[FleetClient] = []
        self._tasks: list[asyncio.Task[None]] = []
        # The loop's worst lateness: a late loop, not the server, can make a pong "missing".
        self.lag_max_s = 0.0
        self._lag_watch = self.call(lambda: self.loop.create_task(self._watch_lag()))

    async def _watch_lag(self, every_s: float = 0.1) -> None:
        while True:
            due = time.monotonic() + every_s
            await asyncio.sleep(every_s)
            self.lag_max_s = max(self.lag_max_s, time.monotonic() - due)

    def call(self, function: Callable[[], T], timeout_s: float = 10.0) -> T:
        """Run `function` on the loop (a consistent view of the clients) and return its result."""

        async def run() -> T:
            return function()

        return self._submit(run()).result(timeout_s)

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Run a coroutine on the loop beside the clients (e.g. a writer's schedule)."""
        return self._submit(coroutine)

    def clients_of(
        self,
        ws_url: Callable[..., str],
        token: str,
        names: list[str],
        rng: random.Random,
        *,
        timings: SyncTimings | None = None,
        ack_drop_rate: float = 0.0,
    ) -> list[FleetClient]:
        """Clients of one session, one per name, each with its own random source from `rng`
        (so a run's seed decides every client's jitter and ids)."""
        return [
            FleetClient(
                name,
                ws_url,
                token,
                rng=random.Random(rng.getrandbits(64)),
                timings=timings,
                ack_drop_rate=ack_drop_rate,
            )
            for name in names
        ]

    def start_welcomed(self, clients: list[FleetClient], timeout_s: float = 15.0) -> None:
        """Start the clients and wait until each has been welcomed."""
        self.start(clients)
        self.wait_until(
            lambda: all(c.connection_id for c in clients), timeout_s, "every client's welcome"
        )

    def start(self, clients: list[FleetClient]) -> None:
        """Start the clients (each connects, says hello, and keeps itself in sync)."""

        def begin() -> None:
            for client in clients:
                self._tasks.append(self.loop.create_task(client.run(), name=client.name))

        self.clients.extend(clients)
        self.call(begin)

    def cut(self, client: FleetClient) -> None:
        """Drop a client's socket without a close frame."""
        self.call(lambda: client.post("cut"))

    def connection_id(self, client: FleetClient) -> str | None:
        """The client's current connection id (None while it is not connected)."""
        return self.call(lambda: client.connection_id)

    def wait_until(
        self, predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.1
    ) -> float:
        """Poll `predicate` on the loop until it holds; the seconds it took (bounded)."""
        started = time.monotonic()
        while not self.call(predicate):
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"waited {timeout_s} s for {what}")
            time.sleep(poll_s)
        return time.monotonic() - started

    def wait_converged(
        self,
        version: int,
        notes: Notes,
        timeout_s: float,
        clients: list[FleetClient] | None = None,
    ) -> float:
        """Wait until every client (of `clients`, or all) holds exactly `notes` at `version`;
        the seconds it took. On timeout, says where the late ones are."""
        chosen = self.clients if clients is None else clients

        def behind() -> list[str]:
            return [c.name for c in chosen if not c.holds(version, notes)]

        try:
            return self.wait_until(lambda: not behind(), timeout_s, "every client to converge")
        except TimeoutError:
            late = self.call(behind)
            raise AssertionError(
                f"{len(late)} client(s) did not converge to version {version} within "
                f"{timeout_s} s: " + "; ".join(self.call(lambda: _lagging(self, late, notes)))
            ) from None

    def wait_users_converged(
        self,
        clients: list[FleetClient],
        states: list[tuple[int, Notes]],
        per_user: int,
        timeout_s: float = 60,
    ) -> float:
        """`clients` hold `per_user` clients of each user in turn; each converges to its
        user's (version, notes) of `states`. The seconds it took in all."""
        started = time.monotonic()
        for u, (version, notes) in enumerate(states):
            mine = clients[u * per_user : (u + 1) * per_user]
            self.wait_converged(version, notes, timeout_s=timeout_s, clients=mine)
        return time.monotonic() - started

    def close(self, timeout_s: float = 15.0) -> None:
        """Stop every client (closing its socket), then the loop."""

        async def stop_all() -> None:
            for client in self.clients:
                with contextlib.suppress(AssertionError):
                    client.post("stop")
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=timeout_s)
            self._lag_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_watch

        with contextlib.suppress(Exception):
            self._submit(stop_all()).result(timeout_s + 1)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)


def _lagging(fleet: Fleet, names: list[str], notes: Notes) -> list[str]:
    found = []
    for client in fleet.clients:
        if client.name not in names[:5]:
            continue
        held = client.notes()
        missing = len(set(notes) - set(held))
        extra = len(set(held) - set(notes))
        stale = sum(1 for i in set(notes) & set(held) if notes[i] != held[i])
        found.append(
            f"{client.name} cursor {client.cursor} status {client.engine.status.state} "
            f"({client.engine.status.reason}), missing {missing}, extra {extra}, stale {stale}, "
            f"errors {dict(client.seen.server_errors)}"
        )
    return found
