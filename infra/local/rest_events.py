"""API Gateway REST proxy events: what Chalice's converter leaves out, filled in; no I/O here.

Chalice's LocalGateway builds the part of the event its own Request reads. API
Gateway sends more: a request id, the stage, the caller's address and user agent,
single- and multi-value maps. The app's code and Powertools read those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.local.lambda_runtime import LOCAL_ACCOUNT_ID
from infra.local.websocket_gateway.events import header_maps, request_time


@dataclass(frozen=True)
class RestApiInfo:
    """The REST API as its events name it."""

    api_id: str
    stage: str


def forwarded_headers(
    headers: Iterable[tuple[str, str]], client_ip: str, server_port: int, scheme: str
) -> dict[str, str]:
    """Request headers as API Gateway passes them on: lower-case names, repeats joined by
    `, `, the caller's address appended to X-Forwarded-For, port and scheme set."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    previous = joined.get("x-forwarded-for")
    joined["x-forwarded-for"] = f"{previous}, {client_ip}" if previous else client_ip
    joined["x-forwarded-port"] = str(server_port)
    joined["x-forwarded-proto"] = scheme
    return joined


def source_ip(headers: Mapping[str, str]) -> str:
    """The caller's address: the last X-Forwarded-For entry, the one the gateway appended."""
    forwarded = headers.get("x-forwarded-for") or "127.0.0.1"
    return forwarded.rsplit(",", 1)[-1].strip()


def proxy_event(
    chalice_event: dict[str, Any],
    api: RestApiInfo,
    request_id: str,
    now_ms: int,
) -> dict[str, Any]:
    """`chalice_event` completed to the shape API Gateway's REST proxy integration sends."""
    event = dict(chalice_event)
    headers: dict[str, str] = dict(event.get("headers") or {})
    context = dict(event.get("requestContext") or {})
    multi_query = event.get("multiValueQueryStringParameters")
    event["resource"] = context.get("resourcePath")
    event["path"] = context.get("path")
    event["httpMethod"] = context.get("httpMethod")
    event["headers"] = headers
    event["multiValueHeaders"] = header_maps(headers.items())[1]
    event["queryStringParameters"] = (
        {name: values[-1] for name, values in multi_query.items()} if multi_query else None
    )
    event.setdefault("isBase64Encoded", False)
    context.update(
        {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": api.api_id,
            "domainName": headers.get("host", ""),
            "extendedRequestId": request_id,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": request_time(now_ms),
            "requestTimeEpoch": now_ms,
            "resourceId": context.get("resourcePath"),
            "stage": api.stage,
            "identity": {
                "sourceIp": source_ip(headers),
                "userAgent": headers.get("user-agent"),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "user": None,
                "userArn": None,
            },
        }
    )
    event["requestContext"] = context
    return event
