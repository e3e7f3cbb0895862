"""Idle timeout and maximum lifetime, set low (1 s idle, 4 s lifetime)."""

from __future__ import annotations

import json
import threading
import time

from tests.support.runtime_process import (
    close_frame,
    connect,
    connection_id,
    recorded_events,
    wait_for,
)


def test_an_idle_connection_is_closed_with_going_away(ws_echo_runtime_short_timeouts):
    runtime = ws_echo_runtime_short_timeouts
    ws = connect(runtime)
    cid = connection_id(ws)
    # When the client sends nothing for longer than the idle timeout
    # Then the gateway closes it with 1001, and $disconnect says why
    assert close_frame(ws) == (1001, "Going away")

    def disconnect():
        found = [
            e
            for e in recorded_events(runtime, cid)
            if e["requestContext"]["eventType"] == "DISCONNECT"
        ]
        return found[0] if found else None

    event = wait_for(disconnect, what="$disconnect")
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert event["requestContext"]["disconnectReason"] == "Going away"


def test_an_active_connection_is_closed_at_its_maximum_lifetime(ws_echo_runtime_short_timeouts):
    ws = connect(ws_echo_runtime_short_timeouts)
    opened = time.monotonic()
    stop = threading.Event()

    def keep_talking():
        # Well inside the idle timeout, until the server closes the socket
        while not stop.wait(0.25):
            try:
                ws.send(json.dumps({"action": "ping"}))
            except Exception:
                return

    talker = threading.Thread(target=keep_talking, daemon=True)
    talker.start()
    try:
        # Then it outlives the idle timeout but is still closed with 1001
        code, _ = close_frame(ws)
    finally:
        stop.set()
        talker.join(timeout=5)
    assert code == 1001
    assert time.monotonic() - opened >= 3.5
