"""In-memory stand-ins for a DynamoDB stream and for Lambda, to test mappings without I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.local.streams.batching import FunctionResult
from infra.local.streams.source import Position, Shard, StreamGoneError, TrimmedError

STREAM_ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/things/stream/2026-01-01T00:00:00.000"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:app-local-handler"


def stream_record(
    sequence: int, key: str = "k", event_name: str = "INSERT", created: float = 1_800_000_000.0
) -> dict[str, Any]:
    """A record as GetRecords returns it (DynamoDB Local's shape: no eventSourceARN)."""
    image = {"pk": {"S": key}}
    return {
        "eventID": f"event-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": image,
            "NewImage": image,
            "SequenceNumber": f"{sequence:021d}",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


@dataclass
class FakeShard:
    parent: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False


class FakeStream:
    """One stream's shards; iterators are "shard|index"."""

    def __init__(self, stream_arn: str = STREAM_ARN, table: str = "things") -> None:
        self.stream_arn, self.table = stream_arn, table
        self.shard_map: dict[str, FakeShard] = {}
        self.gone = False
        self.reads = 0
        # Like DynamoDB Local: reads that fail as "trimmed" though nothing was (see reader.py).
        self.spurious_trims = 0

    def add(self, shard_id: str, *sequences: int) -> None:
        shard = self.shard_map.setdefault(shard_id, FakeShard())
        shard.records.extend(stream_record(s, key=f"k{s}") for s in sequences)

    async def table_stream(self, table: str) -> str | None:
        return None if self.gone or table != self.table else self.stream_arn

    async def shards(self, stream_arn: str) -> list[Shard]:
        if self.gone:
            raise StreamGoneError(stream_arn)
        return [Shard(sid, s.parent, s.closed) for sid, s in self.shard_map.items()]

    async def iterator(self, stream_arn: str, shard_id: str, position: Position) -> str:
        if self.gone:
            raise StreamGoneError(stream_arn)
        records = self.shard_map[shard_id].records
        index = 0
        if position.after:
            index = next(
                (
                    i + 1
                    for i, r in enumerate(records)
                    if r["dynamodb"]["SequenceNumber"] == position.after
                ),
                0,
            )
        return f"{shard_id}|{index}"

    async def records(self, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        if self.gone:
            raise StreamGoneError(iterator)
        self.reads += 1
        shard_id, index_text = iterator.split("|")
        index = int(index_text)
        shard = self.shard_map[shard_id]
        if self.spurious_trims and shard.records:
            self.spurious_trims -= 1
            raise TrimmedError(iterator)
        found = shard.records[index : index + 1000]
        end = index + len(found)
        if shard.closed and end >= len(shard.records):
            return found, None
        return found, f"{shard_id}|{end}"


class RecordingInvoker:
    """Lambda for tests: records each batch's sequence numbers and answers by a script."""

    def __init__(self, answer: Any = None) -> None:
        self.batches: list[list[int]] = []
        self.events: list[dict[str, Any]] = []
        self._answer = answer  # callable(batch sequences) -> FunctionResult, or None: success

    async def invoke(self, function_arn: str, event: dict[str, Any]) -> FunctionResult:
        sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"]]
        self.batches.append(sequences)
        self.events.append(event)
        if self._answer is None:
            return FunctionResult(ok=True)
        result: FunctionResult = self._answer(sequences)
        return result
