"""The WebSocket gateway and @connections, driven by websocket-client and boto3."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
import requests
import websocket
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from botocore.exceptions import ClientError

from tests.support.runtime_process import (
    close_frame,
    connect,
    connection_id,
    recorded_events,
    wait_for,
)

MODELS: dict[str, Any] = {
    "CONNECT": APIGatewayWebSocketConnectEventModel,
    "MESSAGE": APIGatewayWebSocketMessageEventModel,
    "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
}
LIMIT = 128 * 1024


def validated(events):
    """Every event checked against the Powertools model of its type."""
    for event in events:
        MODELS[event["requestContext"]["eventType"]].model_validate(event)
    return events


def disconnect_of(runtime, cid):
    def probe():
        found = [
            e
            for e in recorded_events(runtime, cid)
            if e["requestContext"]["eventType"] == "DISCONNECT"
        ]
        return found[0] if found else None

    return wait_for(probe, what=f"$disconnect of {cid}")


@pytest.mark.parametrize(
    ("query", "status"), [({}, 401), ({"token": "forbidden"}, 403), ({"token": "crash"}, 500)]
)
def test_connect_rejection_reaches_the_client_as_the_handlers_status(
    ws_echo_runtime, query, status
):
    # Given a $connect handler that refuses a missing token (401), a banned one (403),
    # and fails on another (an integration error)
    # When a client tries to connect
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_echo_runtime.ws_url(**query), timeout=10)
    # Then the upgrade is refused with that HTTP status
    assert refused.value.status_code == status
    if status == 401:
        assert json.loads(refused.value.resp_body or b"") == {
            "message": "a token query parameter is required"
        }


def test_a_session_produces_events_that_validate_against_powertools(ws_echo_runtime):
    # Given a client that connects with a token, a header and a query string
    ws = websocket.create_connection(
        ws_echo_runtime.ws_url(token="t1", clientId="c-9"),
        header=["X-Client: itest"],
        timeout=10,
    )
    cid = connection_id(ws)
    # When it sends JSON and non-JSON messages, then closes normally
    ws.send(json.dumps({"action": "nothing-routes-this", "n": 1}))
    assert json.loads(ws.recv())["type"] == "echo"
    ws.send("plain text")
    assert json.loads(ws.recv()) == {"type": "echo", "body": "plain text"}
    ws.close(status=1000, reason=b"done")
    # Then every event the handlers got validates against Powertools' models
    disconnect = disconnect_of(ws_echo_runtime, cid)
    events = validated(recorded_events(ws_echo_runtime, cid))
    kinds = [e["requestContext"]["eventType"] for e in events]
    assert kinds == ["CONNECT", "MESSAGE", "MESSAGE", "MESSAGE", "DISCONNECT"]
    # And $connect carried the query string and the client's headers
    connect_event = events[0]
    assert connect_event["queryStringParameters"] == {"token": "t1", "clientId": "c-9"}
    assert connect_event["headers"]["X-Client"] == "itest"
    assert connect_event["headers"]["Host"] == f"127.0.0.1:{ws_echo_runtime.ws_port}"
    context = connect_event["requestContext"]
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    # And messages without a matching route went to $default, with their body
    messages = events[1:4]
    assert {m["requestContext"]["routeKey"] for m in messages} == {"$default"}
    assert messages[2]["body"] == "plain text"
    assert len({m["requestContext"]["messageId"] for m in messages}) == 3
    # And $disconnect carried the client's close code and reason
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000
    assert disconnect["requestContext"]["disconnectReason"] == "done"
    # And each invocation was logged like CloudWatch's REPORT line
    output = ws_echo_runtime.output_text()
    for function in ("websocket_connect", "websocket_message", "websocket_disconnect"):
        assert re.search(rf"REPORT RequestId: \S+ Function: ws-echo-local-{function} ", output)


def test_connect_handler_chooses_the_subprotocol(ws_echo_runtime):
    ws = websocket.create_connection(
        ws_echo_runtime.ws_url(token="t"), subprotocols=["userdb.v1", "other"], timeout=10
    )
    assert ws.getsubprotocol() == "userdb.v1"
    ws.close()


# "/local/" as AWS prints it (Chalice's WebsocketConnectEndpointURL ends with a slash)
@pytest.mark.parametrize("path", ["/", "/local", "/local/"])
def test_root_and_stage_paths_both_connect(ws_echo_runtime, path):
    ws = connect(ws_echo_runtime, path)
    assert connection_id(ws)
    ws.close()


def test_another_stage_is_forbidden(ws_echo_runtime):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(ws_echo_runtime, "/prod")
    assert refused.value.status_code == 403


@pytest.mark.parametrize("stage", ["local", None])
def test_post_get_delete_through_boto3(ws_echo_runtime, stage):
    # Given a connected client and boto3's management client (endpoint with or without stage)
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    client = ws_echo_runtime.management(stage)
    # When the backend posts to it
    client.post_to_connection(ConnectionId=cid, Data=b'{"type":"hello"}')
    # Then the client receives it as one message
    assert json.loads(ws.recv()) == {"type": "hello"}
    # And GetConnection describes it
    described = client.get_connection(ConnectionId=cid)
    assert described["Identity"]["SourceIp"] == "127.0.0.1"
    assert described["LastActiveAt"] >= described["ConnectedAt"]
    # When the backend deletes it
    client.delete_connection(ConnectionId=cid)
    # Then the client sees a normal close and the app its $disconnect
    assert close_frame(ws)[0] == 1000
    disconnect = disconnect_of(ws_echo_runtime, cid)
    APIGatewayWebSocketDisconnectEventModel.model_validate(disconnect)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000
    # And the connection is gone for every operation
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"late")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=cid)
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=cid)


def test_unknown_ids_are_gone(ws_echo_runtime):
    client = ws_echo_runtime.management()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")


def test_a_closed_connection_is_gone(ws_echo_runtime):
    # Given a client that has closed its socket
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    ws.close()
    disconnect_of(ws_echo_runtime, cid)
    # Then posting to it raises GoneException
    client = ws_echo_runtime.management()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"x")


def test_another_stage_in_the_endpoint_is_forbidden(ws_echo_runtime):
    client = ws_echo_runtime.management("prod")
    with pytest.raises(client.exceptions.ForbiddenException):
        client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")


def test_posts_over_128_kb_are_payload_too_large(ws_echo_runtime):
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    client = ws_echo_runtime.management()
    # When the backend posts one byte over the limit
    with pytest.raises(client.exceptions.PayloadTooLargeException):
        client.post_to_connection(ConnectionId=cid, Data=b"x" * (LIMIT + 1))
    # Then nothing was sent, and a post of exactly the limit goes through
    client.post_to_connection(ConnectionId=cid, Data=b"y" * LIMIT)
    assert ws.recv() == "y" * LIMIT
    ws.close()


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT])
def test_a_client_message_over_128_kb_closes_with_1009(ws_echo_runtime, size):
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    # Given a message of exactly the limit is taken
    ws.send("a" * LIMIT)
    assert json.loads(ws.recv()) == {"type": "echo", "size": LIMIT}
    # When the client sends more (the gateway fails the connection mid-message)
    ws.send("a" * size)
    # Then the client reads the 1009 close (no reset) and $disconnect says so
    assert close_frame(ws)[0] == 1009
    assert disconnect_of(ws_echo_runtime, cid)["requestContext"]["disconnectStatusCode"] == 1009


def test_a_binary_frame_closes_with_1003(ws_echo_runtime):
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    ws.send_binary(b"\x00\x01")
    assert close_frame(ws)[0] == 1003
    assert disconnect_of(ws_echo_runtime, cid)["requestContext"]["disconnectStatusCode"] == 1003


def test_posts_from_a_handler_arrive_in_order(ws_echo_runtime):
    ws = connect(ws_echo_runtime)
    # When the handler posts 50 messages one after the other
    ws.send(json.dumps({"action": "burst", "count": 50}))
    # Then the client receives them in that order
    assert [json.loads(ws.recv())["seq"] for _ in range(50)] == list(range(50))
    ws.close()


def test_a_handler_reaches_other_connections_through_websocket_api(ws_echo_runtime):
    # Given two clients, and one connection that has gone
    alice, bob, gone = (connect(ws_echo_runtime) for _ in range(3))
    alice_id, bob_id, gone_id = connection_id(alice), connection_id(bob), connection_id(gone)
    gone.close()
    disconnect_of(ws_echo_runtime, gone_id)
    # When alice's handler sends through `app.websocket_api.send`
    alice.send(json.dumps({"action": "send", "to": [bob_id, gone_id], "data": "hi"}))
    # Then bob gets the message and Chalice reported the gone one (GoneException underneath)
    assert json.loads(bob.recv()) == {"type": "relay", "from": alice_id, "data": "hi"}
    assert json.loads(alice.recv()) == {"type": "sent", "gone": [gone_id]}
    alice.close()
    bob.close()


def test_a_failing_handler_tells_the_client_and_keeps_the_connection(ws_echo_runtime):
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    # When the $default handler raises
    ws.send(json.dumps({"action": "crash"}))
    # Then the client gets API Gateway's error frame
    reply = json.loads(ws.recv())
    assert reply["message"] == "Internal server error"
    assert reply["connectionId"] == cid
    assert reply["requestId"]
    # And the connection still works
    assert connection_id(ws) == cid
    ws.close()


def test_connections_and_faults_take_only_requests_signed_with_the_local_credentials(
    ws_echo_runtime,
):
    # Given a connected client
    ws = connect(ws_echo_runtime)
    cid = connection_id(ws)
    base = f"http://127.0.0.1:{ws_echo_runtime.ws_port}"
    # When anyone on the machine (or a web page) posts to it without signing, or asks
    # to fail it through /@faults
    spoofed = b'{"type":"spoofed"}'
    unsigned = requests.post(f"{base}/local/@connections/{cid}", data=spoofed, timeout=10)
    plan = {"connections": [{"status": 410, "count": 9}]}
    faults = requests.put(f"{base}/@faults", json=plan, timeout=10)
    # Then both are refused as AWS refuses them, and nothing reached the client
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert faults.status_code == 403
    assert ws_echo_runtime.faults("GET")["connections"] == []
    # And boto3 with other credentials is refused too
    stranger = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{base}/local",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="a guess",
    )
    with pytest.raises(ClientError) as refused:
        stranger.post_to_connection(ConnectionId=cid, Data=spoofed)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # While the runtime's own credentials reach it
    ws_echo_runtime.management().post_to_connection(ConnectionId=cid, Data=b'{"type":"real"}')
    assert json.loads(ws.recv()) == {"type": "real"}
    ws.close()
