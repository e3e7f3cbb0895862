"""DynamoDB backends the runtime can start or point at.

The runtime owns the first two and runs them on an internal port; the DynamoDB
front (dynamodb_front.py) listens on --ddb-port and passes every request to them.
LocalStack keeps its own port (4566 unless --endpoint says otherwise).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from infra.local.config import BackendKind, RuntimeConfig
from infra.local.dynamodb_local import DynamoDBLocalProcess

if TYPE_CHECKING:
    from infra.localstack.process import LocalStackProcess

log = logging.getLogger("userdb.local.localstack")


class Backend(Protocol):
    """A DynamoDB (and DynamoDB Streams) endpoint the app and the runtime talk to."""

    name: str
    # Whether tables outlive the runtime (so must event source mapping checkpoints).
    persistent: bool
    # Whether it may be sent concurrent requests (moto's server may not: the runtime
    # passes its requests one at a time).
    concurrent: bool
    # Whether other programs (other runtimes, tests) may keep tables there too: the
    # runtime then applies TTL only to the tables it has seen written through its front.
    shared: bool

    def start(self) -> str:
        """Start (if the runtime owns it) and return the endpoint URL."""
        ...

    def stop(self) -> None: ...


class DynamoDBLocalBackend:
    """AWS's DynamoDB Local under Java 17+, its data in `<data-dir>/dynamodb`."""

    name = "dynamodb-local"
    persistent = True
    concurrent = True
    shared = False

    def __init__(self, host: str, port: int, data_dir: Path) -> None:
        self.process = DynamoDBLocalProcess(host, port, data_dir / "dynamodb")

    def start(self) -> str:
        return self.process.start()

    def stop(self) -> None:
        self.process.stop()


class MotoBackend:
    """moto's threaded server in this process: in-memory, no Java."""

    name = "moto"
    persistent = False
    # Its TransactWriteItems deep-copies tables that concurrent writes change ("dictionary
    # changed size during iteration": 500s), and conditional writes race.
    concurrent = False
    shared = False

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._server: object | None = None

    def start(self) -> str:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy, only when chosen

        # Its HTTP server logs every request; the front already sees them all.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
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
    persistent = False
    concurrent = True
    shared = True

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")

    def start(self) -> str:
        return self._url

    def stop(self) -> None:
        pass


class LocalStackBackend:
    """LocalStack's DynamoDB and Streams (docs/localstack.md): the LocalStack answering on
    the URL, else one started there (without Docker) and stopped with the runtime."""

    name = "localstack"
    persistent = False  # in memory, like LocalStack's default
    concurrent = True
    shared = True

    def __init__(self, url: str | None) -> None:
        from infra.localstack.service import DEFAULT_URL  # noqa: PLC0415 - only when chosen

        self._url = (url or DEFAULT_URL).rstrip("/")
        self._process: LocalStackProcess | None = None

    def start(self) -> str:
        from infra.localstack.service import already_there, describe, own_process  # noqa: PLC0415

        if not already_there(self._url):
            self._process = own_process(self._url, tied=True)
            log.info(describe(self._process, self._process.start()))
        return self._url

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None


def make_backend(config: RuntimeConfig, internal_port: int) -> Backend:
    """The backend `config` asks for; owned backends listen on `internal_port`."""
    if config.backend is BackendKind.MOTO:
        return MotoBackend(config.host, internal_port)
    if config.backend is BackendKind.LOCALSTACK:
        return LocalStackBackend(config.endpoint)
    if config.backend is BackendKind.ENDPOINT:
        if not config.endpoint:
            raise SystemExit("--backend endpoint needs --endpoint URL")
        if not config.endpoint.startswith("http://"):
            raise SystemExit(
                "--endpoint must be an http:// URL (the runtime fronts it on --ddb-port)"
            )
        return EndpointBackend(config.endpoint)
    return DynamoDBLocalBackend(config.host, internal_port, config.data_dir)
