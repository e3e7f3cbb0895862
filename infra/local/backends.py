"""DynamoDB backends the runtime can start or point at."""

from __future__ import annotations

from typing import Protocol

from infra.local.config import BackendKind, RuntimeConfig


class Backend(Protocol):
    """A DynamoDB (and DynamoDB Streams) endpoint the app and the runtime talk to."""

    name: str

    def start(self) -> str:
        """Start (if the runtime owns it) and return the endpoint URL."""
        ...

    def stop(self) -> None: ...


class MotoBackend:
    """moto's threaded server in this process: in-memory, no Java."""

    name = "moto"

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._server: object | None = None

    def start(self) -> str:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy, only when chosen

        server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        server.start()
        self._server = server
        return f"http://{self._host}:{self._port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None


class EndpointBackend:
    """Any DynamoDB-compatible URL the user runs themselves (e.g. LocalStack)."""

    name = "endpoint"

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")

    def start(self) -> str:
        return self._url

    def stop(self) -> None:
        pass


def make_backend(config: RuntimeConfig) -> Backend:
    if config.backend is BackendKind.MOTO:
        return MotoBackend(config.host, config.ddb_port)
    if config.backend is BackendKind.ENDPOINT:
        if not config.endpoint:
            raise SystemExit("--backend endpoint needs --endpoint URL")
        return EndpointBackend(config.endpoint)
    raise SystemExit("The dynamodb-local backend is not available yet; run with --backend moto.")
