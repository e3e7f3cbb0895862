"""The event source mappings of a runtime: made from the app's `on_dynamodb_record`
sources and through the Lambda API, each reading its stream's shards parent before child."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from infra.local.dynamodb_front import Notice, NoticeKind
from infra.local.lambda_runtime import FunctionNotFoundError, LambdaRuntime
from infra.local.streams.mappings import (
    EventSourceMapping,
    InvalidParameterValueError,
    ResourceConflictError,
    ResourceNotFoundError,
    ShardProgress,
    apply_update,
    chalice_mapping_id,
    new_mapping,
    stream_table,
)
from infra.local.streams.reader import Identify, Invoker, ReaderEnd, ShardReader
from infra.local.streams.source import Position, Shard, StreamGoneError, StreamSource
from infra.local.streams.store import MappingStore

log = logging.getLogger("userdb.local.streams")

# Idle shards together make at most this many safety reads a second.
SAFETY_READS_PER_SECOND = 0.5


@dataclass(frozen=True)
class ChaliceSource:
    """An `@app.on_dynamodb_record` handler: its function and the decorator's settings."""

    function_arn: str
    stream_arn: str
    batch_size: int = 100
    starting_position: str = "LATEST"
    maximum_batching_window_s: int = 0


class _Worker:
    """One running mapping: a reader per readable shard, children once their parent is done."""

    def __init__(self, manager: MappingManager, mapping: EventSourceMapping) -> None:
        self.manager = manager
        self.mapping = mapping
        self.readers: dict[str, ShardReader] = {}
        self.task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._supervise())

    def wake(self) -> None:
        for reader in list(self.readers.values()):
            reader.wake()

    async def stop(self) -> None:
        self._stopping = True
        for reader in list(self.readers.values()):
            reader.stop()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self.task), 10)
            if not self.task.done():
                self.task.cancel()

    def _readable(self, shards: list[Shard]) -> list[Shard]:
        known = {shard.shard_id for shard in shards}
        progress = self.mapping.shards
        ready = []
        for shard in shards:
            if progress.get(shard.shard_id, ShardProgress()).done or shard.shard_id in self.readers:
                continue
            parent = shard.parent_id
            if parent is None or parent not in known or progress.get(parent, ShardProgress()).done:
                ready.append(shard)
        return ready

    async def _supervise(self) -> None:
        manager, mapping = self.manager, self.mapping
        tasks: dict[asyncio.Task[ReaderEnd], ShardReader] = {}
        try:
            while not self._stopping:
                shards = await manager.source.shards(mapping.event_source_arn)
                for shard in self._readable(shards):
                    reader = manager.new_reader(mapping, shard.shard_id)
                    self.readers[shard.shard_id] = reader
                    tasks[asyncio.get_running_loop().create_task(reader.run())] = reader
                if mapping.state in {"Creating", "Enabling", "Updating"}:
                    mapping.state = "Enabled"
                if not tasks:
                    return  # every shard done: the stream is closed for good
                finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    reader = tasks.pop(task)
                    self.readers.pop(reader.shard_id, None)
                    if task.result() is ReaderEnd.GONE:
                        raise StreamGoneError(mapping.event_source_arn)
        except StreamGoneError:
            manager.stream_gone(self)
        finally:
            for reader in tasks.values():
                reader.stop()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)


class MappingManager:
    """Owns every mapping: Lambda API operations, wake-ups by table, persistence."""

    def __init__(
        self,
        source: StreamSource,
        invoker: Invoker,
        functions: LambdaRuntime,
        store: MappingStore,
        *,
        interval_s: float = 0.1,
        safety_poll_s: float = 30.0,
        retry_backoff_s: float = 0.1,
        identify: Identify | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._invoker = invoker
        self._functions = functions
        self._store = store
        self._interval = interval_s
        self._safety_poll = safety_poll_s
        self._retry_backoff = retry_backoff_s
        self._identify = identify
        self._clock = clock
        self._mappings: dict[str, EventSourceMapping] = {}
        self._workers: dict[str, _Worker] = {}
        self._by_table: dict[str, set[str]] = {}
        self._pending: dict[str, list[ChaliceSource]] = {}  # app sources waiting for their table
        self._sources: dict[str, ChaliceSource] = {}  # app sources by mapping id
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()  # held, or the loop may drop them

    # -- wiring -------------------------------------------------------------------------

    def new_reader(self, mapping: EventSourceMapping, shard_id: str) -> ShardReader:
        return ShardReader(
            mapping,
            shard_id,
            self.source,
            self._invoker,
            interval_s=self._interval,
            safety_poll_s=self._safety_interval,
            on_progress=self._store.save,
            identify=self._identify,
            retry_backoff_s=self._retry_backoff,
            clock=self._clock,
        )

    def _safety_interval(self) -> float:
        readers = sum(len(worker.readers) for worker in self._workers.values())
        return max(self._safety_poll, readers / SAFETY_READS_PER_SECOND)

    def _index(self, mapping: EventSourceMapping) -> None:
        self._mappings[mapping.uuid] = mapping
        self._by_table.setdefault(mapping.table, set()).add(mapping.uuid)

    def _unindex(self, mapping: EventSourceMapping) -> None:
        self._mappings.pop(mapping.uuid, None)
        self._by_table.get(mapping.table, set()).discard(mapping.uuid)

    def _run(self, mapping: EventSourceMapping) -> None:
        if mapping.enabled and mapping.uuid not in self._workers:
            worker = _Worker(self, mapping)
            self._workers[mapping.uuid] = worker
            worker.start()
        elif not mapping.enabled:
            mapping.state = "Disabled"

    async def _halt(self, mapping_id: str) -> None:
        worker = self._workers.pop(mapping_id, None)
        if worker is not None:
            await worker.stop()

    def stream_gone(self, worker: _Worker) -> None:
        mapping = worker.mapping
        log.warning(
            "event source mapping %s stopped: its stream %s was deleted",
            mapping.uuid,
            mapping.event_source_arn,
        )
        self._workers.pop(mapping.uuid, None)
        mapping.state = "Disabled"
        mapping.state_transition_reason = "The event source stream was deleted"
        mapping.last_processing_result = "PROBLEM: Stream not found"
        mapping.enabled = False
        self._store.save(mapping)
        source = self._sources.get(mapping.uuid)
        if source is not None:  # the app's own mapping follows its table when it comes back
            self._pending.setdefault(mapping.table, []).append(source)

    # -- start and stop -----------------------------------------------------------------

    async def start(self, chalice_sources: list[ChaliceSource]) -> None:
        """Resume persisted mappings, then make (or refresh) one per app source."""
        wanted = {}
        for source in chalice_sources:
            table = stream_table(source.stream_arn)
            if table is None:
                log.warning(
                    "on_dynamodb_record of %s: %r is not a stream ARN; skipped",
                    source.function_arn,
                    source.stream_arn,
                )
                continue
            wanted[chalice_mapping_id(source.function_arn, table)] = source
        for mapping in self._store.load():
            if mapping.origin == "chalice" and mapping.uuid not in wanted:
                self._store.delete(mapping.uuid)
                continue
            try:
                self._functions.find(mapping.function_arn)
            except FunctionNotFoundError:
                log.warning(
                    "event source mapping %s: function %s no longer exists",
                    mapping.uuid,
                    mapping.function_arn,
                )
            self._index(mapping)
        for source in wanted.values():
            await self.add_chalice_source(source)
        for mapping in list(self._mappings.values()):
            if mapping.origin == "api":
                self._run(mapping)

    async def add_chalice_source(self, source: ChaliceSource) -> None:
        """Map an app source to the local table's current stream (or wait for the table)."""
        table = stream_table(source.stream_arn) or ""
        stream_arn = await self.source.table_stream(table)
        if stream_arn is None:
            log.warning(
                "on_dynamodb_record: table %s has no stream (yet); mapping it once it does", table
            )
            self._pending.setdefault(table, []).append(source)
            return
        mapping_id = chalice_mapping_id(source.function_arn, table)
        self._sources[mapping_id] = source
        mapping = self._mappings.get(mapping_id)
        fresh = mapping is None or mapping.event_source_arn != stream_arn
        if mapping is not None and fresh:
            self._unindex(mapping)
        if mapping is None or fresh:
            mapping = EventSourceMapping(
                uuid=mapping_id,
                event_source_arn=stream_arn,
                function_arn=source.function_arn,
                starting_position=source.starting_position,
                origin="chalice",
            )
        mapping.batch_size = source.batch_size
        mapping.maximum_batching_window_s = source.maximum_batching_window_s
        mapping.enabled = True
        mapping.state = "Creating" if fresh else "Enabling"
        if fresh:
            await self._anchor(mapping)
        self._index(mapping)
        self._store.save(mapping)
        self._run(mapping)

    async def stop(self) -> None:
        workers = list(self._workers.values())
        self._workers.clear()
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        for mapping in self._mappings.values():
            self._store.save(mapping)

    # -- notices from the DynamoDB front ------------------------------------------------

    def notice(self, notice: Notice) -> None:
        for table in notice.tables:
            if notice.kind is NoticeKind.WRITE:
                self.wake_table(table)
            elif notice.operation == "DeleteTable":
                self.wake_table(table)  # its readers find the stream gone and stop
            elif table in self._pending:
                sources = self._pending.pop(table)
                for source in sources:
                    self._in_background(self.add_chalice_source(source))

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def wake_table(self, table: str) -> None:
        for mapping_id in self._by_table.get(table, ()):
            worker = self._workers.get(mapping_id)
            if worker is not None:
                worker.wake()

    # -- the Lambda API -----------------------------------------------------------------

    def _function_arn(self, name: Any) -> str:
        if not isinstance(name, str) or not name:
            raise InvalidParameterValueError("FunctionName is required.")
        try:
            return self._functions.find(name).arn
        except FunctionNotFoundError:
            raise ResourceNotFoundError(f"Function not found: {name}") from None

    def _get(self, mapping_id: str) -> EventSourceMapping:
        mapping = self._mappings.get(mapping_id)
        if mapping is None:
            raise ResourceNotFoundError(
                f"The resource you requested does not exist. (UUID {mapping_id})"
            )
        return mapping

    async def _anchor(self, mapping: EventSourceMapping) -> None:
        """Turn LATEST into positions: the last record of each open shard now."""
        shards = await self.source.shards(mapping.event_source_arn)
        for shard in shards:
            if mapping.starting_position != "LATEST":
                continue
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

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """CreateEventSourceMapping: validated as Lambda does, started before answering."""
        async with self._lock:
            function_arn = self._function_arn(body.get("FunctionName"))
            mapping = new_mapping(body, function_arn)
            if await self.source.table_stream(mapping.table) != mapping.event_source_arn:
                raise InvalidParameterValueError(
                    f"Stream not found: {mapping.event_source_arn} is not a table's current stream."
                )
            for other in self._mappings.values():
                if (
                    other.event_source_arn == mapping.event_source_arn
                    and other.function_arn == function_arn
                ):
                    raise ResourceConflictError(
                        f"The event source arn ({mapping.event_source_arn}) and function "
                        f"({function_arn}) provided mapping already exists. Please update or "
                        f"delete the existing mapping with UUID {other.uuid}"
                    )
            await self._anchor(mapping)
            answer = mapping.to_api()
            self._index(mapping)
            self._store.save(mapping)
            self._run(mapping)
            return answer

    def get(self, mapping_id: str) -> dict[str, Any]:
        return self._get(mapping_id).to_api()

    def list_mappings(
        self,
        event_source_arn: str | None = None,
        function_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """ListEventSourceMappings, filtered by stream and/or function, paginated by Marker."""
        function_arn = None
        if function_name:
            try:
                function_arn = self._functions.find(function_name).arn
            except FunctionNotFoundError:
                return {"EventSourceMappings": []}
        chosen = [
            m
            for m in sorted(self._mappings.values(), key=lambda m: m.uuid)
            if (not event_source_arn or m.event_source_arn == event_source_arn)
            and (not function_arn or m.function_arn == function_arn)
        ]
        try:
            start = int(marker) if marker else 0
        except ValueError:
            raise InvalidParameterValueError("Marker is not valid.") from None
        limit = max_items or 100
        if not 1 <= limit <= 10_000:
            raise InvalidParameterValueError("MaxItems must be from 1 to 10000.")
        page = chosen[start : start + limit]
        answer: dict[str, Any] = {"EventSourceMappings": [m.to_api() for m in page]}
        if start + limit < len(chosen):
            answer["NextMarker"] = str(start + limit)
        return answer

    async def update(self, mapping_id: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            mapping = self._get(mapping_id)
            function_arn = (
                self._function_arn(body["FunctionName"]) if body.get("FunctionName") else None
            )
            was_enabled = mapping.enabled
            apply_update(mapping, body, function_arn)
            self._store.save(mapping)
            answer = mapping.to_api()
            if was_enabled and not mapping.enabled:
                await self._halt(mapping_id)
                mapping.state = "Disabled"
                answer["State"] = "Disabling"
            elif mapping.enabled and mapping.uuid not in self._workers:
                mapping.state = "Enabling"
                answer["State"] = "Enabling"
                self._run(mapping)
            else:
                answer["State"] = "Updating"
            return answer

    async def delete(self, mapping_id: str) -> dict[str, Any]:
        async with self._lock:
            mapping = self._get(mapping_id)
            await self._halt(mapping_id)
            self._unindex(mapping)
            self._store.delete(mapping_id)
            mapping.state = "Deleting"
            return mapping.to_api()

    def describe(self) -> list[EventSourceMapping]:
        return list(self._mappings.values())


def chalice_stream_sources(app: Any, config: Any, functions: LambdaRuntime) -> list[ChaliceSource]:
    """The app's `on_dynamodb_record` handlers, with the function `chalice deploy` makes."""
    sources = []
    for source in app.event_sources:
        if not hasattr(source, "stream_arn") or not hasattr(source, "starting_position"):
            continue  # S3, SNS, SQS, Kinesis: not emulated
        name = f"{app.app_name}-{config.chalice_stage}-{source.name}"
        sources.append(
            ChaliceSource(
                function_arn=functions.find(name).arn,
                stream_arn=source.stream_arn,
                batch_size=source.batch_size,
                starting_position=source.starting_position,
                maximum_batching_window_s=source.maximum_batching_window_in_seconds,
            )
        )
    return sources
