"""`python -m infra.local up` as a subprocess on free ports, for integration tests and benches.

Tests and benchmarks drive it from outside, as a user would: HTTP, websocket-client,
boto3 (`dynamodb` on --ddb-port, `lambda` on the REST port, `apigatewaymanagementapi`
on the WebSocket port) and the fault-injection endpoint (`/@faults`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config

from infra.local.config import PROJECT_DIR
from infra.local.dynamodb_local import die_with_parent, find_install, find_java
from infra.local.ports import free_port
from infra.local.request_signing import LOCAL_KEY, signed_headers
from infra.template import main as write_template

READY_LINE = "local runtime up in"
STAGE = "local"
OIDC_CALLBACK = "/auth/oauth/oidc/callback"


def userdb_args(runtime_args: list[str], directory: Path) -> list[str]:
    """What `make run` adds for this project: the template of the stage (and `--env`
    overrides) among `runtime_args`, written into `directory`, and the OIDC callback."""
    template = directory / "template.json"
    if write_template(["--local-runtime", "-o", str(template), *runtime_args]) != 0:
        raise RuntimeError(f"python -m infra.template failed for {runtime_args}")
    return ["--template", str(template), "--oidc-callback", OIDC_CALLBACK]


T = TypeVar("T")


def dynamodb_local_missing() -> str | None:
    """Why DynamoDB Local cannot run here, or None if it can."""
    try:
        find_java()
        find_install()
    except SystemExit as error:
        return str(error)
    return None


def require_dynamodb_local() -> None:
    """Skip the test without Java 17+ and the jar; fail instead in CI, where both must be."""
    missing = dynamodb_local_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"DynamoDB Local must run in CI: {missing}")
        pytest.skip(f"DynamoDB Local unavailable: {missing}")


def wait_for(probe: Callable[[], T | None], timeout_s: float = 15, what: str = "it") -> T:
    """Poll `probe` until it returns something truthy (bounded: never hangs a test run)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s} s for {what}")
        time.sleep(0.05)


class RuntimeProcess:
    """One runtime process; `start()` returns once `GET /api/health` answers 200.

    Without `data_dir` the runtime gets a temporary one, removed by `stop()`.
    """

    def __init__(
        self,
        app_dir: Path = PROJECT_DIR,
        data_dir: Path | None = None,
        backend: str = "dynamodb-local",
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.app_dir, self.backend = app_dir, backend
        self._own_data_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="userdb-runtime-"))
        self.args = args or []
        self.env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.port = self.ws_port = self.ddb_port = 0
        self.started_in_s = 0.0
        self._pump_thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------------------

    def start(
        self, timeout: float = 60.0, ports: tuple[int, int, int] | None = None
    ) -> RuntimeProcess:
        """Start on free ports, or on `ports` (REST, WebSocket, DynamoDB) when given."""
        self.port, self.ws_port, self.ddb_port = ports or (free_port(), free_port(), free_port())
        userdb = userdb_args(self.args, self.data_dir) if self.app_dir == PROJECT_DIR else []
        command = [
            sys.executable, "-m", "infra.local", "up",
            "--backend", self.backend,
            "--port", str(self.port),
            "--ws-port", str(self.ws_port),
            "--ddb-port", str(self.ddb_port),
            "--data-dir", str(self.data_dir),
            "--app-dir", str(self.app_dir),
            *userdb,
            *self.args,
        ]  # fmt: skip
        self.output = []
        started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            # A runtime left by a failed test stops (gracefully) when the test process exits.
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, before exec
        )
        ready = threading.Event()
        self._pump_thread = threading.Thread(target=self._pump, args=(ready,), daemon=True)
        self._pump_thread.start()
        if not ready.wait(timeout) or not self._healthy(started + timeout):
            self.stop()
            raise RuntimeError("runtime did not start:\n" + self.output_text())
        self.started_in_s = time.monotonic() - started
        return self

    def _healthy(self, deadline: float) -> bool:
        """The ready line comes just before the gateways bind: wait for `/api/health` too."""
        while self.process is not None and self.process.poll() is None:
            try:
                if self.get_json("/health")[0] == 200:
                    return True
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return False

    def _pump(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if READY_LINE in line:
                ready.set()
        ready.set()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """Direct child processes (the DynamoDB Local JVM)."""
        found: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            found.extend(int(pid) for pid in text)
        return found

    def restart(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> RuntimeProcess:
        """Stop (SIGTERM: gracefully, SIGKILL: a crash) and start again on the same ports and
        data dir, as a user restarting `make run` would; clients find it where it was."""
        ports, earlier = (self.port, self.ws_port, self.ddb_port), self.output
        self._end_process(sig, timeout)
        self.start(timeout, ports)
        self.output[:0] = earlier  # app_logs() and output_text() span every run
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Stop the runtime (SIGTERM: gracefully); its exit code, None if it was not running."""
        code = self._end_process(sig, timeout)
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return code

    def _end_process(self, sig: int, timeout: float) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=5)
        return process.returncode

    def output_text(self) -> str:
        """Everything the runtime printed so far (stdout and stderr)."""
        return "".join(self.output)

    def app_logs(self, message: str) -> list[dict[str, Any]]:
        """The app's JSON log records (Powertools' lines) whose message is `message`."""
        found = []
        for line in list(self.output):
            if line.startswith("{") and f'"message":"{message}"' in line:
                record = json.loads(line)
                if record.get("message") == message:
                    found.append(record)
        return found

    # -- clients --------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def ws_url(self, path: str = f"/{STAGE}", **query: str) -> str:
        suffix = f"?{urlencode(query)}" if query else ""
        return f"ws://127.0.0.1:{self.ws_port}{path}{suffix}"

    def client(self, service: str) -> Any:
        """boto3 for "dynamodb" (the front on --ddb-port) or "lambda" (the REST port)."""
        port = self.ddb_port if service == "dynamodb" else self.port
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )

    def management(self, stage: str | None = STAGE, config: Config | None = None) -> Any:
        """boto3's `apigatewaymanagementapi` client, as an app would make it (signing with
        the runtime's local credentials, which it requires)."""
        endpoint = f"http://127.0.0.1:{self.ws_port}" + (f"/{stage}" if stage else "")
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=LOCAL_KEY.access_key,
            aws_secret_access_key=LOCAL_KEY.secret_key,
            config=config,
        )

    def get_json(self, path: str) -> tuple[int, Any]:
        """GET a REST path (under /api); its status and JSON body."""
        return _json_call("GET", self.api_url + path)

    def faults(self, method: str = "GET", plan: dict[str, Any] | None = None) -> Any:
        """The runtime's fault injection (`/@faults` on the WebSocket port): GET, PUT, DELETE,
        signed with the runtime's local credentials."""
        url = f"http://127.0.0.1:{self.ws_port}/@faults"
        status, body = _json_call(method, url, plan, signed=True)
        if status >= 300:
            raise AssertionError(f"{method} /@faults answered {status}: {body}")
        return body


def _json_call(method: str, url: str, body: Any = None, *, signed: bool = False) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    request.add_header("Content-Type", "application/json")
    if signed:
        for name, value in signed_headers(method, url, data or b"").items():
            request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Recorder:
    """The JSON lines the test app's handlers append, one per invocation."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def invocations(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 20.0,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.invocations()
            if predicate(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; recorded so far: {json.dumps(found)[:3000]}")
            time.sleep(0.02)
