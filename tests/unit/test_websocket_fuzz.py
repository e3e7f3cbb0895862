"""Hypothesis drives the WebSocket protocol's server side with any message (DESIGN §5).

ConnectionService is what the `$default` route runs for every frame. In-memory
fakes stand for the stores and for @connections (tests/support/fakes.py), so thousands
of messages run in seconds: whatever arrives, nothing escapes, an invalid
message gets exactly one `error` and changes nothing, a valid one gets what the
protocol promises, and the connection keeps answering.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from chalicelib.logic.connections import ConnectionService
from chalicelib.logic.sessions import ClientInfo
from chalicelib.models.protocol import Changes, Pong, Welcome
from tests.support.fakes import (
    FakeChangeFeed,
    FakeClock,
    InMemoryConnectionStore,
    RecordingPush,
    memory_sessions,
)
from tests.support.ws_messages import (
    SERVER_TYPES,
    ClientMessage,
    byte_messages,
    text_messages,
)

CLIENT = str(uuid.uuid4())
CONNECTION = "conn-1"
TENANT = "usr_a"
HISTORY = 3  # the tenant's version: some notes, so catch-ups carry items


class Connected:
    """One signed-in connection of a tenant with a little history."""

    def __init__(self) -> None:
        clock = FakeClock()
        sessions = memory_sessions(clock)
        self.store, self.feed, self.push = (
            InMemoryConnectionStore(),
            FakeChangeFeed(),
            RecordingPush(),
        )
        self.service = ConnectionService(sessions, self.store, self.feed, clock, self.push)
        for n in range(HISTORY):
            self.feed.write(TENANT, f"note_{n:016d}", f"text {n}")
        token, _ = sessions.start(TENANT, ClientInfo())
        self.service.connect(CONNECTION, token, CLIENT)

    def send(self, body: str | bytes) -> list[dict[str, Any]]:
        """The messages the server posted in answer to `body`."""
        before = len(self.push.messages_to(CONNECTION))
        self.service.receive(CONNECTION, body, self.push)
        return self.push.messages_to(CONNECTION)[before:]

    @property
    def acked(self) -> int:
        connection = self.store.get(CONNECTION)
        assert connection is not None
        return connection.acked_version


def assert_server_messages(answered: list[dict[str, Any]]) -> None:
    """Every reply is one of the server's messages, well formed."""
    for reply in answered:
        assert reply["type"] in SERVER_TYPES, reply
        if reply["type"] == "error":
            assert set(reply) == {"type", "code", "message"}
            assert isinstance(reply["message"], str) and reply["message"]
        else:
            models: dict[str, type[BaseModel]] = {
                "welcome": Welcome,
                "changes": Changes,
                "pong": Pong,
            }
            models[reply["type"]].model_validate(reply)


def assert_answers_a_valid_message(message: ClientMessage, answered: list[dict[str, Any]]) -> None:
    """What DESIGN §5 promises for each action (the catch-up's content is the feed's)."""
    fields = json.loads(message.body)
    types = [reply["type"] for reply in answered]
    catch_up = set(types[1:]) <= {"changes"}
    if message.action == "hello":
        assert types[0] == "welcome" and catch_up, types
        assert answered[0] == {
            "type": "welcome",
            "clientId": CLIENT,
            "connectionId": CONNECTION,
            "version": HISTORY,
        }
    elif message.action == "ping":
        assert answered[0] == {"type": "pong", "version": HISTORY} and catch_up, types
        if fields.get("version") == HISTORY:
            assert types == ["pong"]  # up to date: nothing to catch up
    elif message.action == "ack":
        assert answered == []
    else:
        assert set(types) <= {"changes"}, types


def acknowledged(message: ClientMessage) -> int:
    """The version a message acknowledges: an ack's own, hello's and ping's up to the tenant's."""
    if not message.valid or message.action == "sync":
        return 0
    fields = json.loads(message.body)
    if message.action == "ack":
        return int(fields["version"])
    return min(fields.get("version" if message.action == "ping" else "since") or 0, HISTORY)


@settings(max_examples=1000, deadline=None)
@given(message=st.one_of(text_messages, byte_messages))
def test_any_message_gets_its_answer_and_the_connection_keeps_working(message):
    note(repr(message))  # Hypothesis prints mapped dataclasses blank
    # Given a connected client
    client = Connected()
    acked = client.acked
    # When any message arrives (text or bytes, JSON or not)
    answered = client.send(message.body)
    # Then nothing escaped, and the replies are the server's messages
    assert_server_messages(answered)
    if message.valid:
        # And a valid message is answered as the protocol says
        assert "error" not in [reply["type"] for reply in answered]
        assert_answers_a_valid_message(message, answered)
        assert client.acked == max(acked, acknowledged(message))
    else:
        # And an invalid one gets exactly one error, and changes nothing
        assert [(reply["type"], reply["code"]) for reply in answered] == [
            ("error", "validation_error")
        ]
        assert client.acked == acked
    # And the connection still answers a ping
    assert client.send('{"action":"ping"}') == [{"type": "pong", "version": HISTORY}]


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(st.one_of(text_messages, byte_messages), min_size=1, max_size=30))
def test_a_stream_of_messages_gets_one_error_per_invalid_message(messages):
    note(repr(messages))
    # Given a connected client
    client = Connected()
    # When it sends many messages, valid and invalid, on one connection
    answered = [reply for message in messages for reply in client.send(message.body)]
    # Then each invalid message got one error and each valid message none
    assert_server_messages(answered)
    errors = [reply for reply in answered if reply["type"] == "error"]
    assert len(errors) == sum(not message.valid for message in messages)
    # And the acked version is the highest the valid messages acknowledged
    # (hello and ping acknowledge at most the tenant's version: a cursor may be from a reset store)
    assert client.acked == max([0, *(acknowledged(message) for message in messages)])
    # And a ping is still answered
    assert client.send(b'{"action":"ping"}') == [{"type": "pong", "version": HISTORY}]
