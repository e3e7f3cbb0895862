"""Runs the registry's mappings: a worker per enabled mapping, wake-ups by table, the
Lambda API's operations with their stream look-ups, and the app's declared mappings
kept on their tables' current streams (waiting for a table that does not exist yet)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from infra.local.dynamodb_front import Notice, NoticeKind
from infra.local.streams.declared import DeclaredSource
from infra.local.streams.mappings import (
    EventSourceMapping,
    LambdaApiError,
    MappingState,
    ShardProgress,
    stream_table,
)
from infra.local.streams.reader import Identify, Invoker, ShardReader
from infra.local.streams.registry import MappingRegistry, Transition
from infra.local.streams.source import Position, StreamSource
from infra.local.streams.worker import MappingWorker

log = logging.getLogger("userdb.local.streams")

# Idle shards together make at most this many safety reads a second.
SAFETY_READS_PER_SECOND = 0.5


class MappingRunner:
    """A worker per running mapping of `registry`, on one event loop."""

    def __init__(
        self,
        registry: MappingRegistry,
        source: StreamSource,
        invoker: Invoker,
        *,
        interval_s: float = 0.1,
        safety_poll_s: float = 30.0,
        retry_backoff_s: float = 0.1,
        identify: Identify | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.source = source
        self._invoker = invoker
        self._interval = interval_s
        self._safety_poll = safety_poll_s
        self._retry_backoff = retry_backoff_s
        self._identify = identify
        self._clock = clock
        self._workers: dict[str, MappingWorker] = {}
        self._pending: dict[str, list[DeclaredSource]] = {}  # declared, waiting for their table
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()  # held, or the loop may drop them

    # -- workers --------------------------------------------------------------------------

    def new_reader(self, mapping: EventSourceMapping, shard_id: str) -> ShardReader:
        return ShardReader(
            mapping,
            shard_id,
            self.source,
            self._invoker,
            interval_s=self._interval,
            safety_poll_s=self._safety_interval,
            on_progress=self.registry.save,
            identify=self._identify,
            retry_backoff_s=self._retry_backoff,
            clock=self._clock,
        )

    def _safety_interval(self) -> float:
        readers = sum(len(worker.readers) for worker in self._workers.values())
        return max(self._safety_poll, readers / SAFETY_READS_PER_SECOND)

    def _run(self, mapping: EventSourceMapping) -> None:
        if mapping.enabled and mapping.uuid not in self._workers:
            worker = MappingWorker(mapping, self.source, self.new_reader, self._stream_gone)
            self._workers[mapping.uuid] = worker
            worker.start()
        elif not mapping.enabled:
            mapping.state = MappingState.DISABLED

    async def _halt(self, mapping_id: str) -> None:
        worker = self._workers.pop(mapping_id, None)
        if worker is not None:
            await worker.stop()

    def _stream_gone(self, worker: MappingWorker) -> None:
        mapping = worker.mapping
        log.warning(
            "event source mapping %s stopped: its stream %s was deleted",
            mapping.uuid,
            mapping.event_source_arn,
        )
        self._workers.pop(mapping.uuid, None)
        declared = self.registry.stream_gone(mapping)
        if declared is not None:  # a declared mapping follows its table when it comes back
            self._pending.setdefault(mapping.table, []).append(declared)

    async def _anchor(self, mapping: EventSourceMapping) -> None:
        """Turn LATEST into positions: the last record of each open shard now."""
        if mapping.starting_position != "LATEST":
            return
        for shard in await self.source.shards(mapping.event_source_arn):
            if shard.closed:
                mapping.shards[shard.shard_id] = ShardProgress(done=True)
                continue
            last: str | None = None
            iterator: str | None = await self.source.iterator(
                mapping.event_source_arn, shard.shard_id, Position()
            )
            while iterator:
                records, iterator = await self.source.records(iterator)
                if not records:
                    break
                last = str(records[-1]["dynamodb"]["SequenceNumber"])
            mapping.shards[shard.shard_id] = ShardProgress(checkpoint=last)

    # -- start and stop -------------------------------------------------------------------

    async def start(self, declared: list[DeclaredSource]) -> None:
        """Resume persisted mappings, then make (or refresh) each declared one."""
        resumed = self.registry.resume(declared)
        for source in declared:
            await self.add_declared(source)
        for mapping in resumed:
            self._run(mapping)

    async def add_declared(self, source: DeclaredSource) -> None:
        """Map a declared source to its table's current stream (or wait for the table)."""
        stream_arn = await self.source.table_stream(source.table)
        if stream_arn is None:
            log.warning(
                "table %s has no stream (yet): its mapping to %s starts once it does",
                source.table,
                source.function_arn,
            )
            self._pending.setdefault(source.table, []).append(source)
            return
        try:
            mapping, fresh = self.registry.declare(source, stream_arn)
        except LambdaApiError as error:
            log.error("declared mapping to %s skipped: %s", source.function_arn, error.message)
            return
        if fresh:
            await self._anchor(mapping)
        self.registry.add(mapping)
        self._run(mapping)

    async def stop(self) -> None:
        workers = list(self._workers.values())
        self._workers.clear()
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        for mapping in self.registry.all():
            self.registry.save(mapping)

    # -- notices from the DynamoDB front --------------------------------------------------

    def notice(self, notice: Notice) -> None:
        for table in notice.tables:
            if notice.kind is NoticeKind.WRITE:
                self.wake_table(table)
            elif notice.operation == "DeleteTable":
                self.wake_table(table)  # its readers find the stream gone and stop
            elif table in self._pending:
                for source in self._pending.pop(table):
                    self._in_background(self.add_declared(source))

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def wake_table(self, table: str) -> None:
        for mapping_id in self.registry.on_table(table):
            worker = self._workers.get(mapping_id)
            if worker is not None:
                worker.wake()

    # -- the Lambda API's writes (reads go to the registry) -------------------------------

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """CreateEventSourceMapping: validated, anchored and started before answering."""
        async with self._lock:
            table = stream_table(str(body.get("EventSourceArn") or ""))
            current = await self.source.table_stream(table) if table else None
            mapping = self.registry.check_create(body, current)
            await self._anchor(mapping)
            answer = mapping.to_api()
            self.registry.add(mapping)
            self._run(mapping)
            return answer

    async def update(self, mapping_id: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            updated = self.registry.update(mapping_id, body)
            if updated.transition is Transition.STOP:
                await self._halt(mapping_id)
            elif updated.transition is Transition.START:
                self._run(self.registry.mapping(mapping_id))
            return updated.answer

    async def delete(self, mapping_id: str) -> dict[str, Any]:
        async with self._lock:
            self.registry.mapping(mapping_id)  # 404 before anything stops
            await self._halt(mapping_id)
            return self.registry.delete(mapping_id)
