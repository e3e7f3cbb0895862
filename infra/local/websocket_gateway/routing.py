"""Which route a frame goes to, and what a `$connect` result means; no I/O here.

API Gateway evaluates the route selection expression `$request.body.action`: a JSON
object body whose `action` names a route key goes to that route, anything else to
`$default`; with no `$default` the client is told "Forbidden".
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from infra.local.websocket_gateway.events import CONNECT_ROUTE, DEFAULT_ROUTE, DISCONNECT_ROUTE

ROUTE_SELECTION_EXPRESSION = "$request.body.action"
NOT_SELECTABLE = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE})

FORBIDDEN_MESSAGE = "Forbidden"
INTERNAL_ERROR_MESSAGE = "Internal server error"
# What a client is told of a message refused by throttling (the REST API's 429 body).
THROTTLED_MESSAGE = "Too Many Requests"


def action_of(body: str) -> str | None:
    """`$request.body.action`, or None when the body is not a JSON object with a string action."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # deeply nested arrays or objects: not routable
        return None
    if not isinstance(parsed, dict):
        return None
    action = parsed.get("action")
    return action if isinstance(action, str) else None


def select_route(body: str, route_keys: Collection[str]) -> str | None:
    """The route key a text frame goes to; None when no route, not even `$default`, takes it."""
    selectable = {key for key in route_keys if key not in NOT_SELECTABLE}
    action = action_of(body)
    if action is not None and action in selectable:
        return action
    return DEFAULT_ROUTE if DEFAULT_ROUTE in selectable else None


def client_error(message: str, connection_id: str, request_id: str) -> str:
    """The frame API Gateway sends a client whose message found no route or whose route failed."""
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})


@dataclass(frozen=True)
class ConnectDecision:
    """What the upgrade request gets, from the `$connect` integration's result."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the handler chose (API Gateway passes `Sec-WebSocket-Protocol` on)."""
        for name, value in self.headers.items():
            if name.lower() == "sec-websocket-protocol":
                return value
        return None


def throttled_connect() -> ConnectDecision:
    """A `$connect` refused by the stage's throttling: 429, before any function runs."""
    body = json.dumps({"message": THROTTLED_MESSAGE}).encode()
    return ConnectDecision(429, body, {"Content-Type": "application/json"})


def _internal_error() -> ConnectDecision:
    body = json.dumps({"message": INTERNAL_ERROR_MESSAGE}).encode()
    return ConnectDecision(500, body, {"Content-Type": "application/json"})


def connect_decision(result: Any, failed: bool) -> ConnectDecision:
    """Accept on a 2xx proxy result; reject with its status, body and headers otherwise.

    A failed invocation (error or timeout) or a malformed status is a 500, as API
    Gateway answers when the integration breaks; a result with no status accepts.
    """
    if failed:
        return _internal_error()
    if not isinstance(result, dict) or result.get("statusCode") is None:
        return ConnectDecision(200)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return _internal_error()
    if not 100 <= status <= 599:
        return _internal_error()
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    raw_body = result.get("body")
    if raw_body is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw_body)
    else:
        body = str(raw_body).encode()
    return ConnectDecision(status, body, headers)
