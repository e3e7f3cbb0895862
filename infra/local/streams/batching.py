"""What Lambda's stream poller decides for one shard, without any I/O.

`ShardBatcher` holds the records read but not yet settled, in shard order, and
answers: is a batch due (BatchSize, MaximumBatchingWindowInSeconds, a retry's
backoff), which records form it, and what follows from the function's answer:
- success: the batch is checkpointed;
- a function error: the same batch is retried (split in two first when
  BisectBatchOnFunctionError is on; a split does not count as a retry);
- `batchItemFailures` (with ReportBatchItemFailures): the records before the lowest
  failed sequence number are checkpointed and the rest retried;
- once a batch's head record has failed more than MaximumRetryAttempts times, the
  failing records are discarded and the shard moves on; records older than
  MaximumRecordAgeInSeconds are discarded before any attempt.
A failing batch blocks its shard: nothing after it is delivered first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from infra.local.streams.events import creation_time, sequence_number

Record = dict[str, Any]


@dataclass(frozen=True)
class BatchPolicy:
    """The event source mapping settings that shape batches and retries."""

    batch_size: int = 100
    batching_window_s: float = 0.0
    maximum_retry_attempts: int = -1  # -1: until the record expires
    maximum_record_age_s: int = -1  # -1: no limit
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    retry_backoff_s: float = 0.1
    max_retry_backoff_s: float = 5.0


@dataclass(frozen=True)
class FunctionResult:
    """An invocation's outcome: did the function raise (or time out), and what it returned."""

    ok: bool
    payload: Any = None


@dataclass
class Settlement:
    """What one attempt settled: records acknowledged, records given up, and why."""

    delivered: list[Record] = field(default_factory=list)
    discarded: list[Record] = field(default_factory=list)
    discard_reason: str | None = None
    failed: bool = False


WHOLE_BATCH = -1


def first_failed_index(payload: Any, sequences: list[str]) -> int | None:
    """The index to resume from given a `batchItemFailures` answer, None when all succeeded,
    WHOLE_BATCH when the answer is malformed (Lambda then fails the whole batch)."""
    if not isinstance(payload, dict):
        return None
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        return WHOLE_BATCH
    positions = {sequence: index for index, sequence in enumerate(sequences)}
    found = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in positions:
            return WHOLE_BATCH
        found.append(positions[identifier])
    return min(found)


class ShardBatcher:
    """Buffered records of one shard and the retry state of its head batch."""

    def __init__(self, policy: Callable[[], BatchPolicy], checkpoint: str | None = None) -> None:
        self._policy = policy
        self.checkpoint = checkpoint
        self._buffer: deque[Record] = deque()
        self._planned: list[int] = []  # forced sizes of the next batches (after a split)
        self._attempts = 0  # failed attempts since the head record last moved
        self._retry_at: float | None = None
        self._window_start: float | None = None

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def blocked(self) -> bool:
        """A failed batch waits for its retry."""
        return self._retry_at is not None

    def add(self, records: list[Record], now: float) -> None:
        if records and not self._buffer:
            self._window_start = now
        self._buffer.extend(records)

    def due_at(self) -> float | None:
        """When the next batch should be invoked (0: now), or None with nothing buffered."""
        if not self._buffer:
            return None
        if self._retry_at is not None:
            return self._retry_at
        policy = self._policy()
        if self._planned or len(self._buffer) >= policy.batch_size:
            return 0.0
        if policy.batching_window_s <= 0 or self._window_start is None:
            return 0.0
        return self._window_start + policy.batching_window_s

    def ready(self, now: float) -> bool:
        due = self.due_at()
        return due is not None and due <= now

    def take_expired(self, now: float) -> list[Record]:
        """Drop (and return) head records older than MaximumRecordAgeInSeconds."""
        max_age = self._policy().maximum_record_age_s
        expired: list[Record] = []
        if max_age < 0:
            return expired
        while self._buffer and now - creation_time(self._buffer[0]) > max_age:
            expired.append(self._pop_head())
        if expired:
            self._drop_planned(len(expired))
            self._attempts = 0
            if not self._buffer:
                self._retry_at = None
        return expired

    def next_batch(self) -> list[Record]:
        size = self._planned[0] if self._planned else self._policy().batch_size
        return list(islice(self._buffer, 0, min(size, len(self._buffer))))

    def settle(self, batch: list[Record], result: FunctionResult, now: float) -> Settlement:
        """Apply the function's answer to `batch` (the head of the buffer)."""
        policy = self._policy()
        size = len(batch)
        if self._planned:
            self._planned.pop(0)
        failed_at: int | None = 0
        function_error = not result.ok
        if result.ok:
            failed_at = None
            if policy.report_batch_item_failures:
                failed_at = first_failed_index(result.payload, [sequence_number(r) for r in batch])
                failed_at = 0 if failed_at == WHOLE_BATCH else failed_at
        settlement = Settlement()
        if failed_at is None:
            settlement.delivered = [self._pop_head() for _ in range(size)]
            self._attempts = 0
            self._retry_at = None
            self._window_start = now if self._buffer else None
            return settlement
        settlement.failed = True
        settlement.delivered = [self._pop_head() for _ in range(failed_at)]
        remaining = size - failed_at
        if function_error and policy.bisect_on_error and size > 1:
            self._planned[:0] = [size // 2, size - size // 2]
            self._retry_at = now + self._backoff(policy)
            return settlement
        self._attempts = 1 if failed_at > 0 else self._attempts + 1
        limit = policy.maximum_retry_attempts
        if limit >= 0 and self._attempts > limit:
            settlement.discarded = [self._pop_head() for _ in range(remaining)]
            settlement.discard_reason = "RetryAttemptsExhausted"
            self._attempts = 0
            self._retry_at = None
            return settlement
        if function_error or policy.bisect_on_error:
            self._planned.insert(0, remaining)
        self._retry_at = now + self._backoff(policy)
        return settlement

    def _backoff(self, policy: BatchPolicy) -> float:
        exponent = max(self._attempts - 1, 0)
        return float(min(policy.retry_backoff_s * 2**exponent, policy.max_retry_backoff_s))

    def _pop_head(self) -> Record:
        record = self._buffer.popleft()
        self.checkpoint = sequence_number(record)
        return record

    def _drop_planned(self, count: int) -> None:
        while count and self._planned:
            if self._planned[0] <= count:
                count -= self._planned.pop(0)
            else:
                self._planned[0] -= count
                count = 0
