"""One connection flooding the WebSocket gateway does not starve the others (ws_echo app).

The gateway runs each connection's messages in turn with the others', at most a few of
one connection's at once, and refuses what overflows a connection's queue the way API
Gateway refuses throttled messages. Assertions are about order, never about time.
"""

from __future__ import annotations

import json
import time

from infra.local.websocket_gateway.limits import MAX_WAITING_MESSAGES
from tests.support.frame_reader import FrameReader
from tests.support.runtime_process import RuntimeProcess, connect

FLOOD = 300
NESTING = 30_000  # 60 KB: under the 128 KB limit, far past any recursion limit


def test_a_flooding_connection_neither_starves_another_nor_queues_without_bound(
    ws_echo_runtime: RuntimeProcess,
):
    # Given two connections, A about to send 300 slow messages at once
    a, b = FrameReader(connect(ws_echo_runtime)), FrameReader(connect(ws_echo_runtime))
    try:
        for seq in range(FLOOD):
            a.ws.send(json.dumps({"action": "sleep", "seconds": 0.05, "seq": seq}))
        # When B asks something right after
        b.ws.send(json.dumps({"action": "whoami"}))
        b.wait_until(lambda frames: any(f.get("type") == "whoami" for f in frames))
        # Then B was answered while most of A's accepted messages were still waiting
        slept_before_b = sum(1 for f in a.frames() if f.get("type") == "slept")
        assert slept_before_b < MAX_WAITING_MESSAGES // 2
        # And A's queue held at most what it may: the rest was refused as throttled, and A
        # was told (once per overflow, not once per frame)
        a.wait_until(
            lambda got: sum(1 for f in got if f.get("type") == "slept") >= MAX_WAITING_MESSAGES
        )
        time.sleep(0.5)
        frames = a.frames()
        slept = [f["seq"] for f in frames if f.get("type") == "slept"]
        throttled = [f for f in frames if f.get("message") == "Too Many Requests"]
        assert MAX_WAITING_MESSAGES <= len(slept) < FLOOD
        assert 1 <= len(throttled) <= FLOOD - len(slept)
        assert len(throttled) < 10
        # The first ones accepted ran (at most MAX_RUNNING_MESSAGES at a time): no gaps
        assert sorted(slept)[:MAX_WAITING_MESSAGES] == list(range(MAX_WAITING_MESSAGES))
        # And A still works
        a.ws.send(json.dumps({"action": "whoami"}))
        a.wait_until(lambda got: any(f.get("type") == "whoami" for f in got))
    finally:
        a.ws.close()
        b.ws.close()


def test_a_deeply_nested_frame_is_routed_like_any_unroutable_one(ws_echo_runtime):
    # API Gateway's route selection cannot read it: it goes to $default, which echoes it
    ws = connect(ws_echo_runtime)
    try:
        ws.send("[" * NESTING + "]" * NESTING)
        assert json.loads(ws.recv()) == {"type": "echo", "size": 2 * NESTING}
        ws.send(json.dumps({"action": "whoami"}))
        assert json.loads(ws.recv())["type"] == "whoami"
    finally:
        ws.close()
