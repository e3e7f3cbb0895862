"""WebSocket events as API Gateway sends them: shape, Powertools models, Chalice handlers."""

import json
import re
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from chalice.app import Chalice

from infra.local.websocket_gateway.chalice_sender import point_websocket_api
from infra.local.websocket_gateway.events import (
    ApiInfo,
    ConnectionInfo,
    UpgradeRequest,
    canonical_header_name,
    connect_event,
    disconnect_event,
    message_event,
    new_id,
    query_maps,
    request_time,
)

CONNECTED_AT = 1_731_324_924_553
API = ApiInfo(api_id="abcde12345", stage="local", domain_name="127.0.0.1:8001")
CONNECTION = ConnectionInfo(
    connection_id="BFHPhfCWIAMCKlQ=",
    connected_at_ms=CONNECTED_AT,
    source_ip="127.0.0.1",
    user_agent="pytest/1",
    api=API,
)
UPGRADE = UpgradeRequest(
    headers=(
        ("host", "127.0.0.1:8001"),
        ("sec-websocket-key", "+W5xw47OHh3OTFsWKjGu9Q=="),
        ("x-forwarded-for", "10.1.1.1"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
    ),
    query_string="token=abc&tag=x&tag=y&empty=",
    server_port=8001,
)


def test_connect_event_validates_and_carries_the_upgrade_request():
    # Given an upgrade request with headers and a query string
    # When it becomes a CONNECT event
    event = connect_event(CONNECTION, UPGRADE, CONNECTED_AT + 8, "req-1")
    # Then Powertools' model accepts it
    model = APIGatewayWebSocketConnectEventModel.model_validate(event)
    assert model.request_context.route_key == "$connect"
    assert model.request_context.event_type == "CONNECT"
    assert model.request_context.connection_id == CONNECTION.connection_id
    # And it carries the query string, single- and multi-valued, as API Gateway splits it
    assert event["queryStringParameters"] == {"token": "abc", "tag": "y", "empty": ""}
    assert event["multiValueQueryStringParameters"]["tag"] == ["x", "y"]
    # And the headers spelled as clients send them, repeats kept in the multi-value map
    assert event["headers"]["Host"] == "127.0.0.1:8001"
    assert event["headers"]["Sec-WebSocket-Key"] == "+W5xw47OHh3OTFsWKjGu9Q=="
    assert event["multiValueHeaders"]["Cookie"] == ["a=1", "b=2"]
    # And the forwarding headers API Gateway adds, with the caller appended
    assert event["headers"]["X-Forwarded-For"] == "10.1.1.1, 127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == "8001"
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", event["headers"]["X-Amzn-Trace-Id"])
    context = event["requestContext"]
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "pytest/1"}
    assert context["connectedAt"] == CONNECTED_AT
    assert context["requestTimeEpoch"] == CONNECTED_AT + 8
    assert context["messageDirection"] == "IN"
    assert (context["apiId"], context["stage"]) == ("abcde12345", "local")
    assert event["isBase64Encoded"] is False


def test_connect_event_without_query_has_no_query_maps():
    # Given an upgrade request without a query string
    upgrade = UpgradeRequest(headers=(("host", "h"),), query_string="", server_port=8001)
    # When it becomes a CONNECT event
    event = connect_event(CONNECTION, upgrade, CONNECTED_AT, "req-1")
    # Then, as on API Gateway, the query maps are absent
    assert "queryStringParameters" not in event
    assert "multiValueQueryStringParameters" not in event


def test_message_event_validates_and_carries_the_body():
    # Given a text frame routed to a custom route
    body = json.dumps({"action": "chat", "text": "hi"})
    # When it becomes a MESSAGE event
    event = message_event(
        CONNECTION, "chat", body, CONNECTED_AT + 50, request_id="r", message_id="m"
    )
    # Then Powertools' model accepts it with the body, route key and message id
    model = APIGatewayWebSocketMessageEventModel.model_validate(event)
    assert model.body == body
    assert model.request_context.route_key == "chat"
    assert model.request_context.message_id == "m"
    assert model.request_context.event_type == "MESSAGE"


def test_disconnect_event_validates_with_code_and_reason():
    # When a connection closes with a code and reason
    event = disconnect_event(CONNECTION, 1001, "Going away", CONNECTED_AT + 600_000, "r")
    # Then Powertools' model accepts it and carries both
    model = APIGatewayWebSocketDisconnectEventModel.model_validate(event)
    assert model.request_context.disconnect_status_code == 1001
    assert model.request_context.disconnect_reason == "Going away"
    # And the headers are API Gateway's fixed set
    assert event["headers"] == {
        "Host": "127.0.0.1:8001",
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }


def test_chalice_websocket_handlers_accept_the_events(monkeypatch):
    # Given a Chalice app with the three websocket handlers, posting to a local endpoint
    app = Chalice(app_name="events-test")
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    seen: list[tuple[Any, ...]] = []

    @app.on_ws_connect()
    def connect(event):
        seen.append(("connect", event.connection_id, event.stage, event.domain_name))

    @app.on_ws_message()
    def message(event):
        seen.append(("message", event.connection_id, event.json_body["action"]))

    @app.on_ws_disconnect()
    def disconnect(event):
        seen.append(("disconnect", event.connection_id))

    point_websocket_api(app, "http://127.0.0.1:8001/local")
    body = json.dumps({"action": "chat"})
    # When Lambda would call them with our events
    replies = [
        app.handler_map["connect"](connect_event(CONNECTION, UPGRADE, CONNECTED_AT, "r"), None),
        app.handler_map["message"](
            message_event(
                CONNECTION, "$default", body, CONNECTED_AT, request_id="r", message_id="m"
            ),
            None,
        ),
        app.handler_map["disconnect"](
            disconnect_event(CONNECTION, 1000, "", CONNECTED_AT, "r"), None
        ),
    ]
    # Then each handler ran on the event's connection and answered 200
    cid = CONNECTION.connection_id
    assert seen == [
        ("connect", cid, "local", "127.0.0.1:8001"),
        ("message", cid, "chat"),
        ("disconnect", cid),
    ]
    assert replies == [{"statusCode": 200}] * 3


def test_ids_look_like_api_gateway_ids_and_are_url_safe():
    # When many ids are made
    ids = {new_id() for _ in range(500)}
    # Then they are distinct, 16 characters, padded, and safe in a URL path
    assert len(ids) == 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{15}=", i) for i in ids)


@pytest.mark.parametrize(
    ("epoch_ms", "expected"),
    [(1_731_324_924_553, "11/Nov/2024:11:35:24 +0000"), (0, "01/Jan/1970:00:00:00 +0000")],
)
def test_request_time_is_api_gateways_format(epoch_ms, expected):
    assert request_time(epoch_ms) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sec-websocket-key", "Sec-WebSocket-Key"),
        ("host", "Host"),
        ("x-amzn-trace-id", "X-Amzn-Trace-Id"),
        ("X-Custom-CASE", "X-Custom-CASE"),
    ],
)
def test_header_names_are_spelled_as_clients_send_them(raw, expected):
    assert canonical_header_name(raw) == expected


def test_query_maps_keep_blank_values_and_repeats():
    assert query_maps("a=1&a=2&b=") == ({"a": "2", "b": ""}, {"a": ["1", "2"], "b": [""]})
