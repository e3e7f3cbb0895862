"""One user flooding acks through the whole stack (the userdb app on DynamoDB Local): the
flooder is told `rate_limited`, everyone else is answered, and the flooder's connection
works again once it slows down. Figures before and after: `python -m bench.attacks`."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import websocket

from tests.support.rest_user import RestUser
from tests.support.runtime_process import RuntimeProcess

FLOOD = 3000


class Live:
    """A signed-in user's connection (opened with a connect ticket), read by a thread."""

    def __init__(self, runtime: RuntimeProcess, user: RestUser) -> None:
        ticket = user.call("POST", "/auth/ws-ticket").json()["ticket"]
        self.ws = websocket.create_connection(
            runtime.ws_url(ticket=ticket, clientId=str(uuid.uuid4())), timeout=30
        )
        self.frames: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                text = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if not text:
                return
            with self._lock:
                self.frames.append(json.loads(text))

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def count(self, **fields: Any) -> int:
        with self._lock:
            return sum(1 for f in self.frames if all(f.get(k) == v for k, v in fields.items()))

    def wait_for(self, timeout: float = 30.0, **fields: Any) -> None:
        deadline = time.monotonic() + timeout
        while self.count(**fields) == 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {fields}; got {self.frames[-5:]}")
            time.sleep(0.01)


def test_a_flood_of_acks_is_cut_short_and_slows_nobody_else(userdb_runtime):
    # Given two users online, A with one note
    ann, bob = RestUser.sign_up(userdb_runtime.api_url), RestUser.sign_up(userdb_runtime.api_url)
    version = ann.create("one")["version"]
    a, b = Live(userdb_runtime, ann), Live(userdb_runtime, bob)
    try:
        for live in (a, b):
            live.send({"action": "hello", "since": None})
            live.wait_for(type="welcome")
        # When A sends 3,000 acks as fast as its socket takes them, and B then pings
        ack = json.dumps({"action": "ack", "version": version})
        for _ in range(FLOOD):
            a.ws.send(ack)
        b.send({"action": "ping", "version": 0})
        # Then B gets its pong, and A is told it is rate limited, once
        b.wait_for(type="pong")
        a.wait_for(type="error", code="rate_limited")
        time.sleep(1.0)
        assert a.count(type="error", code="rate_limited") == 1
        # And A's connection answers again once it has slowed down
        a.send({"action": "ping", "version": version})
        a.wait_for(type="pong")
    finally:
        a.ws.close()
        b.ws.close()
