"""A userdb sync client for tests and benchmarks: websocket-client, DESIGN §5's client rules,
and a record of every message it received (to count messages and bytes).

The rules it follows:
- it keeps `client_id`, the cursor and the notes across connections, and resumes
  with `hello since=cursor`;
- a `changes` message applies when it is a snapshot (replace everything) or when
  cursor >= `from` (items newer than the cursor are applied); then cursor := `to`.
  A message wholly at or below the cursor is a duplicate and changes nothing;
- a message whose `from` is beyond the cursor is a gap: it sends `sync since=cursor`
  (once per cursor, again if nothing moved for `sync_retry_s`);
- it acks the cursor cumulatively, at most every `ack_interval_s` (or never, with
  `acks=False`, to show delivery does not depend on acks).
"""

from __future__ import annotations

import contextlib
import json
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websocket

ACK_INTERVAL_S = 0.25


@dataclass(frozen=True)
class Received:
    """One server message as it arrived."""

    at: float  # time.monotonic() when read
    size: int  # bytes of the frame's payload
    message: dict[str, Any]
    connection: int  # which of the client's connections (0, 1, ...) carried it


@dataclass
class ClientState:
    cursor: int | None = None
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: int = 0  # messages that changed the cursor or the notes
    duplicates: int = 0
    gaps: int = 0
    syncs_sent: int = 0
    acks_sent: int = 0
    acked: int = 0


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
        self._ack_interval = ack_interval_s
        self._sync_retry = sync_retry_s
        self._on_applied = on_applied
        self.state = ClientState()
        self.received: list[Received] = []
        self.connection_ids: list[str] = []
        self.close_codes: list[int | None] = []
        self._changed = threading.Condition()
        self._ws: websocket.WebSocket | None = None
        self._reader: threading.Thread | None = None
        self._connections = 0
        self._last_ack_at = 0.0
        self._ack_timer: threading.Timer | None = None
        self._sync_sent_for: tuple[int | None, float] | None = None
        self._gap_from: int | None = None  # a `from` seen beyond the cursor, not yet reached

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
        self._reader = threading.Thread(
            target=self._read, args=(ws, index), daemon=True, name=f"sync-client-{index}"
        )
        self._reader.start()
        if hello:
            with self._changed:
                cursor = self.state.cursor
                self._sync_sent_for = (cursor, time.monotonic())
            self.send({"action": "hello", "since": cursor})
            self.wait(lambda: len(self.connection_ids) > index, timeout_s, "welcome")
        return self

    def disconnect(self) -> None:
        """Close from the client's side (1000) and wait for the reader to stop."""
        ws, reader = self._ws, self._reader
        self._ws = None
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
            self._handle(received)
        with self._changed:
            self.close_codes[index] = code
            if self._ws is ws:
                self._ws = None
            self._changed.notify_all()

    # -- the protocol ---------------------------------------------------------------------

    def _handle(self, received: Received) -> None:
        message = received.message
        with self._changed:
            self.received.append(received)
            kind = message.get("type")
            if kind == "welcome":
                self.connection_ids.append(str(message["connectionId"]))
            applied = kind == "changes" and self._apply(message)
            self._changed.notify_all()
        if applied:
            self._schedule_ack()
            if self._on_applied is not None:
                self._on_applied(self, received)
        self._sync_if_behind()

    def _apply(self, message: dict[str, Any]) -> bool:
        state = self.state
        start, end = int(message["from"]), int(message["to"])
        if message.get("snapshot"):
            state.notes = {item["id"]: item for item in message["items"] if not item.get("deleted")}
        elif state.cursor is None or state.cursor < start:
            state.gaps += 1
            self._gap_from = max(self._gap_from or 0, start)
            return False
        elif end <= state.cursor:
            state.duplicates += 1
            return False
        else:
            for item in message["items"]:
                if int(item["version"]) <= state.cursor:
                    continue
                if item.get("deleted"):
                    state.notes.pop(item["id"], None)
                else:
                    state.notes[item["id"]] = item
        state.cursor = end
        state.applied += 1
        self._sync_sent_for = None
        if self._gap_from is not None and end >= self._gap_from:
            self._gap_from = None
        return True

    def _sync_if_behind(self) -> None:
        """After a gap: `sync since=cursor`, once per cursor unless nothing moved for a while."""
        with self._changed:
            if self._gap_from is None:
                return
            now = time.monotonic()
            sent = self._sync_sent_for
            if (
                sent is not None
                and sent[0] == self.state.cursor
                and now - sent[1] < self._sync_retry
            ):
                return
            self._sync_sent_for = (self.state.cursor, now)
            self.state.syncs_sent += 1
            cursor = self.state.cursor
        self.send({"action": "sync", "since": cursor})

    def _schedule_ack(self) -> None:
        if not self.acks:
            return
        with self._changed:
            wait = self._last_ack_at + self._ack_interval - time.monotonic()
            if wait > 0:
                if self._ack_timer is None:
                    self._ack_timer = threading.Timer(wait, self._flush_ack)
                    self._ack_timer.daemon = True
                    self._ack_timer.start()
                return
        self._flush_ack()

    def _flush_ack(self) -> None:
        with self._changed:
            self._ack_timer = None
            cursor = self.state.cursor
            if cursor is None or cursor <= self.state.acked:
                return
            self._last_ack_at = time.monotonic()
            self.state.acked = cursor
            self.state.acks_sent += 1
        self.send({"action": "ack", "version": cursor})

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
                self._sync_if_behind()  # a client that is still behind asks again

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
            return {i: (n["data"]["text"], int(n["version"])) for i, n in self.state.notes.items()}

    def messages(self, kind: str | None = None) -> list[Received]:
        with self._changed:
            return [r for r in self.received if kind is None or r.message.get("type") == kind]

    def _last_messages(self) -> str:
        return json.dumps([r.message for r in self.received[-3:]])[:600]


MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's limit on a WebSocket message


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
