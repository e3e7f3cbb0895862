"""Cheap refusals of WebSocket frames that can do no good, before any DynamoDB call.

One connection flooding frames must cost little and slow nobody else down:

- each connection has a message budget (a token bucket: `burst` at once, then
  `per_second`); frames beyond it are dropped, and the client is told once, with an
  `error` message of code `rate_limited`, until it has budget again;
- an ack that does not advance the connection's last ack is dropped: acks are
  cumulative, so it says nothing new.

Both are kept per Lambda instance, in bounded caches (`InstanceCache`): a connection's
frames may reach several instances, each with its own budget, so the limit is a
per-instance one. A library limiter (`limits`, `pyrate-limiter`) keeps unbounded
per-key state cleaned by background threads, which a Lambda instance does not want.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from chalicelib.logic.clock import Clock
from chalicelib.logic.instance_cache import InstanceCache

# Connections one instance remembers (the least recently active are forgotten first).
MAX_CONNECTIONS = 10_000
# A refused connection is told again only after this long: a flooder processed slowly
# regains a token every 1/per_second and would otherwise be told after each one.
TELL_INTERVAL_S = 1.0


class Verdict(Enum):
    ADMIT = "admit"
    REFUSE_AND_TELL = "refuse and tell"  # the first refusal in TELL_INTERVAL_S
    REFUSE = "refuse"


@dataclass
class _Budget:
    tokens: float
    refilled_at: float
    told_at: float | None = None


class MessageGuard:
    """A message budget and the last ack of each connection seen by this instance."""

    def __init__(
        self,
        clock: Clock,
        per_second: float,
        burst: int,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a message budget needs per_second > 0 and burst >= 1")
        self._clock = clock
        self._per_second = per_second
        self._burst = burst
        self._budgets: InstanceCache[str, _Budget] = InstanceCache(max_connections)
        self._acks: InstanceCache[str, int] = InstanceCache(max_connections)

    def admit(self, connection_id: str) -> Verdict:
        """Spend one message of the connection's budget, if it has one."""
        now = self._clock.now()
        budget = self._budgets.get(connection_id)
        if budget is None:
            budget = _Budget(tokens=float(self._burst), refilled_at=now)
            self._budgets.put(connection_id, budget)
        # Concurrent frames of one connection may race here: a token more or less.
        elapsed = max(0.0, now - budget.refilled_at)
        budget.tokens = min(float(self._burst), budget.tokens + elapsed * self._per_second)
        budget.refilled_at = now
        if budget.tokens >= 1:
            budget.tokens -= 1
            return Verdict.ADMIT
        if budget.told_at is not None and now - budget.told_at < TELL_INTERVAL_S:
            return Verdict.REFUSE
        budget.told_at = now
        return Verdict.REFUSE_AND_TELL

    def ack_is_news(self, connection_id: str, version: int) -> bool:
        """False for an ack at or below the connection's last recorded ack."""
        last = self._acks.get(connection_id)
        return last is None or version > last

    def record_ack(self, connection_id: str, version: int) -> None:
        """The connection's acked version is now at least `version` (acks never go down)."""
        last = self._acks.get(connection_id)
        if last is None or version > last:
            self._acks.put(connection_id, version)

    def forget(self, connection_id: str) -> None:
        """The connection is gone."""
        self._budgets.forget(connection_id)
        self._acks.forget(connection_id)
