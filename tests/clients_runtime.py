"""`python -m infra.local up` as a subprocess on free ports, for the clients' tests.

Tests that need a part the runtime does not serve yet (the notes API, the
WebSocket gateway) skip with the reason; they run as soon as it does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websocket

from infra.local.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0


@dataclass
class LocalStack:
    base_url: str  # the web client and, under /api, the REST API
    ws_url: str
    ws_port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """One JSON call to the REST API; returns (status, parsed body)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw) if raw else None
            except ValueError:
                return error.code, None

    def signup(self, name: str = "Test") -> dict[str, Any]:
        email = f"{name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
        status, body = self.call(
            "POST",
            "/auth/signup",
            {"email": email, "password": "correct horse battery", "name": name},
        )
        assert status == 201, body
        return {"email": email, "password": "correct horse battery", **body}

    def serves_notes(self) -> bool:
        """True once `/notes` is a route (401 without a session; the gateway says 403 otherwise)."""
        status, _ = self.call("GET", "/notes")
        return bool(status == 401)

    def serves_realtime(self) -> bool:
        """True once the WebSocket gateway answers (a bad token is refused with 401)."""
        url = f"{self.ws_url}?token=invalid&clientId={uuid.uuid4()}"
        try:
            websocket.create_connection(url, timeout=3).close()
        except websocket.WebSocketBadStatusException as error:
            return bool(error.status_code in (401, 403))
        except (OSError, websocket.WebSocketException):
            return False
        return False

    def require_notes(self) -> None:
        if not self.serves_notes():
            pytest.skip("the local runtime does not serve /api/notes yet (issue 3 not on main)")

    def require_realtime(self) -> None:
        self.require_notes()
        if not self.serves_realtime():
            pytest.skip(
                "the local runtime does not serve the WebSocket gateway with the realtime "
                "routes yet (issues 4 and 5 not on main)"
            )


def _wait_healthy(stack: LocalStack) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"the local runtime exited:\n{stack.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{stack.api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the local runtime did not start:\n{stack.log.read_text()[-3000:]}")


def start_stack(folder: Path, backend: str = "moto") -> LocalStack:
    """Start the whole local stack on free ports; waits until /api/health answers."""
    port, ws_port, ddb_port = free_port(), free_port(), free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "runtime.log"
    command = [
        sys.executable, "-m", "infra.local", "up",
        "--backend", backend,
        "--port", str(port),
        "--ws-port", str(ws_port),
        "--ddb-port", str(ddb_port),
        "--data-dir", str(folder / "data"),
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
    stack = LocalStack(
        f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{ws_port}/", ws_port, process, log
    )
    try:
        _wait_healthy(stack)
    except BaseException:
        stop_stack(stack)
        raise
    return stack


def stop_stack(stack: LocalStack) -> None:
    """SIGTERM (the runtime stops every part), then kill if it hangs."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGTERM)
        try:
            stack.process.wait(15)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait(5)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    yield stack
    stop_stack(stack)
