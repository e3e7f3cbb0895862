"""The DynamoDB Streams calls a mapping needs, behind a small interface (faked in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from infra.local.dynamodb_wire import DynamoDBApi, DynamoDBError

READ_LIMIT = 1000  # GetRecords' maximum


class StreamGoneError(LookupError):
    """The stream (or its table) no longer exists."""


class IteratorExpiredError(RuntimeError):
    """A shard iterator outlived its 15 minutes."""


class TrimmedError(RuntimeError):
    """The position asked for is older than the stream keeps (24 h)."""


@dataclass(frozen=True)
class Shard:
    shard_id: str
    parent_id: str | None
    closed: bool


@dataclass(frozen=True)
class Position:
    """Where to start reading a shard: TRIM_HORIZON, or after a sequence number."""

    after: str | None = None

    @property
    def kind(self) -> str:
        return "AFTER_SEQUENCE_NUMBER" if self.after else "TRIM_HORIZON"


class StreamSource(Protocol):
    async def table_stream(self, table: str) -> str | None: ...

    async def shards(self, stream_arn: str) -> list[Shard]: ...

    async def iterator(self, stream_arn: str, shard_id: str, position: Position) -> str: ...

    async def records(self, iterator: str) -> tuple[list[dict[str, Any]], str | None]: ...


def _translate(error: DynamoDBError) -> Exception:
    if error.code == "ResourceNotFoundException":
        return StreamGoneError(error.message)
    if error.code == "ExpiredIteratorException":
        return IteratorExpiredError(error.message)
    if error.code == "TrimmedDataAccessException":
        return TrimmedError(error.message)
    return error


class BackendStreamSource:
    """StreamSource over the backend's DynamoDB and DynamoDB Streams API."""

    def __init__(self, api: DynamoDBApi) -> None:
        self._api = api

    async def table_stream(self, table: str) -> str | None:
        try:
            described = await self._api.dynamodb("DescribeTable", TableName=table)
        except DynamoDBError as error:
            if error.code == "ResourceNotFoundException":
                return None
            raise
        description = described["Table"]
        enabled = description.get("StreamSpecification", {}).get("StreamEnabled")
        arn = description.get("LatestStreamArn")
        return str(arn) if enabled and arn else None

    async def shards(self, stream_arn: str) -> list[Shard]:
        found: list[Shard] = []
        start: str | None = None
        while True:
            payload: dict[str, Any] = {"StreamArn": stream_arn}
            if start:
                payload["ExclusiveStartShardId"] = start
            try:
                described = (await self._api.streams("DescribeStream", **payload))[
                    "StreamDescription"
                ]
            except DynamoDBError as error:
                raise _translate(error) from None
            for shard in described.get("Shards", []):
                found.append(
                    Shard(
                        shard_id=shard["ShardId"],
                        parent_id=shard.get("ParentShardId"),
                        closed="EndingSequenceNumber" in shard.get("SequenceNumberRange", {}),
                    )
                )
            start = described.get("LastEvaluatedShardId")
            if not start:
                return found

    async def iterator(self, stream_arn: str, shard_id: str, position: Position) -> str:
        payload: dict[str, Any] = {
            "StreamArn": stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": position.kind,
        }
        if position.after:
            payload["SequenceNumber"] = position.after
        try:
            return str((await self._api.streams("GetShardIterator", **payload))["ShardIterator"])
        except DynamoDBError as error:
            raise _translate(error) from None

    async def records(self, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        try:
            answer = await self._api.streams("GetRecords", ShardIterator=iterator, Limit=READ_LIMIT)
        except DynamoDBError as error:
            raise _translate(error) from None
        return list(answer.get("Records", [])), answer.get("NextShardIterator")
