"""The REST gateway: API Gateway's context, the Lambda context and REPORT lines, health."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid

import pytest


def test_a_rest_call_gets_api_gateway_and_lambda_context(ws_echo_runtime):
    # When a client calls a REST route
    status, body = ws_echo_runtime.get_json("/context")
    # Then the route saw API Gateway's request context
    assert status == 200
    context = body["requestContext"]
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert uuid.UUID(context["requestId"])
    assert context["requestTimeEpoch"] > 0
    assert body["headers"]["x-forwarded-for"] == "127.0.0.1"
    # And ran as the `{app}-{stage}` function with its configured memory and timeout
    lam = body["lambda"]
    assert lam["function_name"] == "ws-echo-local"
    assert lam["memory_limit_in_mb"] == 256
    assert 0 < lam["remaining_ms"] <= 10_000
    # And the invocation was logged with its request id, like CloudWatch's REPORT line
    pattern = rf"REPORT RequestId: {lam['aws_request_id']} Function: ws-echo-local Duration: "
    assert re.search(pattern, ws_echo_runtime.output_text())


def test_health_answers_once_the_runtime_is_up(ws_echo_runtime):
    # The fixture waited for it; the app has no /health route, so the runtime answers
    assert ws_echo_runtime.get_json("/health") == (200, {"status": "ok"})


def test_an_unknown_route_is_api_gateways_403(ws_echo_runtime):
    status, body = ws_echo_runtime.get_json("/no/such/route")
    assert status == 403
    assert body == {"message": "Missing Authentication Token"}


def test_an_unknown_route_with_a_bearer_token_does_not_echo_the_token(ws_echo_runtime):
    # Given a request to no route that carries a session token
    secret = "s3cret-session-token-" + uuid.uuid4().hex
    url = ws_echo_runtime.api_url + "/no/such/route"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})  # noqa: S310
    # When the gateway refuses it (API Gateway's 403, which on AWS quotes the header)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
    body = refused.value.read().decode()
    # Then the answer has API Gateway's shape, and the token appears nowhere in it
    assert refused.value.code == 403
    assert json.loads(body)["message"].startswith("Authorization header requires")
    assert secret not in body and secret not in str(refused.value.headers)
