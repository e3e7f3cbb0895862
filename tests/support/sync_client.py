"""A userdb sync client for tests and benchmarks: the SDK's sync engine (`userdb.sync`, the one
Python implementation of the client rules) driven over websocket-client, with a record of
every message it received (to count messages and bytes) and switches tests need.

The engine applies `changes`, detects gaps and asks for them, acks cumulatively at most
every `ack_interval_s`, pings and watches for pongs (docs/protocol.md). This driver adds:
- `acks=False`: the engine's acks are not sent (delivery must not depend on them);
- no reconnecting by itself: a test opens connections with `connect()` and closes them
  with `disconnect()`; the client id, cursor and documents survive across connections;
- counts of what happened: messages applied, duplicates, gaps, syncs and acks sent.
"""

from __future__ import annotations

import contextlib
import json
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket

from userdb.models import Note
from userdb.sync import (
    Disconnect,
    DocsChanged,
    Effect,
    Send,
    SyncEngine,
    SyncState,
    SyncTimings,
)

ACK_INTERVAL_S = 0.25
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's limit on a WebSocket message


@dataclass(frozen=True)
class Received:
    """One server message as it arrived."""

    at: float  # time.monotonic() when read
    size: int  # bytes of the frame's payload
    message: dict[str, Any]
    connection: int  # which of the client's connections (0, 1, ...) carried it


class ClientState:
    """The engine's cursor and documents, and counts of what the client did."""

    def __init__(self, engine: SyncEngine) -> None:
        self._engine = engine
        self.applied = 0  # messages that moved the cursor or changed the documents
        self.duplicates = 0  # `changes` wholly at or below the cursor
        self.gaps = 0  # `changes` whose `from` was beyond the cursor
        self.syncs_sent = 0
        self.acks_sent = 0
        self.acked = 0

    @property
    def cursor(self) -> int | None:
        return self._engine.state.cursor


class SyncClient:
    """One client (one `clientId`) of one signed-in user; reconnects keep its state."""

    def __init__(
        self,
        ws_url: Callable[..., str],
        token: str,
        *,
        client_id: str | None = None,
        acks: bool = True,
        ack_interval_s: float = ACK_INTERVAL_S,
        sync_retry_s: float = 2.0,
        on_applied: Callable[[SyncClient, Received], None] | None = None,
    ) -> None:
        self._ws_url = ws_url
        self.token = token
        self.client_id = client_id or str(uuid.uuid4())
        self.acks = acks
        self._on_applied = on_applied
        timings = SyncTimings(ack_interval=ack_interval_s, sync_timeout=sync_retry_s)
        self.engine = SyncEngine(SyncState(self.client_id), clock=time.monotonic, timings=timings)
        self.state = ClientState(self.engine)
        self.received: list[Received] = []
        self.connection_ids: list[str] = []
        self.close_codes: list[int | None] = []
        self._changed = threading.Condition()
        self._ws: websocket.WebSocket | None = None
        self._reader: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._connections = 0

    # -- connection -----------------------------------------------------------------------

    def connect(self, hello: bool = True, timeout_s: float = 15.0) -> SyncClient:
        """Open a connection and (by default) say hello from the cursor; waits for `welcome`."""
        ws = websocket.create_connection(
            self._ws_url(token=self.token, clientId=self.client_id), timeout=timeout_s
        )
        ws.settimeout(0.5)  # the reader wakes up to notice `disconnect()`
        index = self._connections
        self._connections += 1
        with self._changed:
            self._ws = ws
            self.close_codes.append(None)
            self.engine.start()  # its Connect effect is this connection
            effects = self.engine.on_open() if hello else []
        self._reader = threading.Thread(
            target=self._read, args=(ws, index), daemon=True, name=f"sync-client-{index}"
        )
        self._reader.start()
        with self._changed:
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, daemon=True, name="sync-ticks")
                self._ticker.start()
        self._carry_out(effects, None)
        if hello:
            self.wait(lambda: len(self.connection_ids) > index, timeout_s, "welcome")
        return self

    def disconnect(self) -> None:
        """Close from the client's side (1000) and wait for the reader to stop."""
        ws, reader = self._ws, self._reader
        with self._changed:
            self._ws = None
            self.engine.stop("closed by the test")
            self._changed.notify_all()
        if ws is None:
            return
        # The reader reads the server's answering close frame; then the socket goes.
        with contextlib.suppress(OSError, websocket.WebSocketException):
            ws.send_close(status=1000)
        if reader is not None:
            reader.join(timeout=5)
        ws.shutdown()

    @property
    def connected(self) -> bool:
        return self._ws is not None and bool(self.close_codes) and self.close_codes[-1] is None

    def send(self, message: dict[str, Any]) -> bool:
        """Send one client action; False if the connection is gone."""
        ws = self._ws
        if ws is None:
            return False
        try:
            ws.send(json.dumps(message))
        except (OSError, websocket.WebSocketException):
            return False
        return True

    def _read(self, ws: websocket.WebSocket, index: int) -> None:
        code: int | None = 1006
        while True:
            try:
                opcode, frame = ws.recv_data_frame()
            except websocket.WebSocketTimeoutException:
                if self._ws is not ws:
                    code = 1000  # we closed it
                    break
                continue
            except (OSError, websocket.WebSocketException):
                if self._ws is not ws:
                    code = 1000  # we closed it
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data or b""
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                break
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue
            received = Received(time.monotonic(), len(frame.data), json.loads(frame.data), index)
            self._handle(received, frame.data)
        with self._changed:
            self.close_codes[index] = code
            if self._ws is ws:
                self._ws = None
                # The server ended it: the engine stops too (tests reconnect with `connect`).
                self.engine.stop("closed by the server")
            self._changed.notify_all()

    # -- the engine -----------------------------------------------------------------------

    def _handle(self, received: Received, raw: bytes) -> None:
        with self._changed:
            self.received.append(received)
            message = received.message
            if message.get("type") == "welcome":
                self.connection_ids.append(str(message["connectionId"]))
            elif message.get("type") == "changes":
                self._count(message)
            effects = self.engine.on_message(raw)
            self._changed.notify_all()
        self._carry_out(effects, received)

    def _count(self, message: dict[str, Any]) -> None:
        """What a `changes` message is to the cursor (the engine decides what to do with it)."""
        cursor = self.state.cursor
        if message.get("snapshot"):
            return
        if cursor is None or int(message["from"]) > cursor:
            self.state.gaps += 1
        elif int(message["to"]) <= cursor:
            self.state.duplicates += 1

    def _tick(self) -> None:
        """Run the engine's timers (acks due, sync retries, pings) while connected."""
        while True:
            with self._changed:
                if self._ws is None:
                    self._ticker = None
                    return
                due = self.engine.next_timer()
                wait = 0.5 if due is None else min(0.5, max(0.0, due - time.monotonic()))
                self._changed.wait(wait)
                effects = self.engine.tick()
            self._carry_out(effects, None)

    def _carry_out(self, effects: list[Effect], received: Received | None) -> None:
        applied = False
        for effect in effects:
            if isinstance(effect, Send):
                self._send_action(effect.message)
            elif isinstance(effect, DocsChanged) and not effect.changes.local:
                applied = True
            elif isinstance(effect, Disconnect):
                ws = self._ws
                if ws is not None:  # the engine gave up on it (no pong, no welcome)
                    with contextlib.suppress(OSError, websocket.WebSocketException):
                        ws.send_close(status=1000)
        if applied and received is not None:
            with self._changed:
                self.state.applied += 1
            if self._on_applied is not None:
                self._on_applied(self, received)

    def _send_action(self, message: dict[str, Any]) -> None:
        action = message.get("action")
        if action == "ack":
            if not self.acks:
                return
            with self._changed:
                self.state.acks_sent += 1
                self.state.acked = int(message["version"])
        elif action == "sync":
            with self._changed:
                self.state.syncs_sent += 1
        self.send(message)

    # -- what tests look at ---------------------------------------------------------------

    def wait(
        self, predicate: Callable[[], bool], timeout_s: float = 15.0, what: str = "it"
    ) -> None:
        """Wait (bounded) until `predicate()` holds; it is checked whenever a message arrives."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"waited {timeout_s} s for {what}; cursor {self.state.cursor}, "
                        f"{len(self.received)} message(s), last: {self._last_messages()}"
                    )
                self._changed.wait(min(left, 0.25))

    def wait_for_version(self, version: int, timeout_s: float = 15.0) -> None:
        self.wait(
            lambda: (self.state.cursor or 0) >= version, timeout_s, f"cursor to reach {version}"
        )

    def wait_closed(self, timeout_s: float = 10.0) -> int | None:
        """The close code of the current connection once the server closed it."""
        self.wait(lambda: self.close_codes[-1] is not None, timeout_s, "the server to close")
        return self.close_codes[-1]

    def notes(self) -> dict[str, tuple[str, int]]:
        """The notes as the client holds them: id -> (text, version)."""
        with self._changed:
            docs = list(self.engine.state.docs.values())
        notes = [Note.from_doc(doc) for doc in docs if doc.collection == "notes"]
        return {note.id: (note.text, note.version) for note in notes}

    def messages(self, kind: str | None = None) -> list[Received]:
        with self._changed:
            return [r for r in self.received if kind is None or r.message.get("type") == kind]

    def _last_messages(self) -> str:
        return json.dumps([r.message for r in self.received[-3:]])[:600]


def wait_converged(
    client: SyncClient,
    version: int,
    notes: dict[str, tuple[str, int]],
    timeout_s: float = 30.0,
) -> None:
    """Wait until `client` is at `version`, then check it holds exactly `notes`."""
    client.wait_for_version(version, timeout_s)
    held = client.notes()
    missing = sorted(set(notes) - set(held))[:5]
    extra = sorted(set(held) - set(notes))[:5]
    differ = sorted(i for i in set(notes) & set(held) if notes[i] != held[i])[:5]
    assert held == notes, f"missing {missing}, extra {extra}, different {differ}"
    assert client.state.cursor == version
