"""The DynamoDB half of the local runtime on its own event loop thread: the front on
--ddb-port, the stream event source mappings and the TTL sweeper.

Its own loop keeps the front's latency independent of the gateways' load; the Lambda
API (served by the REST gateway) reaches the mappings through `submit`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from infra.local.dynamodb_front import DynamoDBFront, Notice
from infra.local.dynamodb_wire import BackendPool, DynamoDBApi
from infra.local.lambda_runtime import LambdaRuntime
from infra.local.streams.batching import FunctionResult
from infra.local.streams.declared import DeclaredSource
from infra.local.streams.registry import MappingRegistry
from infra.local.streams.runner import MappingRunner
from infra.local.streams.source import BackendStreamSource
from infra.local.streams.store import FileMappingStore, MappingStore, MemoryMappingStore
from infra.local.ttl_sweeper import TtlRemovals, TtlSweeper

log = logging.getLogger("userdb.local.dynamodb")

T = TypeVar("T")


@dataclass(frozen=True)
class DynamoDBRuntimeConfig:
    backend_url: str
    host: str
    port: int
    region: str
    # Where mappings and checkpoints persist; None keeps them in memory.
    state_dir: Path | None
    stream_interval_s: float = 0.1
    safety_poll_s: float = 30.0
    ttl_interval_s: float = 30.0
    access_key: str = "local"
    secret_key: str = "local"  # noqa: S105 - local endpoints accept any credentials
    # Pass requests to the backend one at a time (a backend unsafe under concurrency: moto).
    one_request_at_a_time: bool = False
    # Apply TTL only to tables written through this front (a backend others use too).
    ttl_own_tables_only: bool = False


class LambdaInvoker:
    """Stream batches run through the Lambda emulation, on worker threads."""

    def __init__(self, functions: LambdaRuntime, workers: int = 16) -> None:
        self._functions = functions
        self._executor = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="lambda-stream"
        )

    async def invoke(self, function_arn: str, event: dict[str, Any]) -> FunctionResult:
        loop = asyncio.get_running_loop()
        invocation = await loop.run_in_executor(
            self._executor, self._functions.invoke, function_arn, event
        )
        return FunctionResult(ok=invocation.ok, payload=invocation.result)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class DynamoDBRuntime:
    def __init__(self, config: DynamoDBRuntimeConfig) -> None:
        self.config = config
        self.removals = TtlRemovals()
        self.mappings: MappingRunner | None = None
        self.sweeper: TtlSweeper | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="dynamodb-runtime", daemon=True
        )
        self._pool: BackendPool | None = None
        self._front: DynamoDBFront | None = None
        self._invoker: LambdaInvoker | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coroutine` on this runtime's loop (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _notice(self, notice: Notice) -> None:
        if self.mappings is not None:
            self.mappings.notice(notice)
        if self.sweeper is not None:
            self.sweeper.notice(notice)

    def start_front(self) -> str:
        """Start the loop and the front on --ddb-port; returns the front's URL."""
        self._thread.start()
        self.submit(self._start_front()).result(timeout=30)
        return self.url

    async def _start_front(self) -> None:
        self._pool = BackendPool(
            self.config.backend_url, one_at_a_time=self.config.one_request_at_a_time
        )
        self._front = DynamoDBFront(self._pool, self._notice)
        await self._front.start(self.config.host, self.config.port)

    def start_streams(self, functions: LambdaRuntime, sources: list[DeclaredSource]) -> None:
        """Start the mappings (persisted ones and the app's) and the TTL sweeper."""
        self.submit(self._start_streams(functions, sources)).result(timeout=60)

    async def _start_streams(self, functions: LambdaRuntime, sources: list[DeclaredSource]) -> None:
        assert self._pool is not None
        config = self.config
        api = DynamoDBApi(self._pool, config.region, config.access_key, config.secret_key)
        store: MappingStore = (
            FileMappingStore(config.state_dir) if config.state_dir else MemoryMappingStore()
        )
        self._invoker = LambdaInvoker(functions)
        self.mappings = MappingRunner(
            MappingRegistry(functions, store),
            BackendStreamSource(api),
            self._invoker,
            interval_s=config.stream_interval_s,
            safety_poll_s=config.safety_poll_s,
            retry_backoff_s=max(config.stream_interval_s, 0.05),
            identify=self.removals.identify,
        )
        await self.mappings.start(sources)
        self.sweeper = TtlSweeper(
            api,
            self.removals,
            self.mappings.wake_table,
            config.ttl_interval_s,
            own_tables_only=config.ttl_own_tables_only,
        )
        self._tasks.append(asyncio.get_running_loop().create_task(self.sweeper.run()))

    def stop(self) -> None:
        """Stop the mappings (checkpoints saved), the sweeper and the front; idempotent."""
        if not self._thread.is_alive():
            return
        try:
            self.submit(self._stop()).result(timeout=15)
        except (concurrent.futures.TimeoutError, RuntimeError) as error:
            log.warning("DynamoDB runtime did not stop cleanly: %s", error)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if self._invoker is not None:
            self._invoker.shutdown()

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.mappings is not None:
            await self.mappings.stop()
        if self._front is not None:
            await self._front.stop()
        if self._pool is not None:
            self._pool.close()
