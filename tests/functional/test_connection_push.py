"""ConnectionPush against an HTTP endpoint that answers as API Gateway's @connections does.

The endpoint is a small scripted HTTP server (statuses and `x-amzn-ErrorType` as the
management API sends them), because the point is what our client does on the wire: how
many requests each outcome costs and whose backoff runs. The local runtime's own
`@connections` (with injected faults) is covered by tests/integration/test_realtime_faults.py.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from chalicelib.dal.connection_push import ConnectionGoneError, ConnectionPush, PushFailedError

ERROR_TYPES = {410: "GoneException", 429: "LimitExceededException", 400: "BadRequestException"}


class ScriptedConnections(http.server.ThreadingHTTPServer):
    """Answers each POST with the next status of `script` (200 once it runs out)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[int] = []
        self.posts: list[bytes] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stall_s = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/local"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: ScriptedConnections

    def do_POST(self) -> None:
        self.server.posts.append(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.server.requests.append((self.path, dict(self.headers.items())))
        time.sleep(self.server.stall_s)
        status = self.server.script.pop(0) if self.server.script else 200
        body = b"" if status == 200 else b'{"message": "scripted"}'
        self.send_response(status)
        if status != 200:
            self.send_header("x-amzn-ErrorType", ERROR_TYPES[status])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def connections() -> Iterator[ScriptedConnections]:
    server = ScriptedConnections()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def push(connections: ScriptedConnections, pauses: list[float]) -> ConnectionPush:
    return ConnectionPush(connections.endpoint, "us-east-1", sleep=pauses.append)


def test_throttling_is_retried_with_our_backoff_until_delivered(connections, push, pauses):
    # Given an endpoint that throttles three times
    connections.script = [429, 429, 429]
    # When a message is posted / Then it is delivered by the fourth request
    push.post("c1", b"hello")
    assert connections.posts == [b"hello"] * 4
    # And the waits between them were ours, growing (botocore added none of its own)
    assert len(pauses) == 3
    assert pauses[0] < 0.1 and pauses[2] > pauses[0]


def test_throttling_past_the_attempts_fails_the_push_after_exactly_four_requests(
    connections, push, pauses
):
    connections.script = [429] * 6
    with pytest.raises(PushFailedError, match="LimitExceededException"):
        push.post("c1", b"hello")
    assert len(connections.posts) == 4 and len(pauses) == 3


def test_gone_is_reported_at_once(connections, push, pauses):
    connections.script = [410]
    with pytest.raises(ConnectionGoneError):
        push.post("c1", b"hello")
    assert len(connections.posts) == 1 and pauses == []


def test_an_error_that_retrying_cannot_fix_fails_at_once(connections, push, pauses):
    connections.script = [400]
    with pytest.raises(PushFailedError, match="BadRequestException"):
        push.post("c1", b"hello")
    assert len(connections.posts) == 1 and pauses == []


def test_a_post_is_signed_for_execute_api_and_names_the_connection_in_its_path(connections, push):
    # When a message is posted to a connection id with characters a path must escape
    push.post("Ab3dE5fG7hI=", b"hello")
    # Then it went to the stage's @connections path, SigV4-signed for execute-api
    [(path, headers)] = connections.requests
    assert path == "/local/@connections/Ab3dE5fG7hI%3D"
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/execute-api/aws4_request" in authorization
    assert "X-Amz-Date" in headers


def test_a_post_that_gets_no_answer_in_time_fails_without_waiting_longer(connections):
    # Given an endpoint that answers after 2 s, and the fast path's push: one attempt, 0.3 s
    connections.stall_s = 2.0
    quick = ConnectionPush(connections.endpoint, "us-east-1", attempts=1, read_timeout_s=0.3)
    # When a message is posted / Then it fails as soon as the read times out
    started = time.monotonic()
    with pytest.raises(PushFailedError, match="ReadTimeoutError"):
        quick.post("c1", b"hello")
    assert time.monotonic() - started < 1.5
