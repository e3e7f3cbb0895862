"""`python -m infra.local up` as a subprocess on free ports, for integration tests and benches."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from infra.local.config import PROJECT_DIR
from infra.local.dynamodb_local import die_with_parent, find_install, find_java
from infra.local.ports import free_port

READY_LINE = "local runtime up in"


def dynamodb_local_missing() -> str | None:
    """Why DynamoDB Local cannot run here, or None if it can."""
    try:
        find_java()
        find_install()
    except SystemExit as error:
        return str(error)
    return None


class RuntimeProcess:
    """One runtime process; `start()` returns once it printed that it is up."""

    def __init__(
        self,
        app_dir: Path,
        data_dir: Path,
        backend: str = "dynamodb-local",
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.app_dir, self.data_dir, self.backend = app_dir, data_dir, backend
        self.args = args or []
        self.env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.port = self.ws_port = self.ddb_port = 0

    def start(self, timeout: float = 60.0) -> RuntimeProcess:
        self.port, self.ws_port, self.ddb_port = free_port(), free_port(), free_port()
        command = [
            sys.executable, "-m", "infra.local", "up",
            "--backend", self.backend,
            "--port", str(self.port),
            "--ws-port", str(self.ws_port),
            "--ddb-port", str(self.ddb_port),
            "--data-dir", str(self.data_dir),
            "--app-dir", str(self.app_dir),
            *self.args,
        ]  # fmt: skip
        self.output = []
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env={**os.environ, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # A runtime left by a failed test stops (gracefully) when the test process exits.
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, before exec
        )
        ready = threading.Event()
        threading.Thread(target=self._pump, args=(ready,), daemon=True).start()
        deadline = time.monotonic() + timeout
        if not ready.wait(timeout) or not self._listening(deadline):
            self.stop()
            raise RuntimeError("runtime did not start:\n" + "".join(self.output))
        return self

    def _listening(self, deadline: float) -> bool:
        """The ready line comes just before the gateways bind: wait for the REST port too."""
        while self.process is not None and self.process.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
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

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
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
        return process.returncode

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
