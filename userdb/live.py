"""The live subscription: one thread that drives a `SyncEngine` over a websocket-client socket.

Only this thread touches the socket. It waits on the socket and on a wake-up
pipe (for requests from other threads) until the engine's next timer, feeds the
engine what happened and carries out the effects it returns. Callbacks run on
this thread, outside the lock, in the order the engine produced them.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import websocket

from userdb.errors import ApiError, UserdbError
from userdb.http import USER_AGENT
from userdb.models import NOTES, Doc, DocKey, Note
from userdb.sync import (
    ChangeSet,
    Connect,
    Disconnect,
    DocsChanged,
    Effect,
    SaveState,
    Send,
    ServerErrorReceived,
    Status,
    StatusChanged,
    SyncEngine,
    SyncState,
)

log = logging.getLogger("userdb")

Event = ChangeSet | Status | ServerErrorReceived
ChangeCallback = Callable[[ChangeSet], None]
StateCallback = Callable[[Status], None]
# Waiting on the socket is bounded so that a lost wake-up costs at most this long.
MAX_WAIT_SECONDS = 30.0
# Once a frame starts arriving, the rest must follow within this time.
FRAME_TIMEOUT_SECONDS = 10.0
# Events kept for `events()`; a subscription nobody iterates drops the excess.
MAX_QUEUED_EVENTS = 10_000


def socket_url(ws_url: str, token: str, client_id: str, *, ticket: str | None = None) -> str:
    """`ws_url` with a connect `ticket` (or, deprecated, the session `token`) and
    `clientId` added to its query (DESIGN §5)."""
    parts = urllib.parse.urlsplit(ws_url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"not a ws(s) URL: {ws_url!r}")
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, v) for k, v in query if k not in ("token", "ticket", "clientId")]
    query += [("ticket", ticket) if ticket is not None else ("token", token)]
    query += [("clientId", client_id)]
    path = parts.path or "/"
    return urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, path, urllib.parse.urlencode(query), "")
    )


class Subscription:
    """Keeps the local documents in sync with the server while it runs.

    Use it as a context manager, or call `start()` and `close()`. Read the documents
    with `docs()` (or `notes()`); follow what happens with the `on_change` / `on_state`
    callbacks or by iterating `events()`. Thread-safe.
    """

    def __init__(
        self,
        engine: SyncEngine,
        url: str | Callable[[], str],
        *,
        persist: Callable[[SyncState], None],
        on_change: ChangeCallback | None = None,
        on_state: StateCallback | None = None,
        on_exit: Callable[[], None] | None = None,
        connect_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._url = url
        self._persist = persist
        self._on_change = on_change
        self._on_state = on_state
        self._on_exit = on_exit
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._lock = threading.RLock()
        self._outbox: collections.deque[Effect] = collections.deque()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._events: queue.Queue[Event | None] = queue.Queue(MAX_QUEUED_EVENTS)
        self._changed = threading.Condition(self._lock)
        self._finished = threading.Event()

    # ------------------------------------------------------------------ control
    def start(self) -> Subscription:
        """Start connecting in the background (returns self)."""
        with self._lock:
            if self._thread is not None:
                return self
            self._outbox.extend(self._engine.start())
            self._thread = threading.Thread(target=self._run, name="userdb-live", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop: close the socket, save the state, end `events()`; waits for the thread."""
        with self._lock:
            self._outbox.extend(self._engine.stop())
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is None:
            self._drain_outbox()
            self._finish()

    def __enter__(self) -> Subscription:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading
    @property
    def status(self) -> Status:
        """The connection's state now."""
        with self._lock:
            return self._engine.status

    @property
    def cursor(self) -> int | None:
        """The version the local documents are complete up to."""
        with self._lock:
            return self._engine.state.cursor

    @property
    def connection_id(self) -> str | None:
        """The server's id of the live connection (from `welcome`), if live."""
        with self._lock:
            return self._engine.connection_id

    @property
    def client_id(self) -> str:
        """This client's id (kept in the state folder)."""
        return self._engine.state.client_id

    @property
    def finished(self) -> bool:
        """True once the subscription stopped (closed, or the session ended)."""
        return self._finished.is_set()

    def docs(self, collection: str | None = None) -> list[Doc]:
        """The local documents (of `collection`, or all), most recently updated first."""
        with self._lock:
            held = [
                doc
                for doc in self._engine.state.docs.values()
                if collection is None or doc.collection == collection
            ]
        return sorted(held, key=lambda doc: (doc.updated, doc.version), reverse=True)

    def notes(self) -> list[Note]:
        """The local notes (the notes collection), most recently updated first."""
        return [Note.from_doc(doc) for doc in self.docs(NOTES)]

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Changes, status changes and server errors since the start, until closed.

        With `timeout`, the iteration also ends when nothing happened for that
        many seconds (iterate again to go on). Meant for one consumer.
        """
        events = self._events
        while True:
            try:
                event = events.get(timeout=timeout)
            except queue.Empty:
                return
            if event is None:
                with contextlib.suppress(queue.Full):
                    events.put_nowait(None)  # a later iteration ends at once too
                return
            yield event

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def wait_for(self, predicate: Callable[[Subscription], bool], timeout: float) -> bool:
        """Wait until `predicate(self)` holds (checked after every step); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._finished.is_set():
                    return predicate(self)
                self._changed.wait(remaining)
            return True

    @property
    def caught_up(self) -> bool:
        """Live, and the catch-up that follows the welcome applied."""
        with self._lock:
            return self._engine.caught_up

    def wait_live(self, timeout: float = 10.0) -> bool:
        """Wait until the connection is live and the local documents have caught up with
        the server (what changed while offline, or the first snapshot, is applied)."""
        return self.wait_for(lambda s: s.caught_up, timeout)

    # ------------------------------------------------------------------ inputs
    def request_sync(self) -> None:
        """Ask the server for what changed since the cursor."""
        self._submit(self._engine.request_sync)

    def apply_local(self, doc: Doc) -> None:
        """Show a document this client wrote over REST before its change arrives."""
        self._submit(lambda: self._engine.apply_local(doc))

    def forget_local(self, key: DocKey) -> None:
        """Drop a document this client deleted over REST."""
        self._submit(lambda: self._engine.forget_local(key))

    def _submit(self, step: Callable[[], list[Effect]]) -> None:
        with self._lock:
            self._outbox.extend(step())
            self._changed.notify_all()
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        try:
            while True:
                self._drain_outbox()
                with self._lock:
                    if not self._engine.running and self._ws is None and not self._outbox:
                        return
                    deadline = self._engine.next_timer()
                wait = MAX_WAIT_SECONDS
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - self._clock()))
                self._wait(wait)
                with self._lock:
                    self._outbox.extend(self._engine.tick())
        except Exception:
            log.exception("userdb live subscription failed")
            with self._lock:
                self._engine.stop("internal error")
            self._close_socket(graceful=False)
        finally:
            self._finish()

    def _wait(self, seconds: float) -> None:
        ws = self._ws
        sources: list[Any] = [self._wake_read]
        if ws is not None and ws.sock is not None:
            sources.append(ws.sock)
        pending = ws is not None and ws.sock is not None and _tls_pending(ws.sock)
        readable = sources if pending else select.select(sources, [], [], seconds)[0]
        if self._wake_read in readable:
            with contextlib.suppress(BlockingIOError, OSError):
                while self._wake_read.recv(4096):
                    pass
        if ws is not None and ws.sock is not None and ws.sock in readable:
            self._receive(ws)

    def _receive(self, ws: websocket.WebSocket) -> None:
        try:
            ws.settimeout(FRAME_TIMEOUT_SECONDS)
            opcode, frame = ws.recv_data_frame(True)
        except (websocket.WebSocketException, OSError) as error:
            self._lost(f"connection lost: {error or type(error).__name__}")
            return
        if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
            with self._lock:
                self._outbox.extend(self._engine.on_message(frame.data))
        elif opcode == websocket.ABNF.OPCODE_CLOSE:
            code = _close_code(frame.data)
            self._lost(f"closed by the server (code {code})" if code else "closed by the server")

    def _lost(self, reason: str) -> None:
        with self._lock:
            self._outbox.extend(self._engine.on_close(reason))
        self._close_socket(graceful=False)

    def _drain_outbox(self) -> None:
        while True:
            with self._lock:
                if not self._outbox:
                    self._changed.notify_all()
                    return
                effect = self._outbox.popleft()
            self._carry_out(effect)

    def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Connect):
            self._connect()
        elif isinstance(effect, Send):
            self._send(effect)
        elif isinstance(effect, Disconnect):
            self._close_socket(graceful=effect.reason == "stopped")
        elif isinstance(effect, SaveState):
            try:
                self._persist(effect.state)
            except OSError:
                log.exception("could not save the sync state")
        elif isinstance(effect, StatusChanged):
            self._publish(effect.status, self._on_state)
        elif isinstance(effect, DocsChanged):
            self._publish(effect.changes, self._on_change)
        elif isinstance(effect, ServerErrorReceived):
            log.warning("server error message: %s %s", effect.code, effect.message)
            self._publish(effect, None)

    def _publish(self, event: Event, callback: Callable[[Any], None] | None) -> None:
        if callback is not None:
            try:
                callback(event)
            except Exception:
                log.exception("a userdb callback failed")
        with contextlib.suppress(queue.Full):
            self._events.put_nowait(event)

    def _connect(self) -> None:
        try:
            # A callable makes each connection's URL: a connect ticket is good for one.
            url = self._url() if callable(self._url) else self._url
        except ApiError as error:
            with self._lock:
                self._outbox.extend(
                    self._engine.on_connect_failed(f"no connect ticket: {error}", error.status)
                )
            return
        except UserdbError as error:
            with self._lock:
                self._outbox.extend(self._engine.on_connect_failed(f"no connect ticket: {error}"))
            return
        try:
            ws = websocket.create_connection(
                url,
                timeout=self._connect_timeout,
                enable_multithread=False,
                header=[f"User-Agent: {USER_AGENT}"],
            )
        except websocket.WebSocketBadStatusException as error:
            with self._lock:
                self._outbox.extend(
                    self._engine.on_connect_failed(
                        f"upgrade refused (HTTP {error.status_code})", error.status_code
                    )
                )
            return
        except (websocket.WebSocketException, OSError) as error:
            with self._lock:
                self._outbox.extend(self._engine.on_connect_failed(_describe(error)))
            return
        with self._lock:
            self._ws = ws
            self._outbox.extend(self._engine.on_open())

    def _send(self, effect: Send) -> None:
        ws = self._ws
        if ws is None:
            return
        try:
            ws.settimeout(FRAME_TIMEOUT_SECONDS)
            ws.send(effect.text)
        except (websocket.WebSocketException, OSError) as error:
            self._lost(f"send failed: {error or type(error).__name__}")

    def _close_socket(self, *, graceful: bool) -> None:
        ws, self._ws = self._ws, None
        if ws is None:
            return
        with contextlib.suppress(Exception):
            if graceful:
                ws.close(timeout=1)
            else:
                ws.shutdown()  # type: ignore[no-untyped-call]

    def _finish(self) -> None:
        if self._finished.is_set():
            return
        self._finished.set()
        with self._lock:
            self._changed.notify_all()
        self._end_events()
        self._wake_read.close()
        self._wake_write.close()
        if self._on_exit is not None:
            self._on_exit()

    def _end_events(self) -> None:
        try:
            self._events.put_nowait(None)
        except queue.Full:
            # Make room for the end marker: an ending iteration must not hang.
            with contextlib.suppress(queue.Empty):
                self._events.get_nowait()
            with contextlib.suppress(queue.Full):
                self._events.put_nowait(None)


def _tls_pending(sock: Any) -> bool:
    pending = getattr(sock, "pending", None)
    return bool(pending()) if callable(pending) else False


def _close_code(data: Any) -> int | None:
    if isinstance(data, bytes | bytearray) and len(data) >= 2:
        return int.from_bytes(data[:2], "big")
    return None


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"cannot connect: {text}"
