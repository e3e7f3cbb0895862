"""Lambda events for a WebSocket API, shaped as API Gateway sends them; no I/O here.

CONNECT carries the upgrade request's headers and query string, MESSAGE the frame's
body, DISCONNECT the close code and reason. All three share one `requestContext`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

CONNECT_ROUTE = "$connect"
DEFAULT_ROUTE = "$default"
DISCONNECT_ROUTE = "$disconnect"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_id() -> str:
    """An id in API Gateway's style (16 characters, `=`-padded), safe in a URL path.

    Used for connection, request and message ids alike.
    """
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def local_api_id(app_name: str, kind: str) -> str:
    """A 10-character API id like API Gateway's, the same for an app on every run."""
    return hashlib.sha256(f"{app_name}/{kind}".encode()).hexdigest()[:10]


def request_time(epoch_ms: int) -> str:
    """API Gateway's `requestTime`, e.g. `11/Nov/2024:11:35:24 +0000` (never locale-dependent)."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def trace_id(epoch_ms: int) -> str:
    """An X-Ray trace header value as API Gateway adds it to the upgrade request."""
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class ApiInfo:
    """The WebSocket API as the events name it."""

    api_id: str
    stage: str
    domain_name: str


@dataclass(frozen=True)
class ConnectionInfo:
    """What API Gateway knows of a connection from its upgrade request."""

    connection_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str | None
    api: ApiInfo


@dataclass(frozen=True)
class UpgradeRequest:
    """The HTTP upgrade request as the socket saw it (headers in order, names as sent)."""

    headers: tuple[tuple[str, str], ...]
    query_string: str
    server_port: int
    scheme: str = "http"


def canonical_header_name(name: str) -> str:
    """`sec-websocket-key` -> `Sec-WebSocket-Key`: the HTTP/1.1 spelling clients send.

    The HTTP parser in front of the socket lower-cases names; API Gateway passes them
    on as the client spelled them, so apps that look up `Host` find it here too.
    """
    if name != name.lower():
        return name
    spelled = "-".join(part.capitalize() for part in name.split("-"))
    return spelled.replace("Websocket", "WebSocket")


def header_maps(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`headers` (the last value of a repeated name) and `multiValueHeaders` (all of them)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def query_maps(query_string: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """`queryStringParameters` and `multiValueQueryStringParameters`, as API Gateway splits them."""
    return header_maps(parse_qsl(query_string, keep_blank_values=True))


def _request_context(
    connection: ConnectionInfo,
    route_key: str,
    event_type: str,
    now_ms: int,
    request_id: str,
) -> dict[str, Any]:
    identity: dict[str, str] = {"sourceIp": connection.source_ip}
    if connection.user_agent is not None:
        identity["userAgent"] = connection.user_agent
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(now_ms),
        "messageDirection": "IN",
        "stage": connection.api.stage,
        "connectedAt": connection.connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": identity,
        "requestId": request_id,
        "domainName": connection.api.domain_name,
        "connectionId": connection.connection_id,
        "apiId": connection.api.api_id,
    }


# API Gateway replaces these on the way in rather than passing the client's values on.
_HEADERS_API_GATEWAY_SETS = frozenset(
    {"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
)


def connect_event(
    connection: ConnectionInfo, upgrade: UpgradeRequest, now_ms: int, request_id: str
) -> dict[str, Any]:
    """The `$connect` event: the client's headers plus the ones API Gateway adds, and the query."""
    sent = [
        (canonical_header_name(n), v)
        for n, v in upgrade.headers
        if n.lower() not in _HEADERS_API_GATEWAY_SETS
    ]
    forwarded_for = [v for n, v in upgrade.headers if n.lower() == "x-forwarded-for"]
    added = [
        ("X-Amzn-Trace-Id", trace_id(now_ms)),
        ("X-Forwarded-For", ", ".join([*forwarded_for, connection.source_ip])),
        ("X-Forwarded-Port", str(upgrade.server_port)),
        ("X-Forwarded-Proto", upgrade.scheme),
    ]
    headers, multi_headers = header_maps([*sent, *added])
    event: dict[str, Any] = {
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "requestContext": _request_context(
            connection, CONNECT_ROUTE, "CONNECT", now_ms, request_id
        ),
        "isBase64Encoded": False,
    }
    if upgrade.query_string:
        query, multi_query = query_maps(upgrade.query_string)
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    return event


def message_event(
    connection: ConnectionInfo,
    route_key: str,
    body: str,
    now_ms: int,
    *,
    request_id: str,
    message_id: str,
) -> dict[str, Any]:
    """A MESSAGE event for one text frame (API Gateway takes no binary frames)."""
    context = _request_context(connection, route_key, "MESSAGE", now_ms, request_id)
    context["messageId"] = message_id
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(
    connection: ConnectionInfo, status_code: int, reason: str, now_ms: int, request_id: str
) -> dict[str, Any]:
    """The `$disconnect` event; its headers are the fixed set API Gateway sends."""
    headers, multi_headers = header_maps(
        [
            ("Host", connection.api.domain_name),
            ("x-api-key", ""),
            ("X-Forwarded-For", ""),
            ("x-restapi", ""),
        ]
    )
    context = _request_context(connection, DISCONNECT_ROUTE, "DISCONNECT", now_ms, request_id)
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    return {
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
