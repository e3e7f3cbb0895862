"""API Gateway's WebSocket quotas and why a connection ended; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.local.websocket_gateway.throttling import RouteThrottling

MAX_MESSAGE_BYTES = 128 * 1024  # one message, client -> server or posted to a client
IDLE_TIMEOUT_SECONDS = 10 * 60
MAX_LIFETIME_SECONDS = 2 * 60 * 60
# The local gateway's own (AWS has no such queue): frames of one connection waiting for a
# worker, and running at once, so that one connection cannot starve the others.
MAX_WAITING_MESSAGES = 100
MAX_RUNNING_MESSAGES = 4


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a connection may idle or live, how big a message may be, how many of a
    connection's messages may wait or run, and the stage's route throttling (none unless
    the app's template sets it)."""

    idle_timeout_s: float = IDLE_TIMEOUT_SECONDS
    max_lifetime_s: float = MAX_LIFETIME_SECONDS
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_waiting_messages: int = MAX_WAITING_MESSAGES
    max_running_messages: int = MAX_RUNNING_MESSAGES
    throttling: RouteThrottling = field(default_factory=RouteThrottling)

    def __post_init__(self) -> None:
        if self.idle_timeout_s <= 0 or self.max_lifetime_s <= 0:
            raise ValueError("WebSocket timeouts must be positive")
        if self.max_waiting_messages < 1 or self.max_running_messages < 1:
            raise ValueError("message queue limits must be at least 1")

    @property
    def sweep_interval_s(self) -> float:
        """How often to look for expired connections: a fraction of the shorter limit."""
        return min(5.0, max(0.05, min(self.idle_timeout_s, self.max_lifetime_s) / 10))


@dataclass(frozen=True)
class CloseCause:
    """A close code and the `disconnectReason` the `$disconnect` event carries."""

    code: int
    reason: str


DELETED = CloseCause(1000, "Connection Closed Normally")
IDLE_TIMEOUT = CloseCause(1001, "Going away")
LIFETIME_EXCEEDED = CloseCause(1001, "Going away")
RUNTIME_STOPPING = CloseCause(1001, "Going away")
BINARY_FRAME = CloseCause(1003, "Binary frames are not supported")
MESSAGE_TOO_BIG = CloseCause(1009, "Message too big")

_CLIENT_REASONS = {
    1000: "Connection Closed Normally",
    1001: "Going away",
    1005: "Client-side close frame status not set",
    1006: "Connection was closed abnormally",
}


def client_close(code: int | None, reason: str | None) -> CloseCause:
    """The cause of a close the client started (or a dropped TCP connection)."""
    status = 1005 if code is None else code
    return CloseCause(status, reason or _CLIENT_REASONS.get(status, ""))


def expiry(
    limits: ConnectionLimits, connected_at: float, last_active: float, now: float
) -> CloseCause | None:
    """Why the connection must close at `now`, if it must (times in seconds, one clock)."""
    if now - connected_at >= limits.max_lifetime_s:
        return LIFETIME_EXCEEDED
    if now - last_active >= limits.idle_timeout_s:
        return IDLE_TIMEOUT
    return None
