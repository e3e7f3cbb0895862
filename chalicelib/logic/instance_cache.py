"""A bounded map that one Lambda instance keeps between invocations."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K")
V = TypeVar("V")


class InstanceCache(Generic[K, V]):
    """At most `max_entries`, the least recently used leaving first; safe across threads
    (the local runtime serves invocations of one function from several at once)."""

    def __init__(self, max_entries: int) -> None:
        self._entries: LRUCache[K, V] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value

    def forget(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)
