"""Hypothesis sends generated messages through the real WebSocket gateway, on one connection.

The runtime (moto backend) runs the project's app as a user starts it; a signed-up
user connects with websocket-client. Hundreds of text frames, valid and not, go
over that one connection, each followed by a `ping`: every invalid frame gets
exactly one `error`, nothing but the server's messages comes back (no gateway
"Internal server error"), and at the end a `ping` still gets its `pong`.
tests/unit/test_websocket_fuzz.py covers bytes and many more messages without sockets.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from hypothesis import HealthCheck, Phase, given, note, settings

from tests.support.runtime_process import PROJECT_DIR, RuntimeProcess, start_runtime
from tests.support.ws_messages import SERVER_TYPES, ClientMessage, text_messages

MESSAGES = int(os.environ.get("USERDB_WS_FUZZ_MESSAGES", "300"))
PING = json.dumps({"action": "ping"})
REPLY_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    # Hundreds of frames a few ms apart: past the default message budget (10 a second),
    # which is not what this test is about.
    budget = (
        "--env",
        "USERDB_WS_MESSAGES_PER_SECOND=10000",
        "--env",
        "USERDB_WS_MESSAGE_BURST=10000",
    )
    process = start_runtime(PROJECT_DIR, *budget)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def live(runtime: RuntimeProcess) -> Iterator[websocket.WebSocket]:
    """A signed-up user's connection (its tenant is empty: version 0)."""
    reply = requests.post(
        f"{runtime.api_url}/auth/signup",
        json={
            "email": f"ws-fuzz-{uuid.uuid4().hex[:10]}@example.com",
            "password": "correct horse battery",
            "name": "WS",
        },
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    url = runtime.ws_url(token=reply.json()["token"], clientId=str(uuid.uuid4()))
    ws = websocket.create_connection(url, timeout=REPLY_TIMEOUT_S)
    yield ws
    ws.close()


class Replies:
    """Reads the server's messages; the gateway runs each frame on its own, so a `pong`
    may overtake the reply to the frame sent before it."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.errors = 0
        self.seen: list[dict[str, Any]] = []

    def until_pong_and(self, errors: int) -> None:
        """Read until a `pong` came and `errors` errors in all; fail on anything else."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        ponged = False
        while not (ponged and self.errors >= errors):
            assert time.monotonic() < deadline, f"no pong/error in time; last: {self.seen[-5:]}"
            frame = self.ws.recv()
            reply = json.loads(frame)
            self.seen.append(reply)
            assert isinstance(reply, dict) and reply.get("type") in SERVER_TYPES, reply
            if reply["type"] == "error":
                assert reply["code"] == "validation_error", reply
                self.errors += 1
            ponged = ponged or reply["type"] == "pong"


def test_hundreds_of_generated_messages_leave_the_connection_usable(live):
    replies = Replies(live)
    sent_invalid = 0

    @settings(
        max_examples=MESSAGES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(message=text_messages)
    def one_message(message: ClientMessage) -> None:
        nonlocal sent_invalid
        note(repr(message))
        # When a generated frame and then a ping go over the connection
        live.send(message.body)
        live.send(PING)
        sent_invalid += not message.valid
        # Then the ping is answered, and an invalid frame got its one error
        replies.until_pong_and(errors=sent_invalid)
        assert replies.errors == sent_invalid

    one_message()
    # Then, after every message, the connection still answers a ping, with no error left over
    live.send(PING)
    replies.until_pong_and(errors=sent_invalid)
    assert replies.errors == sent_invalid
    assert live.connected
