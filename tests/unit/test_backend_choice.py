"""USERDB_TEST_BACKEND and `make test-localstack`'s fail-fast check (real sockets on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra.local.ports import free_port
from tests.support.backend_choice import backend_args, check


def test_the_tests_choice_stands_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("USERDB_TEST_BACKEND", raising=False)
    assert backend_args("moto") == ["--backend", "moto"]
    monkeypatch.setenv("USERDB_TEST_BACKEND", "dynamodb-local")
    assert backend_args("moto") == ["--backend", "dynamodb-local"]
    monkeypatch.setenv("USERDB_TEST_BACKEND", "endpoint")
    monkeypatch.setenv("USERDB_TEST_ENDPOINT", "http://localhost:4566")
    assert backend_args("moto") == ["--backend", "endpoint", "--endpoint", "http://localhost:4566"]


def test_the_endpoint_backend_without_a_url_is_an_error(monkeypatch):
    monkeypatch.setenv("USERDB_TEST_BACKEND", "endpoint")
    monkeypatch.delenv("USERDB_TEST_ENDPOINT", raising=False)
    with pytest.raises(RuntimeError, match="USERDB_TEST_ENDPOINT"):
        backend_args("moto")


def test_check_fails_fast_when_nothing_listens(capsys):
    assert check(f"http://127.0.0.1:{free_port()}") == 1
    assert "Nothing listens" in capsys.readouterr().err


def _serve(health: dict[str, object] | None) -> Iterator[str]:
    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(health).encode()
            self.send_response(200 if health is not None else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("health", "code"),
    [
        (None, 0),  # any DynamoDB-compatible endpoint that is not LocalStack
        ({"services": {"dynamodb": "running", "dynamodbstreams": "available"}}, 0),
        ({"services": {"dynamodb": "disabled", "dynamodbstreams": "available"}}, 1),
    ],
)
def test_check_reads_localstacks_health_when_it_is_localstack(health, code):
    for url in _serve(health):
        assert check(url) == code
