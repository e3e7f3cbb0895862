"""One running mapping: a reader per readable shard, children once their parent is done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from infra.local.streams.mappings import EventSourceMapping, MappingState, ShardProgress
from infra.local.streams.reader import ReaderEnd, ShardReader
from infra.local.streams.source import Shard, StreamGoneError, StreamSource

ReaderFactory = Callable[[EventSourceMapping, str], ShardReader]

_STARTING = {MappingState.CREATING, MappingState.ENABLING, MappingState.UPDATING}


def readable_shards(
    shards: list[Shard], progress: dict[str, ShardProgress], reading: set[str]
) -> list[Shard]:
    """The shards to start reading now: not done, not being read, and whose parent (if the
    stream still lists it) is done, so a key's records are delivered in order."""
    known = {shard.shard_id for shard in shards}
    ready = []
    for shard in shards:
        if progress.get(shard.shard_id, ShardProgress()).done or shard.shard_id in reading:
            continue
        parent = shard.parent_id
        if parent is None or parent not in known or progress.get(parent, ShardProgress()).done:
            ready.append(shard)
    return ready


class MappingWorker:
    """Supervises the shard readers of one mapping until it is stopped, its stream is
    closed for good, or the stream is deleted (then `on_gone(self)`)."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        source: StreamSource,
        new_reader: ReaderFactory,
        on_gone: Callable[[MappingWorker], None],
    ) -> None:
        self.mapping = mapping
        self._source = source
        self._new_reader = new_reader
        self._on_gone = on_gone
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

    async def _supervise(self) -> None:
        mapping = self.mapping
        tasks: dict[asyncio.Task[ReaderEnd], ShardReader] = {}
        try:
            while not self._stopping:
                shards = await self._source.shards(mapping.event_source_arn)
                for shard in readable_shards(shards, mapping.shards, set(self.readers)):
                    reader = self._new_reader(mapping, shard.shard_id)
                    self.readers[shard.shard_id] = reader
                    tasks[asyncio.get_running_loop().create_task(reader.run())] = reader
                if mapping.state in _STARTING:
                    mapping.state = MappingState.ENABLED
                if not tasks:
                    return  # every shard done: the stream is closed for good
                finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    reader = tasks.pop(task)
                    self.readers.pop(reader.shard_id, None)
                    if task.result() is ReaderEnd.GONE:
                        raise StreamGoneError(mapping.event_source_arn)
        except StreamGoneError:
            self._on_gone(self)
        finally:
            for reader in tasks.values():
                reader.stop()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
