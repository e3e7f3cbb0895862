"""The sync engine's vocabulary (userdb/sync.py): timings, the state a client keeps, what
the application is told, and the effects the engine asks its driver to carry out."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from userdb.models import Doc, DocKey

Clock = Callable[[], float]
RandomSource = Callable[[], float]


class ConnectionState(StrEnum):
    """What a person should be told about the live connection."""

    CONNECTING = "connecting"  # first attempt since start
    LIVE = "live"  # welcomed: changes arrive as they happen
    RECONNECTING = "reconnecting"  # the connection dropped; trying again
    OFFLINE = "offline"  # stopped, signed out, or the server unreachable for a while


@dataclass(frozen=True)
class SyncTimings:
    """Every interval of the protocol, in seconds (DESIGN §5 fixes the defaults)."""

    ack_interval: float = 0.25
    ping_interval: float = 30.0
    pong_timeout: float = 10.0
    welcome_timeout: float = 10.0
    sync_timeout: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    # Consecutive failed attempts after which the state shows "offline" (still retrying).
    offline_after_failures: int = 3
    # Gap messages kept aside while the missing range is fetched.
    max_pending_messages: int = 256


def ping_delay(timings: SyncTimings, random: RandomSource) -> float:
    """Delay until the next ping: 90-100% of `ping_interval`, drawn each time, so clients
    that connected together (after a server restart) do not ping in step."""
    return timings.ping_interval * (0.9 + 0.1 * random())


def backoff_delay(failures: int, timings: SyncTimings, random: RandomSource) -> float:
    """Delay before the next attempt after `failures` consecutive failures.

    The base doubles from `backoff_initial` up to `backoff_max`; the delay is drawn
    uniformly from [base/2, base] ("equal jitter"), so clients that lost the same
    server do not come back in step, and none waits less than half the base.
    """
    base = min(timings.backoff_max, timings.backoff_initial * 2.0 ** min(failures, 32))
    return base / 2 + random() * base / 2


@dataclass
class SyncState:
    """What a client keeps across restarts: its id, its cursor, the documents it has (by
    (collection, id)) and the collections it follows (None: all)."""

    client_id: str
    cursor: int | None = None
    docs: dict[DocKey, Doc] = field(default_factory=dict)
    collections: tuple[str, ...] | None = None

    def copy(self) -> SyncState:
        """A copy that later changes to this state do not affect."""
        return SyncState(self.client_id, self.cursor, dict(self.docs), self.collections)


def followed(collections: Iterable[str] | None) -> tuple[str, ...] | None:
    """Collections to follow in a canonical form (sorted, once each); None: all."""
    return None if collections is None else tuple(sorted(set(collections)))


@dataclass(frozen=True)
class Status:
    """The connection as the application sees it."""

    state: ConnectionState
    reason: str | None = None
    retry_in: float | None = None  # seconds until the next attempt, if one is scheduled
    failures: int = 0  # consecutive failed attempts
    cursor: int | None = None


@dataclass(frozen=True)
class ChangeSet:
    """What one step changed in the local documents (`snapshot`: they were replaced)."""

    snapshot: bool
    upserted: tuple[Doc, ...]
    deleted: tuple[DocKey, ...]
    cursor: int | None
    local: bool = False  # from the client's own REST write, not from the server


# Effects: what the driver must do, in the order given.
@dataclass(frozen=True)
class Connect:
    """Open a socket; report `on_open` or `on_connect_failed`."""

    attempt: int


@dataclass(frozen=True)
class Send:
    """Send this message as JSON text."""

    message: dict[str, Any]

    @property
    def text(self) -> str:
        """The message as compact JSON."""
        return json.dumps(self.message, separators=(",", ":"))


@dataclass(frozen=True)
class Disconnect:
    """Close the socket (the engine already considers it closed)."""

    reason: str


@dataclass(frozen=True)
class SaveState:
    """Persist this state before carrying out the effects that follow (an ack)."""

    state: SyncState


@dataclass(frozen=True)
class StatusChanged:
    """The connection's state changed: tell the application."""

    status: Status


@dataclass(frozen=True)
class DocsChanged:
    """The local documents changed: tell the application."""

    changes: ChangeSet


@dataclass(frozen=True)
class ServerErrorReceived:
    """The server sent an `error` message."""

    code: str
    message: str


Effect = Connect | Send | Disconnect | SaveState | StatusChanged | DocsChanged | ServerErrorReceived
