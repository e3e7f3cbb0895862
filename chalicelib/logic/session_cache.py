"""The in-process cache in front of session reads: the hot path of every request."""

from __future__ import annotations

import threading

from cachetools import TTLCache

from chalicelib.logic.clock import Clock
from chalicelib.models.accounts import Session


class SessionCache:
    """Bounded, time-limited, thread-safe map of token hash -> session.

    A hit skips DynamoDB, so a session revoked on another Lambda instance can
    still pass here until its entry ages out (at most `ttl_seconds`).
    """

    def __init__(self, max_size: int, ttl_seconds: float, clock: Clock) -> None:
        self._enabled = ttl_seconds > 0
        self._entries: TTLCache[str, Session] = TTLCache(
            maxsize=max_size, ttl=max(ttl_seconds, 1e-9), timer=clock.now
        )
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Session | None:
        if not self._enabled:
            return None
        with self._lock:
            return self._entries.get(token_hash)

    def put(self, session: Session) -> None:
        if self._enabled:
            with self._lock:
                self._entries[session.token_hash] = session

    def evict(self, token_hash: str) -> None:
        with self._lock:
            self._entries.pop(token_hash, None)

    def evict_user(self, user_id: str) -> None:
        with self._lock:
            stale = [key for key, value in self._entries.items() if value.user_id == user_id]
            for key in stale:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
