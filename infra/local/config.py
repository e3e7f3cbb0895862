"""What the runtime was asked to run, from its command line."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


class BackendKind(StrEnum):
    DYNAMODB_LOCAL = "dynamodb-local"
    MOTO = "moto"
    ENDPOINT = "endpoint"
    LOCALSTACK = "localstack"


@dataclass(frozen=True)
class RuntimeConfig:
    backend: BackendKind = BackendKind.DYNAMODB_LOCAL
    endpoint: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    ws_port: int = 8001
    ddb_port: int = 8002
    data_dir: Path = PROJECT_DIR / ".data"
    stream_interval_ms: int = 100
    # Slow safety poll of idle shards, for writes that bypass the DynamoDB front.
    stream_safety_poll_s: float = 30.0
    ttl_sweep_interval_s: float = 30.0
    app_dir: Path = PROJECT_DIR
    stage: str = "local"
    web_dir: Path = PROJECT_DIR / "web"
    region: str = "us-east-1"
    ws_idle_timeout_s: float = 600.0  # API Gateway: 10 minutes without a message
    ws_max_lifetime_s: float = 7200.0  # API Gateway: 2 hours, whatever the traffic
    # The app's CloudFormation / SAM template (`--template`): tables, environment, mappings.
    template_file: Path | None = None
    # Start a local OpenID Connect provider and sign in with it (docs/oauth.md).
    oidc_test_provider: bool = False
    # The redirect URIs it accepts; a path is taken under the REST API (`api_url`).
    oidc_callbacks: tuple[str, ...] = ()
    # A fault plan to start with (infra/local/faults.py); `/@faults` changes it at run time.
    faults_file: Path | None = None
    # Environment variables set over the stage's (`--env NAME=VALUE`).
    app_env: tuple[tuple[str, str], ...] = ()
    # The WebSocket URL the web client is given (`GET /config.json`); None: this host's.
    public_ws_url: str | None = None

    @cached_property
    def public_host(self) -> str:
        """The host clients reach: `--host`, or this machine's address on its network
        when listening on every interface (a phone on the LAN cannot use 0.0.0.0)."""
        if self.host not in ("0.0.0.0", "::", ""):
            return self.host
        return network_address()

    @property
    def web_origin(self) -> str:
        return f"http://{self.public_host}:{self.port}"

    def web_client_ws_url(self, api_gateway_stage: str) -> str:
        """The WebSocket URL of `GET /config.json`: `--public-ws-url`, else this host's."""
        return self.public_ws_url or f"ws://{self.public_host}:{self.ws_port}/{api_gateway_stage}"

    def websocket_endpoint(self, api_gateway_stage: str) -> str:
        """The `@connections` endpoint the app posts to (boto3 `endpoint_url`)."""
        return f"http://{self.host}:{self.ws_port}/{api_gateway_stage}"

    @property
    def api_url(self) -> str:
        return f"{self.web_origin}/api"

    def oidc_redirect_uris(self) -> list[str]:
        """`--oidc-callback` values as URLs: a path is under the REST API."""
        return [
            f"{self.api_url}{callback}" if callback.startswith("/") else callback
            for callback in self.oidc_callbacks
        ]


def network_address() -> str:
    """This machine's address on its network (the one its default route uses), or
    127.0.0.1 without a network. A UDP "connect" sends nothing; it only picks the route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never a real peer
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"
