"""The SDK's HTTP transport and typed errors, against a real HTTP server with canned replies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import userdb
from infra.local.ports import free_port
from userdb import errors
from userdb.http import HttpTransport, api_root


class Canned:
    """Replies in order; records what was asked."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def http_server() -> Iterator[tuple[str, Canned]]:
    canned = Canned()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            canned.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length) if length else b"",
                }
            )
            status, headers, body = canned.replies.pop(0)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _reply  # noqa: N815 - http.server's names

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", canned
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def server(http_server: tuple[str, Canned]) -> tuple[str, Canned]:
    url, canned = http_server
    canned.replies.clear()
    canned.requests.clear()
    return url, canned


def error_reply(status: int, code: str, **extra: Any) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", **extra.pop("headers", {})}
    body = {"error": {"code": code, "message": f"{code} happened", **extra}}
    return status, headers, json.dumps(body).encode()


def test_api_root_adds_api_only_to_a_bare_server_url():
    assert api_root("http://127.0.0.1:8000") == "http://127.0.0.1:8000/api"
    assert api_root("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/api"
    assert api_root("https://x.execute-api.eu-west-1.amazonaws.com/prod") == (
        "https://x.execute-api.eu-west-1.amazonaws.com/prod"
    )
    assert api_root("https://api.example.com", api_prefix="") == "https://api.example.com"
    with pytest.raises(ValueError, match="http"):
        api_root("ftp://example.com")


def test_a_request_sends_json_and_the_bearer_token(server):
    url, canned = server
    canned.replies.append((200, {"Content-Type": "application/json"}, b'{"ok": true}'))
    reply = HttpTransport(url).request(
        "POST", "/notes", body={"text": "hé"}, token="tok", query={"limit": 5, "cursor": None}
    )
    assert reply.body == {"ok": True}
    sent = canned.requests[0]
    assert sent["path"] == "/notes?limit=5"
    assert sent["headers"]["Authorization"] == "Bearer tok"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert json.loads(sent["body"]) == {"text": "hé"}


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "validation_error", errors.BadRequestError),
        (401, "unauthorized", errors.UnauthorizedError),
        (401, "invalid_credentials", errors.InvalidCredentialsError),
        (403, "origin_mismatch", errors.ForbiddenError),
        (404, "not_found", errors.NotFoundError),
        (409, "email_taken", errors.EmailTakenError),
        (409, "note_exists", errors.ConflictError),
        (412, "version_mismatch", errors.VersionMismatchError),
        (413, "payload_too_large", errors.PayloadTooLargeError),
        (415, "unsupported_media_type", errors.UnsupportedMediaTypeError),
        (429, "too_many_attempts", errors.RateLimitedError),
        (500, "internal_error", errors.ServerError),
        (503, "unavailable", errors.ServiceUnavailableError),
    ],
)
def test_each_error_reply_raises_its_typed_exception(server, status, code, expected):
    url, canned = server
    canned.replies.append(error_reply(status, code))
    with pytest.raises(expected) as raised:
        HttpTransport(url).request("GET", "/x")
    assert raised.value.status == status
    assert raised.value.code == code
    assert raised.value.message == f"{code} happened"


def test_validation_details_and_retry_after_are_kept(server):
    url, canned = server
    canned.replies.append(
        error_reply(400, "validation_error", details=[{"field": "text", "message": "required"}])
    )
    canned.replies.append(error_reply(429, "too_many_attempts", headers={"Retry-After": "42"}))
    transport = HttpTransport(url)
    with pytest.raises(errors.BadRequestError) as bad:
        transport.request("POST", "/notes", body={})
    assert bad.value.details == [{"field": "text", "message": "required"}]
    with pytest.raises(errors.RateLimitedError) as limited:
        transport.request("POST", "/auth/login", body={})
    assert limited.value.retry_after == 42


def test_a_tenant_still_being_created_is_waited_for_as_told(server):
    url, canned = server
    canned.replies.append(error_reply(503, "tenant_provisioning", headers={"Retry-After": "2"}))
    canned.replies.append((200, {"Content-Type": "application/json"}, b'{"notes": []}'))
    pauses: list[float] = []
    reply = HttpTransport(url, sleep=pauses.append).request("GET", "/notes")
    assert reply.body == {"notes": []}
    assert pauses == [2.0]


def test_a_tenant_that_never_becomes_ready_fails_after_the_wait(server):
    url, canned = server
    canned.replies += [error_reply(503, "tenant_provisioning", headers={"Retry-After": "5"})] * 3
    pauses: list[float] = []
    transport = HttpTransport(url, provisioning_wait=9, sleep=pauses.append)
    with pytest.raises(errors.TenantProvisioningError):
        transport.request("GET", "/notes")
    assert pauses == [5.0]


def test_an_answer_that_is_not_the_api_is_a_protocol_error(server):
    url, canned = server
    canned.replies.append((200, {"Content-Type": "text/html"}, b"<html>proxy</html>"))
    canned.replies.append((302, {"Location": "http://elsewhere/"}, b""))
    canned.replies.append((502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>"))
    transport = HttpTransport(url)
    with pytest.raises(errors.ProtocolError, match="did not answer JSON"):
        transport.request("GET", "/notes")
    with pytest.raises(errors.ProtocolError, match="redirected"):
        transport.request("GET", "/notes")
    with pytest.raises(errors.ServerError) as failed:
        transport.request("GET", "/notes")
    assert failed.value.code == "http_502"


def test_an_unreachable_server_is_a_network_error():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(errors.NetworkError, match="cannot reach"):
        HttpTransport(url, timeout=2).request("GET", "/health")


# ---- connect tickets: each live connection asks for one, or uses the token where none ----


def _client(url: str) -> Any:
    return userdb.Client(url, "ws://127.0.0.1:1/local", None, token="the-session-token")


def test_the_socket_url_carries_a_fresh_ticket_not_the_token(server):
    url, canned = server
    for ticket in ("t-1", "t-2"):
        body = json.dumps({"ticket": ticket, "expires": 1}).encode()
        canned.replies.append((201, {"Content-Type": "application/json"}, body))
    client = _client(url)
    first = client._socket_url("the-session-token", "c-1")
    second = client._socket_url("the-session-token", "c-1")
    assert first == "ws://127.0.0.1:1/local?ticket=t-1&clientId=c-1"
    assert second.startswith("ws://127.0.0.1:1/local?ticket=t-2&")
    asked = canned.requests[0]
    assert (asked["method"], asked["path"], asked["body"]) == ("POST", "/api/auth/ws-ticket", b"")
    assert asked["headers"]["Authorization"] == "Bearer the-session-token"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, {"error": {"code": "not_found", "message": "Not found."}}),
        (403, {"message": "Missing Authentication Token"}),  # API Gateway, route unknown
    ],
)
def test_a_server_without_tickets_gets_the_token(server, status, body):
    url, canned = server
    canned.replies.append((status, {"Content-Type": "application/json"}, json.dumps(body).encode()))
    assert _client(url)._socket_url("the-session-token", "c-1") == (
        "ws://127.0.0.1:1/local?token=the-session-token&clientId=c-1"
    )


def test_a_refused_ticket_is_not_answered_with_the_token(server):
    url, canned = server
    body = json.dumps({"error": {"code": "unauthorized", "message": "Sign in."}}).encode()
    canned.replies.append((401, {"Content-Type": "application/json"}, body))
    with pytest.raises(errors.UnauthorizedError):
        _client(url)._socket_url("the-session-token", "c-1")
