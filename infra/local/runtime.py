"""The local runtime: starts the backend, the tables, the app and the gateways; stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from typing import Any

import boto3
import uvicorn

from chalicelib.dal.schema import create_tables
from chalicelib.settings import Settings
from infra.local.app_loader import LoadedApp, load_app
from infra.local.backends import Backend, make_backend
from infra.local.config import BackendKind, RuntimeConfig
from infra.local.dynamodb_runtime import DynamoDBRuntime, DynamoDBRuntimeConfig
from infra.local.lambda_api import event_source_mapping_routes
from infra.local.lambda_runtime import LambdaRuntime, chalice_functions
from infra.local.ports import ensure_free, free_port
from infra.local.rest_gateway import build_rest_app
from infra.local.streams.manager import chalice_stream_sources
from infra.tables import shared_tables

# Local endpoints accept any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runtime stops all servers together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LocalRuntime:
    """Everything `python -m infra.local up` runs, in one process."""

    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        # Owned backends listen on an internal port; the DynamoDB front takes --ddb-port.
        internal_port = 0 if config.backend is BackendKind.ENDPOINT else free_port(config.host)
        self.backend: Backend = make_backend(config, internal_port)
        self.endpoint: str | None = None
        self.dynamodb: DynamoDBRuntime | None = None
        self.functions: LambdaRuntime | None = None
        self.loaded: LoadedApp | None = None
        self._servers: list[uvicorn.Server] = []
        self.started_in: float | None = None

    def check_ports(self) -> None:
        ensure_free(self.config.host, self.config.port, "--port")
        ensure_free(self.config.host, self.config.ddb_port, "--ddb-port")

    def app_environment(self, endpoint: str) -> dict[str, str]:
        """What the app is told about where things are (the same variables as on AWS)."""
        origins = f"{self.config.web_origin},http://localhost:{self.config.port}"
        return {
            **LOCAL_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_REGION": self.config.region,
            "USERDB_DYNAMODB_ENDPOINT": endpoint,
            "USERDB_LAMBDA_ENDPOINT": self.config.web_origin,
            "USERDB_ALLOWED_ORIGINS": origins,
        }

    def start_backend_and_app(self) -> None:
        """Backend first, then the stage's tables, then the app (its settings need the endpoint)."""
        started = time.monotonic()
        self.check_ports()
        try:
            self._start_dynamodb()
            assert self.endpoint is not None and self.dynamodb is not None
            self.loaded = load_app(
                self.config.app_dir, self.config.stage, self.app_environment(self.endpoint)
            )
            # Read after load_app has put the stage's environment in place, as the app reads it.
            settings = Settings()
            client = boto3.client(
                "dynamodb", endpoint_url=self.endpoint, region_name=self.config.region
            )
            create_tables(client, shared_tables(settings))
            self.functions = chalice_functions(
                self.loaded.app, self.loaded.config, self.config.region
            )
            self.dynamodb.start_streams(
                self.functions,
                chalice_stream_sources(self.loaded.app, self.loaded.config, self.functions),
            )
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started

    def _start_dynamodb(self) -> None:
        """The backend, then the front on --ddb-port that the app and `aws` talk to."""
        c = self.config
        backend_url = self.backend.start()
        state_dir = c.data_dir / "lambda" / "event-source-mappings"
        self.dynamodb = DynamoDBRuntime(
            DynamoDBRuntimeConfig(
                backend_url=backend_url,
                host=c.host,
                port=c.ddb_port,
                region=c.region,
                state_dir=state_dir if self.backend.persistent else None,
                stream_interval_s=c.stream_interval_ms / 1000,
                safety_poll_s=c.stream_safety_poll_s,
                ttl_interval_s=c.ttl_sweep_interval_s,
                access_key=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                secret_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        )
        self.endpoint = self.dynamodb.start_front()

    def _server(self, app: Any, port: int) -> uvicorn.Server:
        server = _QuietServer(
            uvicorn.Config(
                app,
                host=self.config.host,
                port=port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
        )
        self._servers.append(server)
        return server

    async def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then stop every part."""
        assert self.loaded is not None
        assert self.dynamodb is not None
        rest = self._server(
            build_rest_app(
                self.loaded, self.config.web_dir, event_source_mapping_routes(self.dynamodb)
            ),
            self.config.port,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await asyncio.gather(*(server.serve() for server in [rest]))
        finally:
            self.stop()

    def request_stop(self) -> None:
        for server in self._servers:
            server.should_exit = True

    def stop(self) -> None:
        """Mappings (checkpoints saved) and the front first, then the backend (Java too)."""
        if self.dynamodb is not None:
            self.dynamodb.stop()
        self.backend.stop()

    def _mapping_count(self) -> int:
        manager = self.dynamodb.manager if self.dynamodb else None
        return len(manager.describe()) if manager else 0

    def describe(self) -> str:
        c = self.config
        lines = [
            f"userdb local runtime up in {self.started_in or 0:.1f} s (stage {c.stage})",
            f"  web + REST   http://{c.host}:{c.port}/   (REST under /api)",
            f"  DynamoDB     {self.endpoint}   backend {self.backend.name}"
            + (f", data in {c.data_dir}" if self.backend.persistent else " (in memory)"),
            f"  Lambda API   {c.web_origin}/2015-03-31/event-source-mappings/"
            f"   ({self._mapping_count()} stream mapping(s), read every "
            f"{c.stream_interval_ms} ms; TTL sweep every {c.ttl_sweep_interval_s:g} s)",
            f"  app          {c.app_dir}",
            "  Ctrl-C stops everything.",
        ]
        return "\n".join(lines)
