"""@connections replies, read by botocore's own parser (what boto3 raises and returns)."""

import datetime as dt
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from infra.local.websocket_gateway import management
from infra.local.websocket_gateway.events import ApiInfo, ConnectionInfo

SERVICE = botocore.session.get_session().get_service_model("apigatewaymanagementapi")
CONNECTION = ConnectionInfo(
    connection_id="c1",
    connected_at_ms=1_731_324_924_553,
    source_ip="127.0.0.1",
    user_agent="ua/1",
    api=ApiInfo("abcde12345", "local", "127.0.0.1:8001"),
)


def parsed(reply: management.ManagementReply, operation: str) -> Any:
    """The reply as boto3 would hand it back for `operation`."""
    # On the wire header names are case-insensitive; botocore reads them lower-cased.
    headers = {name.lower(): value for name, value in reply.headers.items()}
    response = {"status_code": reply.status, "headers": headers, "body": reply.body}
    shape: Any = SERVICE.operation_model(operation).output_shape  # None when it has no output
    return create_parser("rest-json").parse(response, shape)


@pytest.mark.parametrize("operation", ["PostToConnection", "GetConnection", "DeleteConnection"])
def test_gone_is_read_as_gone_exception(operation):
    result = parsed(management.gone("c1", "req"), operation)
    assert result["Error"]["Code"] == "GoneException"
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 410
    assert result["ResponseMetadata"]["RequestId"] == "req"


def test_payload_too_large_is_read_as_payload_too_large_exception():
    result = parsed(management.payload_too_large(200_000, "req"), "PostToConnection")
    assert result["Error"]["Code"] == "PayloadTooLargeException"
    assert "200000" in result["Error"]["Message"]
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_forbidden_is_read_as_forbidden_exception():
    result = parsed(management.forbidden("req"), "GetConnection")
    assert result["Error"]["Code"] == "ForbiddenException"


def test_get_connection_reads_back_times_and_identity():
    # Given a connection last active 1.5 s after it connected
    reply = management.described(CONNECTION, CONNECTION.connected_at_ms + 1500, "req")
    # When boto3 parses GetConnection's reply
    result = parsed(reply, "GetConnection")
    # Then it has both times (to the millisecond) and the identity
    connected = result["ConnectedAt"].astimezone(dt.UTC)
    assert connected == dt.datetime(2024, 11, 11, 11, 35, 24, 553_000, tzinfo=dt.UTC)
    assert (result["LastActiveAt"] - result["ConnectedAt"]).total_seconds() == 1.5
    assert result["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "ua/1"}


def test_post_and_delete_succeed_with_request_ids():
    assert parsed(management.ok("r1"), "PostToConnection")["ResponseMetadata"]["RequestId"] == "r1"
    assert management.deleted("r2").status == 204


def test_iso8601_is_utc_with_milliseconds():
    assert management.iso8601(1_731_324_924_553) == "2024-11-11T11:35:24.553Z"


@pytest.mark.parametrize(
    ("path_stage", "expected"), [(None, True), ("local", True), ("prod", False)]
)
def test_stage_prefix_is_optional_but_must_be_ours(path_stage, expected):
    assert management.stage_matches(path_stage, "local") is expected
