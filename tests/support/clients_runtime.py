"""The whole local stack (`python -m infra.local up`, this project's app) for the clients' tests.

Tests that need a part the runtime does not serve yet (the notes API, the
WebSocket gateway) skip with the reason; they run as soon as it does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import websocket

from tests.support.runtime_process import PROJECT_DIR, RuntimeProcess, start_runtime


@dataclass
class LocalStack:
    base_url: str  # the web client and, under /api, the REST API
    ws_url: str
    runtime: RuntimeProcess

    @property
    def ws_port(self) -> int:
        return self.runtime.ws_port

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """One JSON call to the REST API; returns (status, parsed body)."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.api_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
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

    def serves_collections(self) -> bool:
        """True once `/collections` is a route (401 without a session)."""
        status, _ = self.call("GET", "/collections")
        return bool(status == 401)

    def require_collections(self) -> None:
        if not self.serves_collections():
            pytest.skip("the local runtime does not serve /api/collections yet (not on main)")

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


def start_stack(*extra: str) -> LocalStack:
    """The whole local stack with this project's app, on free ports (moto backend),
    with the local OpenID Connect provider offered as "Sign in with"; `extra` flags after."""
    runtime = start_runtime(PROJECT_DIR, "--oidc-test-provider", *extra)
    return LocalStack(
        f"http://127.0.0.1:{runtime.port}", f"ws://127.0.0.1:{runtime.ws_port}/", runtime
    )


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    stack = start_stack()
    yield stack
    stack.runtime.stop()
