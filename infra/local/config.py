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

    @property
    def web_origin(self) -> str:
        return f"http://{self.host}:{self.port}"
