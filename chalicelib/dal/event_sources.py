"""Event source mappings from tenant streams to the fan-out function (the Lambda API).

The same calls run on AWS and locally, where the runtime serves this part of
the Lambda API (settings.lambda_endpoint).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.exceptions import ClientError

# How a tenant stream reaches the fan-out (DESIGN §5): partial batch failures,
# bisect on error, bounded retries, and records older than an hour dropped
# (a client that far behind catches up with `hello since=cursor` anyway).
# Few retries: a failing batch holds up every later record of its shard (in pool
# mode, every tenant's), and clients left out catch up by ping, hello or the next
# write's gap anyway (docs/protocol.md, "When delivery fails").
MAPPING_OPTIONS: dict[str, Any] = {
    "StartingPosition": "TRIM_HORIZON",
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "MaximumRetryAttempts": 3,
    "BisectBatchOnFunctionError": True,
    "MaximumRecordAgeInSeconds": 3600,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}


class StreamMappings:
    """Creates and deletes the mapping of a table's stream to one function, idempotently."""

    def __init__(self, function_name: str, endpoint: str | None, region: str) -> None:
        self.function_name = function_name
        self._endpoint = endpoint
        self._region = region
        self._client: Any = None
        self._ensured: set[str] = set()
        self._lock = threading.Lock()

    def _lambda(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = boto3.client(
                    "lambda", endpoint_url=self._endpoint, region_name=self._region
                )
            return self._client

    def _existing(self, stream_arn: str) -> list[dict[str, Any]]:
        pages = self._lambda().get_paginator("list_event_source_mappings")
        found: list[dict[str, Any]] = []
        for page in pages.paginate(EventSourceArn=stream_arn, FunctionName=self.function_name):
            found.extend(page["EventSourceMappings"])
        return found

    def ensure(self, stream_arn: str) -> None:
        """Map `stream_arn` to the function unless it already is (remembered per process)."""
        if stream_arn in self._ensured:
            return
        if not self._existing(stream_arn):
            try:
                self._lambda().create_event_source_mapping(
                    EventSourceArn=stream_arn, FunctionName=self.function_name, **MAPPING_OPTIONS
                )
            except ClientError as error:
                # Another process made it between our list and create.
                if error.response.get("Error", {}).get("Code") != "ResourceConflictException":
                    raise
        self._ensured.add(stream_arn)

    def remove(self, stream_arn: str) -> None:
        """Delete the function's mappings of `stream_arn` (before its table is deleted)."""
        self._ensured.discard(stream_arn)
        for mapping in self._existing(stream_arn):
            try:
                self._lambda().delete_event_source_mapping(UUID=mapping["UUID"])
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
