"""Integration fixtures: the local runtime started as a process, on free ports.

Each fixture is named after the app and options it runs, so fixtures for other
parts of the runtime can live beside these.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients_runtime import local_stack  # noqa: F401 - the project's whole stack
from tests.integration.runtime_process import WS_ECHO_APP, RuntimeProcess, start_runtime


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
