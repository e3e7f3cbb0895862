"""The local runtime as a user starts it (`python -m infra.local up`), on free ports.

Integration tests and benchmarks drive it from outside with real clients: HTTP,
websocket-client and boto3.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import boto3
import websocket

from infra.local.ports import free_port
from tests.support.backend_choice import backend_args

PROJECT_DIR = Path(__file__).resolve().parents[2]
WS_ECHO_APP = Path(__file__).resolve().parent / "apps" / "ws_echo"
STAGE = "local"

T = TypeVar("T")


@dataclass
class RuntimeProcess:
    process: subprocess.Popen[bytes]
    port: int
    ws_port: int
    ddb_port: int
    log_path: Path
    started_in_s: float = 0.0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def ws_url(self, path: str = f"/{STAGE}", **query: str) -> str:
        suffix = f"?{urlencode(query)}" if query else ""
        return f"ws://127.0.0.1:{self.ws_port}{path}{suffix}"

    def management(self, stage: str | None = STAGE) -> Any:
        """boto3's `apigatewaymanagementapi` client, as an app would make it (any credentials)."""
        endpoint = f"http://127.0.0.1:{self.ws_port}" + (f"/{stage}" if stage else "")
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )

    def get_json(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.api_url + path, timeout=10) as reply:  # noqa: S310 - loopback
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def events(self, connection_id: str) -> list[dict[str, Any]]:
        """The websocket events the ws_echo app recorded for one connection."""
        _, body = self.get_json(f"/events?connectionId={quote(connection_id, safe='')}")
        return list(body["events"])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def start_runtime(
    app_dir: Path = WS_ECHO_APP,
    *extra: str,
    timeout_s: float = 60,
    env: dict[str, str] | None = None,
) -> RuntimeProcess:
    """Start the runtime (moto backend) on free ports; return once `/api/health` says 200."""
    port, ws_port, ddb_port = free_port(), free_port(), free_port()
    log = Path(tempfile.mkstemp(prefix="userdb-runtime-", suffix=".log")[1])
    command = [
        sys.executable, "-m", "infra.local", "up", *backend_args("moto"),
        "--port", str(port), "--ws-port", str(ws_port), "--ddb-port", str(ddb_port),
        "--app-dir", str(app_dir), *extra,
    ]  # fmt: skip
    started = time.monotonic()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    runtime = RuntimeProcess(process, port, ws_port, ddb_port, log)
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the runtime exited ({process.returncode}):\n{runtime.output()}")
        try:
            if runtime.get_json("/health")[0] == 200:
                runtime.started_in_s = time.monotonic() - started
                return runtime
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    runtime.stop()
    raise TimeoutError(f"the runtime was not healthy after {timeout_s} s:\n{runtime.output()}")


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


def connect(runtime: RuntimeProcess, path: str = f"/{STAGE}", **query: str) -> websocket.WebSocket:
    """A websocket-client connection (token=`t` unless given), with a bounded read timeout."""
    query.setdefault("token", "t")
    return websocket.create_connection(runtime.ws_url(path, **query), timeout=10)


def connection_id(ws: websocket.WebSocket) -> str:
    """Ask the ws_echo app who we are (API Gateway cannot post during `$connect`)."""
    ws.send(json.dumps({"action": "whoami"}))
    return str(json.loads(ws.recv())["connectionId"])


def close_frame(ws: websocket.WebSocket) -> tuple[int, str]:
    """Read until the server's close frame; its code and reason."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            if len(data) < 2:
                return 1005, ""
            return struct.unpack("!H", data[:2])[0], data[2:].decode()
