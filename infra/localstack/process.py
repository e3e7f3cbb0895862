"""One LocalStack runtime as a child process: its settings, its start (healthy, then its
DynamoDB Local started by a first call) and its stop, also from another process."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config

from infra.local.dynamodb_local import DynamoDBLocalUnavailableError, die_with_parent
from infra.localstack.filesystem import place_from_this_machine
from infra.localstack.install import Installation
from infra.localstack.processes import MAIN_MODULE, stop_pid, tree_rss_bytes

SERVICES = ("dynamodb", "dynamodbstreams", "cloudformation", "iam", "sts")
_RUNNING = ("available", "running")
# LocalStack accepts any credentials; these keep boto3 from looking for real ones.
ANY_KEY = "localstack"


class LocalStackStartError(SystemExit):
    """LocalStack could not be started; the message says why (and where its log is)."""


def settings(host: str, port: int, filesystem_root: Path) -> dict[str, str]:
    """LocalStack's environment for host mode on this machine, each setting for a reason."""
    return {
        "GATEWAY_LISTEN": f"{host}:{port}",
        "SERVICES": ",".join(SERVICES),
        # One in-memory database whatever the credentials and region (DynamoDB Local's
        # -sharedDb), as with the dynamodb-local backend; nothing is kept between runs.
        "DYNAMODB_SHARE_DB": "1",
        "DYNAMODB_IN_MEMORY": "1",
        "PERSISTENCE": "0",
        # No DNS server (it would bind port 53 on every interface), no certificate
        # download, no analytics events: nothing leaves the machine.
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        # These machines look like containers to LocalStack; it runs on the host here.
        "OVERRIDE_IN_DOCKER": "0",
        # The default (twisted) server binds 0.0.0.0 whatever GATEWAY_LISTEN says.
        "GATEWAY_SERVER": "hypercorn",
        # The default streams provider fetches a Kinesis mock from npm at run time, listens
        # on 0.0.0.0 and lost the first record; v2 reads DynamoDB Local's own streams.
        "PROVIDER_OVERRIDE_DYNAMODBSTREAMS": "v2",
        "FILESYSTEM_ROOT": str(filesystem_root),
    }


def health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """LocalStack's own health report, or None when nothing (or not LocalStack) answers."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=timeout) as reply:  # noqa: S310 - loopback
            report = json.load(reply)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return report if isinstance(report, dict) else None


def serves_dynamodb(report: dict[str, Any] | None) -> bool:
    services = (report or {}).get("services", {})
    return all(services.get(name) in _RUNNING for name in ("dynamodb", "dynamodbstreams"))


def dynamodb_client(url: str) -> Any:
    """boto3's DynamoDB client on LocalStack (any credentials; one try, short timeouts)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ANY_KEY,
        aws_secret_access_key=ANY_KEY,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=60),
    )


@dataclass(frozen=True)
class StartReport:
    """How a start went: seconds to a healthy gateway and to a first DynamoDB answer."""

    url: str
    pid: int
    healthy_s: float
    dynamodb_ready_s: float
    log: Path


class LocalStackProcess:
    """LocalStack on `host:port`, its files under `filesystem_root`, its output in `log`.

    `tied`: it stops when the process that started it dies (tests, `run`); otherwise it
    runs on in the background until `stop_pid` (`make localstack-stop`).
    """

    def __init__(
        self,
        installation: Installation,
        *,
        host: str,
        port: int,
        filesystem_root: Path,
        log: Path,
        tied: bool = True,
    ) -> None:
        self.installation = installation
        self.host, self.port = host, port
        self.filesystem_root, self.log, self.tied = filesystem_root, log, tied
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 120.0) -> StartReport:
        """Start, wait until healthy and until its DynamoDB answers a first ListTables."""
        try:
            place_from_this_machine(self.filesystem_root)
        except DynamoDBLocalUnavailableError as error:
            raise LocalStackStartError(
                f"LocalStack's DynamoDB is DynamoDB Local: {error}"
            ) from None
        self.log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log.open("wb") as output:
            self._process = self._spawn(output)
        deadline = started + timeout
        try:
            self._wait(lambda: serves_dynamodb(health(self.url)), deadline, "a healthy gateway")
            healthy_s = time.monotonic() - started
            # DynamoDB Local's JVM starts on the first DynamoDB request: make that now.
            self._wait(self._dynamodb_answers, deadline, "DynamoDB's first answer")
        except BaseException:  # a failed or interrupted start leaves nothing running
            self.stop()
            raise
        assert self._process is not None
        return StartReport(
            self.url, self._process.pid, healthy_s, time.monotonic() - started, self.log
        )

    def _spawn(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - the venv's python, fixed arguments
            [str(self.installation.python), "-m", MAIN_MODULE],
            env={**os.environ, **settings(self.host, self.port, self.filesystem_root)},
            cwd=self.filesystem_root,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own process group: Ctrl-C in the terminal reaches the caller, which stops
            # LocalStack (and with it DynamoDB Local's JVM) in order.
            start_new_session=True,
            preexec_fn=die_with_parent if self.tied else None,  # noqa: PLW1509 - only prctl
        )

    def _dynamodb_answers(self) -> bool:
        try:
            dynamodb_client(self.url).list_tables(Limit=1)
        except Exception:  # not ready yet, whatever the error
            return False
        return True

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while not ready():
            assert self._process is not None
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise LocalStackStartError(
                    f"LocalStack exited at start (code {code}):\n{tail(self.log)}\n"
                    f"(whole log: {self.log})"
                )
            if time.monotonic() > deadline:
                raise LocalStackStartError(
                    f"LocalStack gave no {what} in time on {self.url}:\n{tail(self.log)}\n"
                    f"(whole log: {self.log})"
                )
            time.sleep(0.1)

    def memory_bytes(self) -> int:
        """What it holds in memory now, its DynamoDB Local included (0 when not running)."""
        return tree_rss_bytes(self._process.pid) if self._process else 0

    def stop(self, timeout: float = 20.0) -> None:
        """Stop it (SIGTERM: LocalStack stops DynamoDB Local first), SIGKILL if it hangs."""
        process, self._process = self._process, None
        if process is not None:
            stop_pid(process.pid, timeout, reap=process.wait)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
