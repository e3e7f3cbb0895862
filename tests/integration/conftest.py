"""Integration fixtures: the local runtime started as a process, on free ports.

Each fixture is named after the app and options it runs, so fixtures for other
parts of the runtime can live beside these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.config import PROJECT_DIR
from tests.support.backend_choice import backend_args
from tests.support.clients_runtime import local_stack  # noqa: F401 - the project's whole stack
from tests.support.local_runtime import require_dynamodb_local
from tests.support.runtime_process import WS_ECHO_APP, RuntimeProcess, start_runtime


@pytest.fixture(scope="session")
def ws_echo_runtime() -> Iterator[RuntimeProcess]:
    """The ws_echo test app under the runtime with API Gateway's default limits."""
    runtime = start_runtime()
    yield runtime
    runtime.stop()


@pytest.fixture(scope="module")
def ws_echo_runtime_short_timeouts() -> Iterator[RuntimeProcess]:
    """ws_echo with a 1 s idle timeout and a 4 s maximum lifetime."""
    runtime = start_runtime(WS_ECHO_APP, "--ws-idle-timeout", "1", "--ws-max-lifetime", "4")
    yield runtime
    runtime.stop()


def _userdb_runtime(backend: str, endpoint: list[str]) -> Iterator[RuntimeProcess]:
    runtime = RuntimeProcess(
        PROJECT_DIR, backend=backend, args=[*endpoint, "--ttl-interval", "1"]
    ).start()
    yield runtime
    died = runtime.process is not None and runtime.process.poll() is not None
    runtime.stop()
    if died:  # say why, or every later test only reports "connection refused"
        print("the userdb runtime exited early:\n" + runtime.output_text()[-5000:])


@pytest.fixture(scope="session")
def userdb_runtime() -> Iterator[RuntimeProcess]:
    """This project's app on DynamoDB Local (or USERDB_TEST_BACKEND's choice: LocalStack
    under `make test-localstack`), silo mode, the default stream interval, with the TTL
    sweeper every second."""
    _, backend, *endpoint = backend_args("dynamodb-local")
    if backend == "dynamodb-local":
        require_dynamodb_local()
    yield from _userdb_runtime(backend, endpoint)


@pytest.fixture(scope="session")
def userdb_runtime_on_localstack(localstack_dynamodb: Any) -> Iterator[RuntimeProcess]:
    """`userdb_runtime`, its runtime fronting LocalStack's DynamoDB and Streams."""
    yield from _userdb_runtime("endpoint", ["--endpoint", localstack_dynamodb.endpoint])


@pytest.fixture
def faults(userdb_runtime: RuntimeProcess) -> Iterator[RuntimeProcess]:
    """The userdb runtime, its fault plan cleared after the test."""
    yield userdb_runtime
    userdb_runtime.faults("DELETE")
