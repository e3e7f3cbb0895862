"""LocalStack for the tests marked `localstack` (docs/localstack.md), and their pass.

The session fixture `localstack_dynamodb` (LocalStack's DynamoDB and Streams) uses the
LocalStack the suite is already pointed at (`make test-localstack`:
USERDB_TEST_BACKEND=endpoint), else starts its own on a free port from the install `make
localstack-install` made, and stops it after the session. It skips when LocalStack is not
installed or cannot start, and fails instead when CI=true.

The marked tests run last, together: LocalStack (about 600 MB with its DynamoDB Local) is
up only for them, and the summary reports them as one pass with its time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.ports import free_port
from infra.localstack.install import CACHE_DIR, installed
from infra.localstack.process import (
    ANY_KEY,
    LocalStackProcess,
    LocalStackStartError,
    StartReport,
    health,
    serves_dynamodb,
)
from tests.support.backend_choice import BACKEND_VARIABLE, ENDPOINT_VARIABLE

MARKER = "localstack"
# The log of the LocalStack a session started (its files go with it; the log stays).
SESSION_LOG = CACHE_DIR / "pytest-session.log"


@dataclass(frozen=True)
class LocalStackDynamoDB:
    endpoint: str
    description: str
    pid: int | None = None  # when this session started it
    region: str = "us-east-1"

    def client(self, service: str = "dynamodb") -> Any:
        """A boto3 client of `service` on this LocalStack."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=ANY_KEY,
            aws_secret_access_key=ANY_KEY,
        )


@dataclass
class LocalStackPass:
    """What the summary says about the marked tests."""

    test_ids: set[str] = field(default_factory=set)
    outcomes: dict[str, int] = field(default_factory=dict)
    first_start: float | None = None
    last_end: float | None = None
    started: StartReport | None = None
    memory_at_end: int = 0
    description: str = ""

    def record(self, report: pytest.TestReport) -> None:
        self.first_start = self.first_start or report.start
        self.last_end = report.stop
        if report.when == "call" or report.outcome != "passed":
            outcome = "error" if report.when != "call" and report.failed else report.outcome
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def lines(self) -> list[str]:
        if not self.outcomes:
            return []
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.outcomes.items()))
        wall = (self.last_end or 0) - (self.first_start or 0)
        about = f" ({self.description})" if self.description else ""
        lines = [f"LocalStack pass: {counts} in {wall:.1f} s{about}"]
        if self.started:
            lines.append(
                f"  LocalStack healthy in {self.started.healthy_s:.1f} s, DynamoDB answering "
                f"in {self.started.dynamodb_ready_s:.1f} s, {self.memory_at_end / 2**20:.0f} MB "
                f"at the end (its JVM included); log: {self.started.log}"
            )
        return lines


_PASS = LocalStackPass()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"LocalStack must run in CI: {reason}")
    pytest.skip(f"LocalStack unavailable: {reason}")


def _suite_endpoint() -> str | None:
    """The LocalStack `make test-localstack` points the whole suite at, if that is one."""
    url = os.environ.get(ENDPOINT_VARIABLE)
    if os.environ.get(BACKEND_VARIABLE) == "endpoint" and url:
        report = health(url)
        if serves_dynamodb(report):
            return url
    return None


@pytest.fixture(scope="session")
def localstack_dynamodb() -> Iterator[LocalStackDynamoDB]:
    shared = _suite_endpoint()
    if shared:
        _PASS.description = f"the LocalStack on {shared} the suite runs on"
        yield LocalStackDynamoDB(shared, _PASS.description)
        return
    installation = installed()
    if installation is None:
        _unavailable("not installed (make localstack-install)")
        return
    root = Path(tempfile.mkdtemp(prefix="userdb-localstack-"))
    process = LocalStackProcess(
        installation, host="127.0.0.1", port=free_port(), filesystem_root=root, log=SESSION_LOG
    )
    try:
        _PASS.started = process.start()
    except LocalStackStartError as error:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(str(error))
        return
    _PASS.description = f"{installation.describe()}, started for these tests"
    try:
        yield LocalStackDynamoDB(process.url, _PASS.description, _PASS.started.pid)
    finally:
        _PASS.memory_at_end = process.memory_bytes()
        process.stop()
        shutil.rmtree(root, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The marked tests last, in their order: LocalStack starts at the first of them."""
    marked = [item for item in items if item.get_closest_marker(MARKER)]
    _PASS.test_ids = {item.nodeid for item in marked}
    if marked:
        items[:] = [item for item in items if not item.get_closest_marker(MARKER)] + marked


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # By node id: a report's keywords also hold folder names, such as a clone's.
    if report.nodeid in _PASS.test_ids:
        _PASS.record(report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = _PASS.lines()
    if lines:
        terminalreporter.section("LocalStack", sep="-")
        for line in lines:
            terminalreporter.write_line(line)
