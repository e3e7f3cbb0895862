"""Which client message runs next, so that no connection starves the others; no I/O here.

API Gateway invokes a function for every message on its own; here the invocations share
a pool of worker threads. Handing them out first come, first served let one connection
that floods thousands of frames make every other connection's messages wait behind all
of them. Instead, each connection's frames wait in a bounded queue of their own, and
the pool takes from the connections in turn (round robin), with at most a few of one
connection's frames running at once. Above that, API Gateway's route throttling (a
token bucket per route, the stage's rate and burst) refuses what exceeds it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass
class _Lane(Generic[T]):
    waiting: deque[T] = field(default_factory=deque)
    running: int = 0


class FairInbox(Generic[K, T]):
    """Waiting items per key (a connection), handed out round robin.

    `offer` refuses an item when its key already has `max_waiting` waiting; `take` skips
    keys that have `max_running` items running; `done` says one of them finished.
    """

    def __init__(self, max_waiting: int, max_running: int) -> None:
        if max_waiting < 1 or max_running < 1:
            raise ValueError("max_waiting and max_running must be at least 1")
        self._max_waiting = max_waiting
        self._max_running = max_running
        self._lanes: dict[K, _Lane[T]] = {}
        self._turns: deque[K] = deque()  # keys with items waiting, in turn order

    def offer(self, key: K, item: T) -> bool:
        """Queue `item` for `key`; False (nothing queued) when its queue is full."""
        lane = self._lanes.setdefault(key, _Lane())
        if len(lane.waiting) >= self._max_waiting:
            return False
        if not lane.waiting:
            self._turns.append(key)
        lane.waiting.append(item)
        return True

    def take(self) -> tuple[K, T] | None:
        """The next item to run, from the next key in turn that may run one; None if none."""
        for _ in range(len(self._turns)):
            key = self._turns.popleft()
            lane = self._lanes[key]
            if lane.running >= self._max_running:
                self._turns.append(key)
                continue
            item = lane.waiting.popleft()
            lane.running += 1
            if lane.waiting:
                self._turns.append(key)
            return key, item
        return None

    def done(self, key: K) -> None:
        """One of `key`'s items finished running."""
        lane = self._lanes.get(key)
        if lane is None:
            return
        lane.running -= 1
        if lane.running <= 0 and not lane.waiting:
            del self._lanes[key]

    def waiting(self, key: K) -> int:
        lane = self._lanes.get(key)
        return len(lane.waiting) if lane else 0

    def __len__(self) -> int:
        """Items waiting, over all keys."""
        return sum(len(lane.waiting) for lane in self._lanes.values())


class TokenBucket:
    """API Gateway's throttling algorithm: `burst` requests at once, refilled at `rate`
    a second (a burst of 0 refuses everything, as a stage's limit of 0 does)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        if rate < 0 or burst < 0:
            raise ValueError("a token bucket's rate and burst cannot be negative")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._refilled_at = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(
            float(self._burst), self._tokens + (now - self._refilled_at) * self._rate
        )
        self._refilled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
