"""What the runtime was asked to run, from its command line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
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

    @property
    def web_origin(self) -> str:
        return f"http://{self.host}:{self.port}"

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
