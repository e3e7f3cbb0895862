"""The local WebSocket gateway throttles routes as the app's template sets them (its
WebSocket stage's `RouteSettings`), and only then: the ws_echo app, real runtime, real
sockets. A template with tiny limits makes the refusals happen at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
import websockets

from tests.support.runtime_process import WS_ECHO_APP, RuntimeProcess, connect, start_runtime

# Limits that refill too slowly to matter within a test: the bursts alone count.
SLOW = 0.001
TEMPLATE = {
    "Resources": {
        "WebsocketAPIStage": {
            "Properties": {
                "DefaultRouteSettings": {"ThrottlingRateLimit": SLOW, "ThrottlingBurstLimit": 3},
                "RouteSettings": {"$connect": {"ThrottlingBurstLimit": 2}},
            }
        }
    }
}


@pytest.fixture()
def throttled(tmp_path: Path) -> Iterator[RuntimeProcess]:
    template = tmp_path / "resources.json"
    template.write_text(json.dumps(TEMPLATE))
    runtime = start_runtime(WS_ECHO_APP, "--template", str(template))
    yield runtime
    runtime.stop()


def test_the_stages_bursts_hold_for_connects_and_for_messages(throttled):
    # Given a stage that allows 2 connects at once, and 3 messages on any other route
    first, second = connect(throttled), connect(throttled)
    try:
        # Then a third connect is refused with 429
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            connect(throttled)
        assert refused.value.status_code == 429
        # And of 4 messages, 3 are answered by the app and 1 refused by the gateway (in
        # any order: the refusal is immediate, the app's answers are posted)
        for _ in range(4):
            first.send(json.dumps({"action": "whoami"}))
        replies = [json.loads(first.recv()) for _ in range(4)]
        assert [r.get("message") for r in replies].count("Too Many Requests") == 1
        assert sum("message" not in r and "connectionId" in r for r in replies) == 3
    finally:
        first.close()
        second.close()


def test_without_stage_settings_nothing_is_throttled():
    # An app without a template (as ws_echo usually runs): 400 connects at once, twice
    # userdb's own stage burst, are all accepted
    runtime = start_runtime(WS_ECHO_APP)
    url = runtime.ws_url(token="t")

    async def open_and_close(count: int) -> int:
        sockets = await asyncio.gather(
            *(websockets.connect(url, ping_interval=None, open_timeout=60) for _ in range(count))
        )
        await asyncio.gather(*(ws.close() for ws in sockets))
        return len(sockets)

    try:
        assert asyncio.run(open_and_close(400)) == 400
    finally:
        runtime.stop()
