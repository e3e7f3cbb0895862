"""Revocation reaches sockets: logout, `DELETE /auth/sessions/{id}` and `DELETE /me` close the
WebSocket connections of the sessions they end, and only those."""

from __future__ import annotations

import pytest
import websocket

from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser
from tests.support.sync_client import SyncClient

# Every test here runs this project's app on DynamoDB Local.
pytestmark = pytest.mark.dynamodb_local


def connected(runtime: RuntimeProcess, session: RestUser) -> SyncClient:
    return SyncClient(runtime.ws_url, session.token).connect()


def still_open(client: SyncClient) -> bool:
    """The connection answers a ping with a pong."""
    pongs = len(client.messages("pong"))
    client.send({"action": "ping", "version": client.state.cursor or 0})
    client.wait(lambda: len(client.messages("pong")) > pongs, 10, "a pong")
    return client.close_codes[-1] is None


def test_ending_sessions_closes_their_sockets_and_no_others(userdb_runtime):
    # Given Ann with three sessions (two sockets on the first, one on each other) and Bob
    laptop = RestUser.sign_up(userdb_runtime.api_url, "Ann")
    phone, tablet = laptop.login(), laptop.login()
    bob = RestUser.sign_up(userdb_runtime.api_url, "Bob")
    laptop_tabs = [connected(userdb_runtime, laptop) for _ in range(2)]
    phone_socket, tablet_socket = (
        connected(userdb_runtime, phone),
        connected(userdb_runtime, tablet),
    )
    bobs_socket = connected(userdb_runtime, bob)

    # When the laptop logs out
    assert laptop.call("POST", "/auth/logout").status_code == 204
    # Then both of its sockets are closed, normally
    assert [tab.wait_closed() for tab in laptop_tabs] == [1000, 1000]
    # And every other socket stays open
    assert all(still_open(s) for s in (phone_socket, tablet_socket, bobs_socket))
    # And its token no longer opens a socket
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connected(userdb_runtime, laptop)
    assert refused.value.status_code == 401

    # When the tablet revokes the phone's session
    phone_session = phone.session_id()
    assert tablet.call("DELETE", f"/auth/sessions/{phone_session}").status_code == 204
    # Then the phone's socket closes, and the tablet's and Bob's do not
    assert phone_socket.wait_closed() == 1000
    assert still_open(tablet_socket) and still_open(bobs_socket)

    # When Ann deletes her account from the tablet
    assert tablet.call("DELETE", "/me").status_code == 204
    # Then her last socket closes, and Bob's is untouched
    assert tablet_socket.wait_closed() == 1000
    assert still_open(bobs_socket)
    bobs_socket.disconnect()
