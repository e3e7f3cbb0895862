"""One shard of one mapping: read when woken (or by a slow safety poll), batch, invoke, checkpoint.

Timing: a shard is read at most every `interval_s`. A wake (a write noticed by the
DynamoDB front) on a shard read longer ago than that reads at once; wakes within the
interval wait for the next read. An idle shard sleeps until woken, or until the
safety poll that catches writes which bypassed the front.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

from infra.local.streams.batching import FunctionResult, Record, Settlement, ShardBatcher
from infra.local.streams.events import sequence_number, to_lambda_event, to_lambda_record
from infra.local.streams.mappings import EventSourceMapping, ShardProgress
from infra.local.streams.source import (
    READ_LIMIT,
    IteratorExpiredError,
    Position,
    StreamGoneError,
    StreamSource,
    TrimmedError,
)

log = logging.getLogger("userdb.local.streams")

ERROR_BACKOFF_S = 1.0


class ReaderEnd(StrEnum):
    DONE = "done"  # the shard is closed and every record settled
    GONE = "gone"  # the stream was deleted
    STOPPED = "stopped"


class Invoker(Protocol):
    async def invoke(self, function_arn: str, event: dict[str, Any]) -> FunctionResult: ...


# Extra fields for a record (userIdentity of TTL deletions), by table and record.
Identify = Callable[[str, Record], dict[str, str] | None]


class ShardReader:
    def __init__(
        self,
        mapping: EventSourceMapping,
        shard_id: str,
        source: StreamSource,
        invoker: Invoker,
        *,
        interval_s: float,
        safety_poll_s: Callable[[], float],
        on_progress: Callable[[EventSourceMapping], None],
        identify: Identify | None = None,
        retry_backoff_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.mapping = mapping
        self.shard_id = shard_id
        self._source = source
        self._invoker = invoker
        self._interval = interval_s
        self._safety_poll = safety_poll_s
        self._on_progress = on_progress
        self._identify = identify
        self._clock = clock
        self._wall_clock = wall_clock
        self._progress = mapping.shards.setdefault(shard_id, ShardProgress())
        self._batcher = ShardBatcher(
            lambda: mapping.policy(retry_backoff_s), self._progress.checkpoint
        )
        self._dirty = False
        self._stopping = False
        self._event = asyncio.Event()
        self._last_fetched: str | None = self._progress.checkpoint
        self._iterator: str | None = None
        self._more = True
        self._trimmed_in_a_row = 0
        self.reads = 0

    def wake(self) -> None:
        """A write reached this shard's table: read soon."""
        self._dirty = True
        self._event.set()

    def stop(self) -> None:
        self._stopping = True
        self._event.set()

    async def _new_iterator(self) -> str:
        position = Position(self._last_fetched)
        try:
            return await self._source.iterator(
                self.mapping.event_source_arn, self.shard_id, position
            )
        except TrimmedError:
            log.warning(
                "shard %s trimmed past %s: reading from its oldest record",
                self.shard_id,
                position.after,
            )
            return await self._source.iterator(
                self.mapping.event_source_arn, self.shard_id, Position()
            )

    async def _sleep_until(self, deadline: float) -> None:
        self._event.clear()
        timeout = deadline - self._clock()
        if timeout > 0 and not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout)

    async def run(self) -> ReaderEnd:
        try:
            return await self._run()
        except StreamGoneError:
            return ReaderEnd.GONE

    async def _run(self) -> ReaderEnd:
        self._iterator = await self._new_iterator()
        last_read = -math.inf
        self._more = True  # read once at start: records may have arrived while nobody listened
        while not self._stopping:
            now = self._clock()
            expired = self._batcher.take_expired(self._wall_clock())
            if expired:
                self._settled(Settlement(discarded=expired, discard_reason="RecordAgeExceeded"))
            if self._batcher.ready(now):
                await self._deliver_one()
                continue
            if self._iterator is None and not len(self._batcher):
                self._progress.done = True
                self._on_progress(self.mapping)
                return ReaderEnd.DONE
            read_at = math.inf
            if self._iterator is not None and not self._batcher.blocked:
                pause = self._interval if (self._dirty or self._more) else self._safety_poll()
                read_at = last_read + pause
            due = self._batcher.due_at()
            wake_at = min(read_at, math.inf if due is None else due)
            if wake_at > now:
                await self._sleep_until(wake_at)
            elif read_at <= now:
                self._dirty = False
                last_read = now
                await self._read()
        return ReaderEnd.STOPPED

    async def _read(self) -> None:
        """One GetRecords into the batcher; iterator trouble is repaired, not raised."""
        assert self._iterator is not None
        self._more = True
        try:
            records, self._iterator = await self._source.records(self._iterator)
        except IteratorExpiredError:
            self._iterator = await self._new_iterator()
            return
        except TrimmedError:
            # DynamoDB Local says so when an iterator made on an empty shard points
            # before the shard's first record; a new iterator reads from that record.
            self._trimmed_in_a_row += 1
            if self._trimmed_in_a_row > 1:
                await self._sleep_until(self._clock() + ERROR_BACKOFF_S)
            self._iterator = await self._new_iterator()
            return
        except (StreamGoneError, asyncio.CancelledError):
            raise
        except Exception as error:
            log.warning("reading shard %s failed (%s); retrying", self.shard_id, error)
            await self._sleep_until(self._clock() + ERROR_BACKOFF_S)
            return
        self.reads += 1
        self._trimmed_in_a_row = 0
        self._more = len(records) >= READ_LIMIT
        if records:
            self._last_fetched = sequence_number(records[-1])
            self._batcher.add(records, self._clock())

    async def _deliver_one(self) -> None:
        batch = self._batcher.next_batch()
        mapping = self.mapping
        table = mapping.table
        event = to_lambda_event(
            [
                to_lambda_record(
                    record,
                    mapping.event_source_arn,
                    mapping.region,
                    self._identify(table, record) if self._identify else None,
                )
                for record in batch
            ]
        )
        result = await self._invoker.invoke(mapping.function_arn, event)
        settlement = self._batcher.settle(batch, result, self._clock())
        self._settled(settlement)

    def _settled(self, settlement: Settlement) -> None:
        mapping = self.mapping
        if settlement.failed:
            mapping.last_processing_result = "PROBLEM: Function call failed"
        elif settlement.delivered:
            mapping.last_processing_result = "OK"
        if settlement.discarded:
            first, last = settlement.discarded[0], settlement.discarded[-1]
            log.warning(
                "event source mapping %s discarded %d record(s) of %s (%s..%s): %s",
                mapping.uuid,
                len(settlement.discarded),
                self.shard_id,
                sequence_number(first),
                sequence_number(last),
                settlement.discard_reason,
            )
        if self._batcher.checkpoint != self._progress.checkpoint:
            self._progress.checkpoint = self._batcher.checkpoint
            self._on_progress(mapping)
