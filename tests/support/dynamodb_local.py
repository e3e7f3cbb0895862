"""A session-wide DynamoDB Local (in memory, on a free port) for every suite.

Use the `dynamodb_local` fixture; it skips when Java 17+ or the jar (`make
dynamodb-local`) is missing, and fails instead when CI=true, where both must be there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from infra.local.dynamodb_local import DynamoDBLocalProcess, DynamoDBLocalUnavailableError
from infra.local.ports import free_port


@dataclass(frozen=True)
class DynamoDBLocal:
    endpoint: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 DynamoDB client on this instance."""
        return boto3.client("dynamodb", endpoint_url=self.endpoint, region_name=self.region)

    def streams_client(self) -> Any:
        return boto3.client("dynamodbstreams", endpoint_url=self.endpoint, region_name=self.region)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    process = DynamoDBLocalProcess("127.0.0.1", free_port(), data_dir=None)
    try:
        endpoint = process.start()
    except DynamoDBLocalUnavailableError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"DynamoDB Local must run in CI: {error}")
        pytest.skip(f"DynamoDB Local unavailable: {error}")
    try:
        yield DynamoDBLocal(endpoint)
    finally:
        process.stop()
