"""The `@connections` management API's replies, as boto3's `apigatewaymanagementapi` reads them.

rest-json errors: the status, `x-amzn-ErrorType` naming the exception botocore raises,
and a JSON body with `message`. No I/O here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.local.websocket_gateway.events import ConnectionInfo
from infra.local.websocket_gateway.limits import MAX_MESSAGE_BYTES

CONNECTIONS_SEGMENT = "@connections"


@dataclass(frozen=True)
class ManagementReply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, error_type: str, message: str, request_id: str) -> ManagementReply:
    return ManagementReply(
        status,
        json.dumps({"message": message}).encode(),
        {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": error_type,
            "x-amzn-RequestId": request_id,
        },
    )


def gone(connection_id: str, request_id: str) -> ManagementReply:
    """410: the id was never connected, is still in `$connect`, or has closed."""
    return _error(410, "GoneException", f"Connection {connection_id} is gone.", request_id)


def payload_too_large(size: int, request_id: str) -> ManagementReply:
    """413: a posted message over API Gateway's 128 KB."""
    return _error(
        413,
        "PayloadTooLargeException",
        f"Message of {size} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit.",
        request_id,
    )


def injected(status: int, error_type: str, connection_id: str, request_id: str) -> ManagementReply:
    """An error a fault plan (infra/local/faults.py) makes this call answer with."""
    if status == 410:
        return gone(connection_id, request_id)
    return _error(status, error_type, f"Injected fault for connection {connection_id}.", request_id)


def forbidden(request_id: str) -> ManagementReply:
    """403: a path that is not this API's stage (API Gateway's answer to unknown resources)."""
    return _error(403, "ForbiddenException", "Forbidden", request_id)


def refused(error_type: str, message: str, request_id: str) -> ManagementReply:
    """403: a request not signed with the runtime's credentials (request_signing.py)."""
    return _error(403, error_type, message, request_id)


def ok(request_id: str) -> ManagementReply:
    return ManagementReply(200, b"", {"x-amzn-RequestId": request_id})


def deleted(request_id: str) -> ManagementReply:
    return ManagementReply(204, b"", {"x-amzn-RequestId": request_id})


def iso8601(epoch_ms: int) -> str:
    """A timestamp as the management API writes it (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connection_description(connection: ConnectionInfo, last_active_ms: int) -> dict[str, Any]:
    """GetConnection's body: connectedAt, lastActiveAt and the client's identity."""
    identity: dict[str, str] = {"sourceIp": connection.source_ip}
    if connection.user_agent is not None:
        identity["userAgent"] = connection.user_agent
    return {
        "connectedAt": iso8601(connection.connected_at_ms),
        "identity": identity,
        "lastActiveAt": iso8601(last_active_ms),
    }


def described(connection: ConnectionInfo, last_active_ms: int, request_id: str) -> ManagementReply:
    body = json.dumps(connection_description(connection, last_active_ms)).encode()
    return ManagementReply(
        200, body, {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
    )


def stage_matches(path_stage: str | None, stage: str) -> bool:
    """`/@connections/...` (no stage) and `/{stage}/@connections/...` both address this API."""
    return path_stage is None or path_stage == stage
