"""The REST gateway without sockets: Lambda failures as 502, health held until ready."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import unquote

import pytest
from chalice.app import Chalice
from chalice.config import Config

from infra.local.app_loader import LoadedApp
from infra.local.lambda_runtime import LambdaFunction, LambdaRuntime
from infra.local.rest_events import RestApiInfo
from infra.local.rest_gateway import (
    IntegrationFailedError,
    RestGateway,
    build_rest_app,
)
from infra.local.web_client import WebClientConfig

HEADERS = {"host": "127.0.0.1:8000", "x-forwarded-for": "127.0.0.1"}


def loaded_app(timeout_s: float = 5.0) -> tuple[LoadedApp, LambdaRuntime, list[Any]]:
    app = Chalice(app_name="shop")
    seen: list[Any] = []

    @app.route("/ok")
    def ok() -> dict[str, Any]:
        request = app.current_request
        assert request is not None
        seen.append((request.context, request.lambda_context))
        return {"ok": True}

    @app.route("/slow")
    def slow() -> dict[str, Any]:
        time.sleep(0.05)
        return {}

    config = Config.create(
        chalice_stage="dev", app_name="shop", api_gateway_stage="api", lambda_memory_size=128
    )
    lambdas = LambdaRuntime()
    lambdas.add(LambdaFunction("shop-dev", app, memory_mb=128, timeout_s=timeout_s))
    return LoadedApp(app=app, config=config), lambdas, seen


def test_a_route_runs_as_the_rest_function_with_api_gateways_context():
    loaded, lambdas, seen = loaded_app()
    gateway = RestGateway(loaded, lambdas, RestApiInfo("abcde12345", "api"))
    # When a request goes through the gateway
    result = gateway.handle_request("GET", "/ok", dict(HEADERS), None)
    # Then the route answered, with API Gateway's request context and our Lambda context
    assert result["statusCode"] == 200
    context, lambda_context = seen[0]
    assert context["stage"] == "api"
    assert context["requestId"]
    assert lambda_context.function_name == "shop-dev"
    assert lambda_context.memory_limit_in_mb == 128


def test_a_function_past_its_timeout_is_a_502():
    # Given the REST function has a 10 ms timeout and the route takes 50 ms
    loaded, lambdas, _ = loaded_app(timeout_s=0.01)
    gateway = RestGateway(loaded, lambdas, RestApiInfo("abcde12345", "api"))
    # Then API Gateway's answer is a 502 "Internal server error"
    with pytest.raises(IntegrationFailedError) as failed:
        gateway.handle_request("GET", "/slow", dict(HEADERS), None)
    assert failed.value.CODE == 502
    assert json.loads(failed.value.body or b"") == {"message": "Internal server error"}
    assert failed.value.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


def asgi_get(
    app: Any,
    path: str,
    raw_path: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, bytes]:
    """One GET through the ASGI app, no server: (status, body); `path` decoded, as ASGI has it."""
    status, _, body = asgi_exchange(app, path, raw_path, headers)
    return status, body


def asgi_headers(app: Any, path: str) -> dict[str, str]:
    """The answer's headers (lower-case names) to one GET through the ASGI app."""
    return asgi_exchange(app, path)[1]


def asgi_exchange(
    app: Any,
    path: str,
    raw_path: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    requested = False
    answered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # The request once; then, as a client does, nothing until the answer is complete.
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": (raw_path or path).encode(),
        "query_string": b"",
        "headers": headers or [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    received = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], received, body


def test_health_waits_for_every_part():
    # Given an app without a /health route, and a runtime still starting
    loaded, lambdas, _ = loaded_app()
    ready = False
    app = build_rest_app(loaded, None, lambdas, is_ready=lambda: ready)
    # Then /api/health says 503 until every part is up, then 200
    status, body = asgi_get(app, "/api/health")
    assert status == 503
    assert json.loads(body)["error"]["code"] == "starting"
    ready = True
    assert asgi_get(app, "/api/health") == (200, b'{"status":"ok"}')


@pytest.mark.parametrize("raw", ["a%0Ab", "a%3Bb", "a%3Fb%23c", "%C3%A9t%C3%A9", "a%0D"])
def test_a_path_parameter_reaches_the_app_decoded_whatever_it_encodes(raw):
    # Given an app with a path parameter (schemathesis found `%0A`, `%0D` and `;` misrouted)
    loaded, lambdas, _ = loaded_app()
    chalice_app: Chalice = loaded.app

    @chalice_app.route("/items/{name}")
    def item(name: str) -> dict[str, Any]:
        request = chalice_app.current_request
        assert request is not None
        return {"name": name, "path": request.context["path"]}

    app = build_rest_app(loaded, None, lambdas)
    # When the parameter carries characters that mean something in a URL
    status, body = asgi_get(app, "/api/items/" + unquote(raw), raw_path=f"/api/items/{raw}")
    # Then the app's route answers with the parameter decoded, as from API Gateway
    assert status == 200
    assert json.loads(body) == {"name": unquote(raw), "path": "/items/" + unquote(raw)}


def test_the_web_page_learns_its_endpoints_from_config_json_not_from_the_host(tmp_path):
    # Given a web client and a runtime configured with its public WebSocket URL
    (tmp_path / "index.html").write_text("<html><head><title>t</title></head></html>")
    loaded, lambdas, _ = loaded_app()
    config = WebClientConfig(api_url="/api", ws_url="ws://192.0.2.7:9123/local")
    app = build_rest_app(loaded, tmp_path, lambdas, web_config=config)
    # When /config.json is fetched with any Host header
    status, body = asgi_get(app, "/config.json", headers=[(b"host", b"evil.example")])
    # Then it says what the runtime was configured with
    assert status == 200
    assert json.loads(body) == {"apiUrl": "/api", "wsUrl": "ws://192.0.2.7:9123/local"}


def test_the_page_is_served_with_its_security_headers(tmp_path):
    (tmp_path / "index.html").write_text("<html><head><title>t</title></head></html>")
    loaded, lambdas, _ = loaded_app()
    config = WebClientConfig(api_url="/api", ws_url="ws://192.0.2.7:9123/local")
    app = build_rest_app(loaded, tmp_path, lambdas, web_config=config)
    headers = asgi_headers(app, "/index.html")
    policy = headers["content-security-policy"]
    assert "connect-src 'self' ws://192.0.2.7:9123;" in policy
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_a_page_asked_for_by_another_name_goes_to_the_one_origin_the_app_trusts(tmp_path):
    # Given a runtime whose page is served at http://127.0.0.1:8000
    (tmp_path / "index.html").write_text("<html><head><title>t</title></head></html>")
    loaded, lambdas, _ = loaded_app()
    config = WebClientConfig("/api", "ws://127.0.0.1:8001/local", origin="http://127.0.0.1:8000")
    app = build_rest_app(loaded, tmp_path, lambdas, web_config=config)
    # When the browser asks for it as localhost
    status, headers, _ = asgi_exchange(app, "/index.html", headers=[(b"host", b"localhost:8000")])
    # Then it is sent to the trusted origin (whose sign-up and login the app accepts)
    assert (status, headers["location"]) == (307, "http://127.0.0.1:8000/index.html")
    # While the page's own name, and the API under any name, answer as they are
    assert asgi_exchange(app, "/index.html")[0] == 200
    api = asgi_exchange(app, "/api/health", headers=[(b"host", b"localhost:8000")])
    assert api[0] == 200
