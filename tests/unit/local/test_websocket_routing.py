"""Route selection on `$request.body.action` and the `$connect` decision."""

import base64
import json

import pytest

from infra.local.websocket_gateway.routing import (
    ConnectDecision,
    action_of,
    client_error,
    connect_decision,
    select_route,
    throttled_connect,
)

CHALICE_ROUTES = {"$connect", "$default", "$disconnect"}
CUSTOM_ROUTES = {"$connect", "$default", "$disconnect", "sendmessage", "join"}


@pytest.mark.parametrize(
    ("body", "routes", "expected"),
    [
        ('{"action": "sendmessage", "x": 1}', CUSTOM_ROUTES, "sendmessage"),
        ('{"action": "join"}', CUSTOM_ROUTES, "join"),
        ('{"action": "unknown"}', CUSTOM_ROUTES, "$default"),
        ('{"action": "sendmessage"}', CHALICE_ROUTES, "$default"),
        ('{"no_action": true}', CUSTOM_ROUTES, "$default"),
        ('{"action": 5}', CUSTOM_ROUTES, "$default"),
        ('["action", "join"]', CUSTOM_ROUTES, "$default"),
        ("not json at all", CUSTOM_ROUTES, "$default"),
        # Nested deeper than any parser recurses: unreadable, like malformed JSON
        ("[" * 100_000 + "]" * 100_000, CUSTOM_ROUTES, "$default"),
        (
            '{"action": "join", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
            CUSTOM_ROUTES,
            "$default",
        ),
        ("", CUSTOM_ROUTES, "$default"),
        # Predefined routes are never selected by a message.
        ('{"action": "$connect"}', CUSTOM_ROUTES, "$default"),
        ('{"action": "$disconnect"}', CUSTOM_ROUTES, "$default"),
    ],
)
def test_route_selection(body, routes, expected):
    assert select_route(body, routes) == expected


def test_no_route_without_default():
    # Given an API with custom routes but no $default
    routes = {"$connect", "join"}
    # Then a matching action is routed and anything else finds no route
    assert select_route('{"action": "join"}', routes) == "join"
    assert select_route('{"action": "leave"}', routes) is None
    assert select_route("text", routes) is None


def test_action_of_reads_only_string_actions_of_objects():
    assert action_of('{"action": "a"}') == "a"
    assert action_of('{"action": null}') is None
    assert action_of("1") is None


def test_a_throttled_connect_is_refused_with_429():
    decision = throttled_connect()
    assert (decision.status, decision.accepted) == (429, False)
    assert json.loads(decision.body) == {"message": "Too Many Requests"}


def test_client_error_frame_names_connection_and_request():
    assert json.loads(client_error("Forbidden", "c1", "r1")) == {
        "message": "Forbidden",
        "connectionId": "c1",
        "requestId": "r1",
    }


def test_connect_accepts_a_2xx_result():
    decision = connect_decision({"statusCode": 200}, failed=False)
    assert decision.accepted
    assert decision.status == 200


def test_connect_rejects_with_the_handlers_status_body_and_headers():
    # Given a handler that answers 401 with a JSON body (Chalice's Response.to_dict())
    result = {
        "statusCode": 401,
        "headers": {"Content-Type": "application/json"},
        "body": '{"message": "no token"}',
    }
    # Then the upgrade is refused with exactly that
    decision = connect_decision(result, failed=False)
    assert not decision.accepted
    assert decision == ConnectDecision(
        401, b'{"message": "no token"}', {"Content-Type": "application/json"}
    )


def test_connect_decodes_a_base64_body():
    result = {
        "statusCode": 403,
        "body": base64.b64encode(b"\x00no").decode(),
        "isBase64Encoded": True,
    }
    assert connect_decision(result, failed=False).body == b"\x00no"


@pytest.mark.parametrize("result", [None, {}, {"body": "x"}, "ok"])
def test_connect_without_a_status_accepts(result):
    assert connect_decision(result, failed=False).accepted


@pytest.mark.parametrize("result", [{"statusCode": "abc"}, {"statusCode": 99}, {"statusCode": 600}])
def test_connect_with_a_malformed_status_is_a_500(result):
    decision = connect_decision(result, failed=False)
    assert decision.status == 500
    assert json.loads(decision.body) == {"message": "Internal server error"}


def test_connect_that_failed_is_a_500():
    assert connect_decision({"statusCode": 200}, failed=True).status == 500


def test_connect_passes_the_chosen_subprotocol_on():
    result = {"statusCode": 200, "headers": {"sec-websocket-protocol": "userdb.v1"}}
    assert connect_decision(result, failed=False).subprotocol == "userdb.v1"
    assert connect_decision({"statusCode": 200}, failed=False).subprotocol is None
