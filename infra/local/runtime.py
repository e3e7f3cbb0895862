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

from infra.local.app_loader import LoadedApp, load_app, stage_config
from infra.local.backends import Backend, make_backend
from infra.local.config import BackendKind, RuntimeConfig
from infra.local.dynamodb_runtime import DynamoDBRuntime, DynamoDBRuntimeConfig
from infra.local.faults import Faults, load_plan
from infra.local.lambda_api import event_source_mapping_routes
from infra.local.lambda_runtime import LambdaRuntime, chalice_functions
from infra.local.oidc_provider import OidcTestProvider
from infra.local.ports import ensure_free, free_port
from infra.local.request_signing import LOCAL_CREDENTIALS
from infra.local.rest_gateway import API_PREFIX, build_rest_app
from infra.local.stack.app_stack import AppStack
from infra.local.stack.template import StackTemplate, read_template
from infra.local.stack.urls import LocalApis
from infra.local.streams.declared import chalice_stream_sources
from infra.local.web_client import WebClientConfig
from infra.local.websocket_gateway.chalice_sender import point_websocket_api
from infra.local.websocket_gateway.events import local_api_id
from infra.local.websocket_gateway.gateway import WebSocketGateway, build_websocket_gateway
from infra.local.websocket_gateway.limits import RUNTIME_STOPPING, ConnectionLimits
from infra.local.websocket_gateway.server_protocol import LingeringCloseProtocol
from infra.local.websocket_gateway.throttling import RouteThrottling


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
        self.loaded: LoadedApp | None = None
        self.lambdas = LambdaRuntime()
        self.websocket: WebSocketGateway | None = None
        self._servers: list[uvicorn.Server] = []
        self._stopping = asyncio.Event()
        self.started_in: float | None = None
        self.oidc_provider: OidcTestProvider | None = None
        self.stack: AppStack | None = None
        self.websocket_throttling = RouteThrottling()
        self.tables: list[str] = []
        self.faults = Faults(load_plan(config.faults_file) if config.faults_file else None)

    def check_ports(self) -> None:
        ensure_free(self.config.host, self.config.port, "--port")
        ensure_free(self.config.host, self.config.ws_port, "--ws-port")
        ensure_free(self.config.host, self.config.ddb_port, "--ddb-port")

    def runtime_environment(self, endpoint: str) -> dict[str, str]:
        """Where AWS is, locally, in the variables any AWS SDK reads (boto3 >= 1.28)."""
        return {
            **LOCAL_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_REGION": self.config.region,
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_ENDPOINT_URL_DYNAMODBSTREAMS": endpoint,
            "AWS_ENDPOINT_URL_LAMBDA": self.config.web_origin,
        }

    def _app_stack(self) -> AppStack:
        """The app's template (or none), resolved against where this runtime serves things."""
        c = self.config
        chalice_config = stage_config(c.app_dir, c.stage)
        app_name = str(chalice_config.app_name)
        template = read_template(c.template_file) if c.template_file else StackTemplate()
        apis = LocalApis(
            rest_api_id=local_api_id(app_name, "rest"),
            websocket_api_id=local_api_id(app_name, "websocket"),
            # The host browsers reach (a LAN address when listening on every interface).
            host=c.public_host,
            port=c.port,
            ws_port=c.ws_port,
        )
        return AppStack(template, apis, region=c.region, stack_name=f"{app_name}-{c.stage}")

    def start_backend_and_app(self) -> None:
        """Backend, the template's tables, then the app (it reads its environment at import),
        then its functions and their stream mappings."""
        started = time.monotonic()
        c = self.config
        self.check_ports()
        try:
            self._start_dynamodb()
            assert self.endpoint is not None and self.dynamodb is not None
            self.stack = self._app_stack()
            client = boto3.client(
                "dynamodb",
                endpoint_url=self.endpoint,
                region_name=c.region,
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
            self.tables = self.stack.create_tables(client)
            self.websocket_throttling = self.stack.websocket_throttling()
            if c.oidc_test_provider:
                self.oidc_provider = OidcTestProvider(c.oidc_redirect_uris(), host=c.host).start()
            self.loaded = load_app(
                c.app_dir,
                c.stage,
                {
                    **self.stack.environment(),
                    **self.runtime_environment(self.endpoint),
                    **(self.oidc_provider.app_environment() if self.oidc_provider else {}),
                    **dict(c.app_env),
                },
            )
            # Chalice apps that post with `app.websocket_api` reach the local @connections too.
            point_websocket_api(self.loaded.app, self._websocket_endpoint())
            self._start_functions()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started

    def _start_functions(self) -> None:
        """The app's functions, and the stream mappings it and its template declare."""
        assert self.loaded is not None and self.dynamodb is not None and self.stack is not None
        self.lambdas = chalice_functions(self.loaded.app, self.loaded.config, self.config.region)
        self.lambdas.faults = self.faults
        self.stack.bind_functions(self.lambdas)
        sources = chalice_stream_sources(self.loaded.app, self.loaded.config, self.lambdas)
        self.dynamodb.start_streams(self.lambdas, sources + self.stack.stream_sources(self.lambdas))

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
                one_request_at_a_time=not self.backend.concurrent,
                ttl_own_tables_only=self.backend.shared,
            )
        )
        self.endpoint = self.dynamodb.start_front()

    def _server(self, app: Any, port: int, **options: Any) -> uvicorn.Server:
        server = _QuietServer(
            uvicorn.Config(
                app,
                host=self.config.host,
                port=port,
                log_level="warning",
                lifespan="off",
                access_log=False,
                timeout_graceful_shutdown=5,
                **options,
            )
        )
        self._servers.append(server)
        return server

    def is_ready(self) -> bool:
        """Every part is up: what `GET /api/health` waits for."""
        return bool(self._servers) and all(server.started for server in self._servers)

    def _websocket_server(self) -> uvicorn.Server:
        assert self.loaded is not None
        limits = ConnectionLimits(
            idle_timeout_s=self.config.ws_idle_timeout_s,
            max_lifetime_s=self.config.ws_max_lifetime_s,
            throttling=self.websocket_throttling,
        )
        port = self.config.ws_port
        names = {self.config.host, self.config.public_host, "127.0.0.1", "localhost"}
        self.websocket = build_websocket_gateway(
            self.loaded, self.lambdas, limits, self.faults, hosts={f"{n}:{port}" for n in names}
        )
        return self._server(
            self.websocket.app,
            self.config.ws_port,
            # API Gateway sends no pings; its limit on a message closes with 1009.
            ws_ping_interval=None,
            ws_max_size=limits.max_message_bytes,
            ws_per_message_deflate=False,
            ws=LingeringCloseProtocol,
        )

    async def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then stop every part."""
        assert self.loaded is not None
        assert self.dynamodb is not None
        rest_app = build_rest_app(
            self.loaded,
            self.config.web_dir,
            self.lambdas,
            self.is_ready,
            extra_routes=event_source_mapping_routes(self.dynamodb),
            web_config=WebClientConfig(
                api_url=API_PREFIX,
                ws_url=self.config.web_client_ws_url(self._api_stage()),
                origin=self.config.web_origin,
            ),
        )
        self._server(rest_app, self.config.port)
        self._websocket_server()
        assert self.websocket is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        servers = [asyncio.create_task(server.serve()) for server in self._servers]
        sweeper = asyncio.create_task(self.websocket.sweep_forever())
        try:
            stopping = asyncio.create_task(self._stopping.wait())
            await asyncio.wait([stopping, *servers], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            # Clients see 1001 "Going away"; the app's `$disconnect` cleans up while it can.
            await self.websocket.close_all(RUNTIME_STOPPING, grace_s=5)
            for server in self._servers:
                server.should_exit = True
            await asyncio.gather(*servers, return_exceptions=True)
        finally:
            sweeper.cancel()
            self.stop()

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """WebSockets closed, mappings (checkpoints saved) and the front, then the backend."""
        if self.websocket is not None:
            self.websocket.shutdown()
        if self.dynamodb is not None:
            self.dynamodb.stop()
        self.backend.stop()
        if self.oidc_provider is not None:
            self.oidc_provider.stop()
            self.oidc_provider = None

    def _api_stage(self) -> str:
        return self.loaded.api_gateway_stage if self.loaded else self.config.stage

    def _websocket_endpoint(self) -> str:
        return self.config.websocket_endpoint(self._api_stage())

    def _mapping_count(self) -> int:
        mappings = self.dynamodb.mappings if self.dynamodb else None
        return len(mappings.registry.all()) if mappings else 0

    def describe(self) -> str:
        c = self.config
        lines = [
            f"userdb local runtime up in {self.started_in or 0:.1f} s (stage {c.stage})",
            f"  web + REST   {c.web_origin}/   (REST under /api; the page's WebSocket: "
            f"{c.web_client_ws_url(self._api_stage())})",
            f"  WebSocket    ws://{c.host}:{c.ws_port}/   (or /{self._api_stage()})",
            f"  @connections {self._websocket_endpoint()}   (boto3 apigatewaymanagementapi)",
            f"  DynamoDB     {self.endpoint}   backend {self.backend.name}"
            + (f", data in {c.data_dir}" if self.backend.persistent else " (in memory)"),
            f"  tables       {len(self.tables)} from "
            + (f"{c.template_file}" if c.template_file else "no --template"),
            f"  Lambda API   {c.web_origin}/2015-03-31/event-source-mappings/"
            f"   ({self._mapping_count()} stream mapping(s), read every "
            f"{c.stream_interval_ms} ms; TTL sweep every {c.ttl_sweep_interval_s:g} s)",
            f"  faults       http://{c.host}:{c.ws_port}/@faults   "
            "(signed: python -m infra.local faults show|set FILE|clear)"
            + (f", plan from {c.faults_file}" if c.faults_file else ""),
            f"  app          {c.app_dir}",
            "  Ctrl-C stops everything.",
        ]
        if self.oidc_provider is not None:
            lines.insert(
                -1, f"  OIDC test    {self.oidc_provider.issuer}   (login page: /authorize)"
            )
        return "\n".join(lines)
