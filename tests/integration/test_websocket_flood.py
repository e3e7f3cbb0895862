"""One user flooding acks through the whole stack (the userdb app on DynamoDB Local): the
flooder is told `rate_limited`, everyone else is answered, and the flooder's connection
works again once it slows down. Figures before and after: `python -m bench.attacks`."""

from __future__ import annotations

import json
import time
import uuid

import websocket

from tests.support.frame_reader import FrameReader
from tests.support.rest_user import RestUser
from tests.support.runtime_process import RuntimeProcess

FLOOD = 3000


def live(runtime: RuntimeProcess, user: RestUser) -> FrameReader:
    """A signed-in user's connection, opened with a connect ticket."""
    ticket = user.call("POST", "/auth/ws-ticket").json()["ticket"]
    return FrameReader(
        websocket.create_connection(
            runtime.ws_url(ticket=ticket, clientId=str(uuid.uuid4())), timeout=30
        )
    )


def test_a_flood_of_acks_is_cut_short_and_slows_nobody_else(userdb_runtime):
    # Given two users online, A with one note
    ann, bob = RestUser.sign_up(userdb_runtime.api_url), RestUser.sign_up(userdb_runtime.api_url)
    version = ann.create("one")["version"]
    a, b = live(userdb_runtime, ann), live(userdb_runtime, bob)
    try:
        for each in (a, b):
            each.send({"action": "hello", "since": None})
            each.wait_for(type="welcome")
        # When A sends 3,000 acks as fast as its socket takes them, and B then pings
        ack = json.dumps({"action": "ack", "version": version})
        for _ in range(FLOOD):
            a.ws.send(ack)
        b.send({"action": "ping", "version": 0})
        # Then B gets its pong, and A is told it is rate limited: at most once a second
        # while its flood is worked through, not once per dropped frame
        b.wait_for(type="pong")
        a.wait_for(type="error", code="rate_limited")
        time.sleep(1.0)
        assert 1 <= a.count(type="error", code="rate_limited") <= 2
        # And A's connection answers again once it has slowed down
        a.send({"action": "ping", "version": version})
        a.wait_for(type="pong")
    finally:
        a.ws.close()
        b.ws.close()
