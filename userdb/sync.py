"""The client side of DESIGN §5 as a sans-I/O state machine.

`SyncEngine` owns no socket, thread or timer. The driver (`userdb.live`, or a
test) feeds it what happened — the socket opened, a message arrived, the socket
closed, time passed — and carries out the effects it returns, in order:
`Connect`, `Send`, `Disconnect`, `SaveState`, plus events for the application
(`StatusChanged`, `DocsChanged`, `ServerErrorReceived`). Time comes from an
injected clock and jitter from an injected random source, so every rule is
tested without sockets or sleeping.

The rules (@userdb/client's `clients/js/src/sync_engine.js` follows the same ones):
- resume with `hello since=cursor` on every (re)connect, naming the collections it follows
  (a client that starts following others starts over from a snapshot);
- a `changes` applies when cursor >= from (a snapshot replaces everything);
  then cursor := to; items at or below the cursor are already known, so
  duplicates and replays change nothing;
- a `changes` whose from > cursor is a gap: it is kept aside and a `sync` is
  sent (once per outstanding request); kept parts apply as soon as they fit;
- acks are cumulative and sent at most every 250 ms, after the state is saved;
- a `ping` carrying the cursor every 30 s; no `pong` (nor any other traffic)
  within 10 s means the connection is dead;
- reconnect with exponential backoff and jitter: 0.5 s doubling up to 30 s.
"""

from __future__ import annotations

import json
import math
import random as random_module
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from userdb.models import Changes, Doc, DocKey
from userdb.sync_types import (
    ChangeSet,
    Clock,
    Connect,
    ConnectionState,
    Disconnect,
    DocsChanged,
    Effect,
    RandomSource,
    SaveState,
    Send,
    ServerErrorReceived,
    Status,
    StatusChanged,
    SyncState,
    SyncTimings,
    backoff_delay,
    followed,
    ping_delay,
)

__all__ = [
    "ChangeSet",
    "Clock",
    "Connect",
    "ConnectionState",
    "Disconnect",
    "DocsChanged",
    "Effect",
    "RandomSource",
    "SaveState",
    "Send",
    "ServerErrorReceived",
    "Status",
    "StatusChanged",
    "SyncEngine",
    "SyncState",
    "SyncTimings",
    "backoff_delay",
    "followed",
    "ping_delay",
]

FATAL_CONNECT_STATUSES = frozenset({401, 403})


@dataclass
class _Outstanding:
    """A `hello` or `sync` whose answer has not arrived yet."""

    since: int | None
    deadline: float


class SyncEngine:
    """DESIGN §5's client duties, driven by events; not thread-safe (the driver locks)."""

    def __init__(
        self,
        state: SyncState,
        *,
        clock: Clock,
        random: RandomSource = random_module.random,
        timings: SyncTimings | None = None,
        collections: Iterable[str] | None = None,
    ) -> None:
        self.state = state
        self.collections = followed(collections)
        if state.collections != self.collections:
            # What it holds was synced for other collections: start over from a snapshot.
            state.cursor, state.docs, state.collections = None, {}, self.collections
        self._now = clock
        self._random = random
        self.timings = timings or SyncTimings()
        self._running = False
        self._phase = ConnectionState.OFFLINE
        self._reason: str | None = "not started"
        self._link = "down"  # down | opening | open (socket open) ; `_live` once welcomed
        self._live = False
        self._failures = 0
        self._reconnect_at: float | None = None
        self._welcome_deadline: float | None = None
        self._next_ping_at: float | None = None
        self._pong_deadline: float | None = None
        self._acked: int | None = None
        self._last_ack_at = -math.inf
        self._ack_due_at: float | None = None
        self._outstanding: _Outstanding | None = None
        self._pending: list[Changes] = []
        self._reset_requested = False
        self._hello_since: int | None = None
        self._dirty = False
        self.server_version: int | None = None
        self.connection_id: str | None = None  # the server's id of the live connection

    # ------------------------------------------------------------------ queries
    @property
    def status(self) -> Status:
        """The connection as the application should see it now."""
        retry_in = None
        if self._reconnect_at is not None and self._link == "down" and self._running:
            retry_in = max(0.0, self._reconnect_at - self._now())
        return Status(self._phase, self._reason, retry_in, self._failures, self.state.cursor)

    @property
    def running(self) -> bool:
        """True between `start` and `stop` (or a refused session)."""
        return self._running

    @property
    def caught_up(self) -> bool:
        """Live, with the catch-up after `hello` (or a `sync`) applied: the local documents
        are complete up to the server's version as of the welcome."""
        return self._live and self._outstanding is None and not self._pending

    @property
    def acked(self) -> int | None:
        """The highest version the server has been told this client holds."""
        return self._acked

    def next_timer(self) -> float | None:
        """When `tick` has something to do next (clock time), or None."""
        times: list[float | None] = [self._welcome_deadline, self._pong_deadline]
        if self._running and self._link == "down":
            times.append(self._reconnect_at)
        if self._live:
            times += [self._next_ping_at, self._ack_due_at]
            times.append(self._outstanding.deadline if self._outstanding else None)
        found = [t for t in times if t is not None]
        return min(found) if found else None

    # ------------------------------------------------------------------ inputs
    def start(self) -> list[Effect]:
        """Begin connecting (no-op if already running)."""
        if self._running:
            return []
        self._running = True
        self._failures = 0
        self._link = "opening"
        effects: list[Effect] = []
        self._set_phase(effects, ConnectionState.CONNECTING, None)
        effects.append(Connect(attempt=0))
        return effects

    def stop(self, reason: str = "stopped") -> list[Effect]:
        """Stop for good: close the socket, save, report offline."""
        effects: list[Effect] = []
        was_open = self._link != "down"
        self._running = False
        self._link_down()
        self._reconnect_at = None
        if was_open:
            effects.append(Disconnect(reason))
        self._save(effects, force=False)
        self._set_phase(effects, ConnectionState.OFFLINE, reason)
        return effects

    def on_open(self) -> list[Effect]:
        """The socket is open: say hello with the cursor; wait for `welcome`."""
        if not self._running or self._link != "opening":
            return []
        now = self._now()
        self._link = "open"
        self._welcome_deadline = now + self.timings.welcome_timeout
        self._hello_since = self.state.cursor
        self._outstanding = _Outstanding(self.state.cursor, now + self.timings.sync_timeout)
        return [Send(self._action("hello", self.state.cursor))]

    def on_connect_failed(self, reason: str, status: int | None = None) -> list[Effect]:
        """The socket could not be opened; `status` is the HTTP status of a refused upgrade."""
        if self._link != "opening":
            return []
        self._link = "down"
        effects: list[Effect] = []
        if status in FATAL_CONNECT_STATUSES:
            self._running = False
            self._reconnect_at = None
            self._set_phase(effects, ConnectionState.OFFLINE, f"unauthorized: {reason}")
            return effects
        self._retry_later(effects, reason)
        return effects

    def on_close(self, reason: str) -> list[Effect]:
        """The socket closed or failed (ignored if the engine already dropped it)."""
        if self._link == "down":
            return []
        effects: list[Effect] = []
        self._link_down()
        self._save(effects, force=False)
        if self._running:
            self._retry_later(effects, reason)
        return effects

    def on_message(self, text: str | bytes) -> list[Effect]:
        """A message from the server."""
        if self._link != "open":
            return []
        try:
            message = json.loads(text)
        except ValueError:
            return [ServerErrorReceived("malformed_message", "The server sent invalid JSON.")]
        if not isinstance(message, dict):
            return [ServerErrorReceived("malformed_message", "The server sent a non-object.")]
        effects: list[Effect] = []
        if self._pong_deadline is not None:
            # Any traffic shows the connection is alive; the pong may queue behind it.
            self._pong_deadline = max(self._pong_deadline, self._now() + self.timings.pong_timeout)
        kind = message.get("type")
        if kind == "welcome":
            self._on_welcome(message, effects)
        elif kind == "changes":
            try:
                changes = Changes.from_json(message)
            except (KeyError, ValueError, TypeError):
                return [ServerErrorReceived("malformed_message", "Unreadable `changes` message.")]
            self._on_changes(changes, effects)
        elif kind == "pong":
            self._on_pong(message, effects)
        elif kind == "error":
            self._on_error(message, effects)
        return effects

    def tick(self) -> list[Effect]:
        """Time passed: reconnect, heartbeat, dead-connection checks, throttled acks, retries."""
        now = self._now()
        effects: list[Effect] = []
        if self._running and self._link == "down" and self._reconnect_at is not None:
            if now >= self._reconnect_at:
                self._reconnect_at = None
                self._link = "opening"
                effects.append(Connect(attempt=self._failures))
            return effects
        if self._welcome_deadline is not None and now >= self._welcome_deadline:
            self._drop(effects, "no welcome from the server")
            return effects
        if not self._live:
            return effects
        if self._pong_deadline is not None and now >= self._pong_deadline:
            self._drop(effects, "no pong from the server")
            return effects
        if self._next_ping_at is not None and now >= self._next_ping_at:
            effects.append(Send({"action": "ping", "version": self.state.cursor}))
            self._next_ping_at = now + ping_delay(self.timings, self._random)
            if self._pong_deadline is None:  # a later ping must not extend an earlier deadline
                self._pong_deadline = now + self.timings.pong_timeout
        if self._ack_due_at is not None and now >= self._ack_due_at:
            self._ack(effects)
        if self._outstanding is not None and now >= self._outstanding.deadline:
            # The answer never came (lost, or the server failed): ask again.
            self._outstanding = None
            self._request_sync(effects)
        return effects

    def request_sync(self) -> list[Effect]:
        """Pull what changed since the cursor now (e.g. the application suspects staleness)."""
        effects: list[Effect] = []
        if self._live:
            self._outstanding = None
            self._request_sync(effects)
        return effects

    def apply_local(self, doc: Doc) -> list[Effect]:
        """A document the client itself wrote over REST: show it now if newer than what is
        held (and of a collection it follows)."""
        if not self._follows(doc.collection):
            return []
        held = self.state.docs.get(doc.key)
        if held is not None and held.version >= doc.version:
            return []
        self.state.docs[doc.key] = doc
        self._dirty = True
        return [DocsChanged(ChangeSet(False, (doc,), (), self.state.cursor, local=True))]

    def forget_local(self, key: DocKey) -> list[Effect]:
        """A document the client itself deleted over REST (its tombstone follows)."""
        if self.state.docs.pop(key, None) is None:
            return []
        self._dirty = True
        return [DocsChanged(ChangeSet(False, (), (key,), self.state.cursor, local=True))]

    def _follows(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def _action(self, action: str, since: int | None) -> dict[str, Any]:
        """A `hello` or `sync` message, naming the followed collections when not all."""
        message: dict[str, Any] = {"action": action, "since": since}
        if self.collections is not None:
            message["collections"] = list(self.collections)
        return message

    # ------------------------------------------------------------------ messages
    def _on_welcome(self, message: dict[str, Any], effects: list[Effect]) -> None:
        now = self._now()
        self._live = True
        self._welcome_deadline = None
        self._failures = 0
        self._next_ping_at = now + ping_delay(self.timings, self._random)
        since = self._hello_since
        self._acked = since  # hello told the server our cursor
        self.connection_id = str(message.get("connectionId") or "") or None
        try:
            self.server_version = int(message["version"])
        except (KeyError, TypeError, ValueError):
            self.server_version = None
        if since is not None and self.server_version is not None:
            if self.server_version < since:
                # The server holds less than we do: its store was reset. Start over.
                self._reset_requested = True
                self._acked = None
                self._pending.clear()
                effects.append(Send(self._action("sync", None)))
                self._outstanding = _Outstanding(None, now + self.timings.sync_timeout)
            elif self.server_version == since and self.state.cursor == since:
                self._outstanding = None  # nothing to catch up
        self._set_phase(effects, ConnectionState.LIVE, None)
        self._ack(effects)  # changes may have arrived before the welcome

    def _on_pong(self, message: dict[str, Any], effects: list[Effect]) -> None:
        self._pong_deadline = None
        try:
            version = int(message["version"])
        except (KeyError, TypeError, ValueError):
            return
        if version > (self.state.cursor or 0) and self._outstanding is None:
            # The server sends the missing range after a behind ping; expect it.
            self._outstanding = _Outstanding(
                self.state.cursor, self._now() + self.timings.sync_timeout
            )

    def _on_error(self, message: dict[str, Any], effects: list[Effect]) -> None:
        code = str(message.get("code") or "error")
        effects.append(ServerErrorReceived(code, str(message.get("message") or "")))
        if code == "unauthorized":
            effects.extend(self.stop("unauthorized: the session ended"))

    def _on_changes(self, changes: Changes, effects: list[Effect]) -> None:
        if not self._apply(changes, effects):
            if not self._fits_later(changes):
                return  # a duplicate: already applied
            self._pending.append(changes)
            del self._pending[: -self.timings.max_pending_messages]
            self._request_sync(effects)
            return
        self._drain_pending(effects)
        if self._pending and self._outstanding is None:
            self._request_sync(effects)
        self._ack(effects)

    def _fits_later(self, changes: Changes) -> bool:
        """True for a gap (from beyond the cursor); False for a duplicate."""
        cursor = self.state.cursor
        return cursor is None or changes.from_ > cursor

    def _apply(self, changes: Changes, effects: list[Effect]) -> bool:
        """Apply `changes` if it fits the cursor; False if it is a gap or a duplicate."""
        cursor = self.state.cursor
        if changes.snapshot:
            stale = cursor is not None and changes.to < cursor
            if stale and not self._reset_requested:
                return False
            self._apply_snapshot(changes, effects)
        else:
            position = cursor if cursor is not None else 0
            if cursor is not None and changes.to <= cursor:
                return False
            if changes.from_ > position:
                return False
            self._apply_range(changes, position, effects)
        outstanding = self._outstanding
        if outstanding is not None and (
            changes.snapshot or changes.from_ <= (outstanding.since or 0)
        ):
            self._outstanding = None  # this is the answer to our hello / sync
        if changes.more:
            self._request_sync(effects)
        return True

    def _apply_snapshot(self, changes: Changes, effects: list[Effect]) -> None:
        docs = [doc for doc in changes.docs if self._follows(doc.collection)]
        fresh = {doc.key: doc for doc in docs}
        removed = tuple(key for key in self.state.docs if key not in fresh)
        self.state.docs = fresh
        self.state.cursor = changes.to
        self._reset_requested = False
        self._dirty = True
        effects.append(DocsChanged(ChangeSet(True, tuple(docs), removed, self.state.cursor)))

    def _apply_range(self, changes: Changes, position: int, effects: list[Effect]) -> None:
        upserted: list[Doc] = []
        deleted: list[DocKey] = []
        for doc in changes.docs:
            held = self.state.docs.get(doc.key)
            newer = held is None or held.version < doc.version
            if doc.version > position and newer and self._follows(doc.collection):
                self.state.docs[doc.key] = doc
                upserted.append(doc)
        for deletion in changes.deletions:
            held = self.state.docs.get(deletion.key)
            if deletion.version > position and held is not None and held.version < deletion.version:
                del self.state.docs[deletion.key]
                deleted.append(deletion.key)
        self.state.cursor = changes.to
        self._dirty = True
        effects.append(
            DocsChanged(ChangeSet(False, tuple(upserted), tuple(deleted), self.state.cursor))
        )

    def _drain_pending(self, effects: list[Effect]) -> None:
        progressed = True
        while progressed and self._pending:
            progressed = False
            self._pending.sort(key=lambda c: (c.from_, -c.to))
            for changes in list(self._pending):
                if self._apply(changes, effects):
                    self._pending.remove(changes)
                    progressed = True
                elif not self._fits_later(changes):
                    self._pending.remove(changes)  # now a duplicate

    # ------------------------------------------------------------------ helpers
    def _request_sync(self, effects: list[Effect]) -> None:
        """Send `sync since=cursor` unless an answer is already on its way."""
        if not self._live:
            return
        now = self._now()
        if self._outstanding is not None and now < self._outstanding.deadline:
            return
        effects.append(Send(self._action("sync", self.state.cursor)))
        self._outstanding = _Outstanding(self.state.cursor, now + self.timings.sync_timeout)

    def _ack(self, effects: list[Effect]) -> None:
        """Ack the cursor now, or schedule it: at most one ack per `ack_interval`."""
        cursor = self.state.cursor
        nothing_new = cursor is None or (self._acked is not None and cursor <= self._acked)
        if not self._live or nothing_new or self._reset_requested:
            self._ack_due_at = None
            return
        now = self._now()
        due = self._last_ack_at + self.timings.ack_interval
        if now < due:
            self._ack_due_at = due
            return
        self._save(effects, force=True)
        effects.append(Send({"action": "ack", "version": cursor}))
        self._acked = cursor
        self._last_ack_at = now
        self._ack_due_at = None

    def _save(self, effects: list[Effect], *, force: bool) -> None:
        if self._dirty or force:
            effects.append(SaveState(self.state.copy()))
            self._dirty = False

    def _drop(self, effects: list[Effect], reason: str) -> None:
        effects.append(Disconnect(reason))
        effects.extend(self.on_close(reason))

    def _link_down(self) -> None:
        self.connection_id = None
        self._link = "down"
        self._live = False
        self._welcome_deadline = None
        self._next_ping_at = None
        self._pong_deadline = None
        self._ack_due_at = None
        self._outstanding = None

    def _retry_later(self, effects: list[Effect], reason: str) -> None:
        delay = backoff_delay(self._failures, self.timings, self._random)
        self._reconnect_at = self._now() + delay
        self._failures += 1
        if self._failures >= self.timings.offline_after_failures:
            phase = ConnectionState.OFFLINE
        elif self._phase == ConnectionState.CONNECTING:
            phase = ConnectionState.CONNECTING
        else:
            phase = ConnectionState.RECONNECTING
        self._set_phase(effects, phase, reason, force=True)

    def _set_phase(
        self,
        effects: list[Effect],
        phase: ConnectionState,
        reason: str | None,
        *,
        force: bool = False,
    ) -> None:
        if phase == self._phase and reason == self._reason and not force:
            return
        self._phase = phase
        self._reason = reason
        effects.append(StatusChanged(self.status))
