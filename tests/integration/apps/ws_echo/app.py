"""A small Chalice app for the local runtime's integration tests and benchmarks.

Its websocket handlers record every event they get (read back with `GET /events`),
`$connect` rejects a client without a `token` query parameter, and `$default`
answers by posting through `app.websocket_api`, as a deployed app would.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import boto3
from chalice.app import Chalice, Response, WebsocketDisconnectedError, WebsocketEvent

app = Chalice(app_name="ws-echo")
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.websocket_api.session = boto3.session.Session()

_events: list[dict[str, Any]] = []
_events_lock = threading.Lock()
# Benchmarks that hold thousands of connections turn recording off (it would dominate memory).
_RECORD_EVENTS = os.environ.get("WS_ECHO_RECORD_EVENTS", "1") == "1"


def _record(event: WebsocketEvent) -> dict[str, Any]:
    raw: dict[str, Any] = event.to_dict()
    if _RECORD_EVENTS:
        with _events_lock:
            _events.append(raw)
    return raw


def _send(connection_id: str, message: dict[str, Any]) -> None:
    app.websocket_api.send(connection_id, json.dumps(message))


def _echo(event: WebsocketEvent) -> None:
    # Large bodies come back as their size, so the reply stays under the post limit.
    if len(event.body) > 4096:
        _send(event.connection_id, {"type": "echo", "size": len(event.body.encode())})
    else:
        _send(event.connection_id, {"type": "echo", "body": event.body})


@app.on_ws_connect()
def connect(event: WebsocketEvent) -> Any:
    raw = _record(event)
    token = (raw.get("queryStringParameters") or {}).get("token")
    if not token:
        body = json.dumps({"message": "a token query parameter is required"})
        return Response(body=body, status_code=401, headers={"Content-Type": "application/json"})
    if token == "forbidden":
        return Response(body="", status_code=403)
    if token == "crash":
        raise RuntimeError("$connect failed on purpose")
    offered = raw["headers"].get("Sec-WebSocket-Protocol")
    if offered:
        # As on API Gateway, the handler picks the subprotocol the connection speaks.
        chosen = offered.split(",")[0].strip()
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": chosen}}
    return {"statusCode": 200}


@app.on_ws_message()
def message(event: WebsocketEvent) -> None:
    _record(event)
    try:
        body = json.loads(event.body)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        _echo(event)
        return
    action = body.get("action")
    if action == "whoami":
        _send(event.connection_id, {"type": "whoami", "connectionId": event.connection_id})
    elif action == "crash":
        raise RuntimeError("$default failed on purpose")
    elif action == "send":
        gone = []
        for target in body.get("to", []):
            try:
                _send(target, {"type": "relay", "from": event.connection_id, "data": body["data"]})
            except WebsocketDisconnectedError:
                gone.append(target)
        _send(event.connection_id, {"type": "sent", "gone": gone})
    elif action == "sleep":
        # A slow handler, for the gateway's scheduling tests.
        time.sleep(float(body.get("seconds", 0.05)))
        _send(event.connection_id, {"type": "slept", "seq": body.get("seq")})
    elif action == "burst":
        for seq in range(int(body.get("count", 10))):
            _send(event.connection_id, {"type": "burst", "seq": seq})
    else:
        _echo(event)


@app.on_ws_disconnect()
def disconnect(event: WebsocketEvent) -> None:
    _record(event)


@app.route("/events")
def events() -> dict[str, Any]:
    """Recorded websocket events, optionally of one connection (`?connectionId=`)."""
    request = app.current_request
    assert request is not None
    params: Any = request.query_params or {}
    wanted = params.get("connectionId")
    with _events_lock:
        selected = [e for e in _events if wanted in (None, e["requestContext"]["connectionId"])]
    return {"events": selected}


@app.route("/context")
def context() -> dict[str, Any]:
    """What this REST invocation was given: its event's context and its Lambda context."""
    request = app.current_request
    assert request is not None
    lambda_context: Any = request.lambda_context
    return {
        "requestContext": request.context,
        "headers": dict(request.headers),
        "lambda": {
            "aws_request_id": lambda_context.aws_request_id,
            "function_name": lambda_context.function_name,
            "memory_limit_in_mb": lambda_context.memory_limit_in_mb,
            "remaining_ms": lambda_context.get_remaining_time_in_millis(),
        },
    }
