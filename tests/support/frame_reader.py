"""A WebSocket whose every frame is kept, with its arrival time, by a reader thread of its own:
for tests and benchmarks that look at what came back and when."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket


class FrameReader:
    """Reads `ws` until it closes; `frames()` in order, each `(perf_counter at arrival, frame)`."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self._frames: list[tuple[float, dict[str, Any]]] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True, name="frame-reader").start()

    def _read(self) -> None:
        while True:
            try:
                text = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if not text:
                return
            with self._arrived:
                self._frames.append((time.perf_counter(), json.loads(text)))
                self._arrived.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def timed(self) -> list[tuple[float, dict[str, Any]]]:
        with self._arrived:
            return list(self._frames)

    def frames(self) -> list[dict[str, Any]]:
        return [frame for _, frame in self.timed()]

    def count(self, **fields: Any) -> int:
        """How many frames have these fields with these values."""
        return sum(1 for f in self.frames() if all(f.get(k) == v for k, v in fields.items()))

    def first_arrival(
        self, timeout: float = 30.0, *, after: int = 0, **fields: Any
    ) -> float | None:
        """When the first frame with these fields arrived among those after index `after`
        (perf_counter), waiting for it at most `timeout` seconds; None if none came."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for arrived, frame in self._frames[after:]:
                    if all(frame.get(k) == v for k, v in fields.items()):
                        return arrived
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._arrived.wait(left)

    def wait_for(self, timeout: float = 30.0, **fields: Any) -> None:
        """Wait for a frame with these fields; AssertionError with the last frames on timeout."""
        if self.first_arrival(timeout, **fields) is None:
            raise AssertionError(f"no {fields}; got {self.frames()[-5:]}")

    def wait_until(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """The frames once `predicate(frames)` holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                frames = [frame for _, frame in self._frames]
                if predicate(frames):
                    return frames
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; got {frames[-5:]}")
                self._arrived.wait(left)
