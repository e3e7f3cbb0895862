"""Pure conversion of DynamoDB Streams GetRecords records into Lambda's DynamoDB event."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

# What Lambda adds to a record that DynamoDB's TTL process caused.
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
EVENT_NAMES = {"INSERT", "MODIFY", "REMOVE"}


def sequence_number(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def creation_time(record: dict[str, Any]) -> float:
    """ApproximateCreationDateTime as epoch seconds (the wire sends a number, SDKs a datetime)."""
    value = record["dynamodb"].get("ApproximateCreationDateTime", 0)
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def keys_fingerprint(keys: dict[str, Any]) -> str:
    """A stable text for an item's key, to recognise the same item in a stream record."""
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


def to_lambda_record(
    record: dict[str, Any],
    stream_arn: str,
    region: str,
    user_identity: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One record as Lambda delivers it: eventSourceARN and awsRegion filled in (the
    backends leave them out or say "ddblocal"), ApproximateCreationDateTime numeric."""
    change = dict(record["dynamodb"])
    change["ApproximateCreationDateTime"] = creation_time(record)
    event_name = record["eventName"]
    if event_name not in EVENT_NAMES:
        # DynamoDB Local 3.x expires TTL items itself, and names those REMOVE records
        # "UNKNOWN_TO_SDK_VERSION": they are TTL's deletions.
        event_name = "REMOVE"
        user_identity = user_identity or TTL_USER_IDENTITY
    converted: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": event_name,
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }
    identity = user_identity or record.get("userIdentity")
    if identity:
        converted["userIdentity"] = {
            "type": identity.get("type") or identity.get("Type"),
            "principalId": identity.get("principalId") or identity.get("PrincipalId"),
        }
    return converted


def to_lambda_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}
