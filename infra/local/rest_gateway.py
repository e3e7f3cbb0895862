"""The REST gateway: HTTP on :8000 -> API Gateway proxy events -> the app's routes.

Chalice's own LocalGateway converts requests to events (routes, CORS preflight,
authorizers); this module completes the events as API Gateway sends them, runs the
REST function through the Lambda emulation (context, REPORT line), adapts it all to
ASGI under the `/api` prefix and serves the web client's files.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from chalice.local import ForbiddenError, LocalGateway, LocalGatewayException
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from infra.local.app_loader import LoadedApp
from infra.local.lambda_runtime import (
    LambdaContext,
    LambdaFunction,
    LambdaRuntime,
    rest_function_name,
)
from infra.local.rest_events import RestApiInfo, forwarded_headers, proxy_event
from infra.local.web_client import (
    CONFIG_PATH,
    CanonicalOrigin,
    SecurityHeaders,
    WebClientConfig,
    security_headers,
)
from infra.local.websocket_gateway.events import local_api_id

API_PREFIX = "/api"
# The web client imports @userdb/client's ES modules from /client/ (no build step).
CLIENT_PATH, CLIENT_SOURCE = "/client", Path("clients", "js", "src")
HEALTH_PATH = "/health"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# API Gateway's answer to an unknown path sent with an Authorization header: it quotes the
# header, credentials and all. Locally the value is left out (logs, screenshots, proxies).
UNKNOWN_PATH_WITH_AUTHORIZATION = (
    "Authorization header requires 'Credential' parameter. Authorization header requires "
    "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
    "Authorization=[not shown by the local runtime]"
)


class _AnyPathConvertor(PathConvertor):
    """Starlette's `path` stops at a decoded newline (`%0A`); API Gateway routes those too."""

    regex = "[\\s\\S]*"


register_url_convertor("api_path", _AnyPathConvertor())


class IntegrationFailedError(LocalGatewayException):
    """The REST function failed or timed out: API Gateway answers 502."""

    CODE = 502

    def __init__(self, request_id: str) -> None:
        super().__init__(
            {
                "Content-Type": "application/json",
                "x-amzn-ErrorType": "InternalServerErrorException",
                "x-amzn-RequestId": request_id,
            },
            b'{"message": "Internal server error"}',
        )


class _RestFunction:
    """The app as LocalGateway calls it, run as the deployed `{app}-{stage}` function."""

    def __init__(self, app: Any, lambdas: LambdaRuntime, function_name: str) -> None:
        self._app = app
        self._lambdas = lambdas
        self._name = function_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> Any:
        invocation = self._lambdas.invoke(self._name, event, context)
        if not invocation.ok:
            raise IntegrationFailedError(event["requestContext"]["requestId"])
        return invocation.result


class RestGateway(LocalGateway):
    """Chalice's LocalGateway with API Gateway's full events and our Lambda context."""

    def __init__(self, loaded: LoadedApp, lambdas: LambdaRuntime, api: RestApiInfo) -> None:
        name = rest_function_name(loaded.app, loaded.config)
        try:
            self._function = lambdas.find(name)
        except LookupError:
            self._function = LambdaFunction(
                name,
                loaded.app,
                int(loaded.config.lambda_memory_size or 128),
                float(loaded.config.lambda_timeout or 60),
            )
            lambdas.add(self._function)
        super().__init__(cast(Any, _RestFunction(loaded.app, lambdas, name)), loaded.config)
        self._api = api

    def handle_request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except ForbiddenError as error:
            if b"Authorization=" not in (error.body or b""):
                raise
            quiet = json.dumps({"message": UNKNOWN_PATH_WITH_AUTHORIZATION}).encode()
            raise ForbiddenError(error.headers, quiet) from None

    def _generate_lambda_context(self) -> Any:
        # Ours, not Chalice's: the same context class every emulated function gets.
        return LambdaContext(self._function)

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        # `path` is as sent (percent-encoded), so `;`, `?`, `#` or a newline inside a
        # parameter cannot split it; the app gets decoded values, as from API Gateway.
        event = super()._generate_lambda_event(method, path, headers, body)
        event["pathParameters"] = {
            name: unquote(value) for name, value in (event.get("pathParameters") or {}).items()
        }
        context = event["requestContext"]
        context["path"] = unquote(context["path"])
        return proxy_event(event, self._api, str(uuid.uuid4()), time.time_ns() // 1_000_000)


def to_starlette_response(result: dict[str, Any]) -> Response:
    """An API Gateway proxy result as an HTTP response."""
    body = result.get("body") or b""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body)
    response = Response(content=body, status_code=int(result["statusCode"]))
    headers = dict(result.get("headers") or {})
    for name, value in headers.items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.append(name, str(value))
    return response


def _starting() -> Response:
    return JSONResponse(
        {"error": {"code": "starting", "message": "The local runtime is still starting."}},
        503,
        headers={"Retry-After": "1"},
    )


class RestApiGateway:
    """HTTP under `/api` -> the REST function, as API Gateway's REST API runs it;
    `GET /api/health` answers 503 until `is_ready()` (200 then, unless the app has its own)."""

    def __init__(
        self, loaded: LoadedApp, lambdas: LambdaRuntime, is_ready: Callable[[], bool]
    ) -> None:
        api = RestApiInfo(
            api_id=local_api_id(loaded.app.app_name, "rest"), stage=loaded.api_gateway_stage
        )
        self.events = RestGateway(loaded, lambdas, api)
        self._is_ready = is_ready
        self._app_has_health = HEALTH_PATH in loaded.app.routes

    def routes(self) -> list[BaseRoute]:
        return [
            Route(API_PREFIX, self.invoke, methods=ALL_METHODS),
            Route(API_PREFIX + "/{path:api_path}", self.invoke, methods=ALL_METHODS),
        ]

    async def invoke(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1")[len(API_PREFIX) :] or "/"
        if path == HEALTH_PATH and request.method == "GET":
            if not self._is_ready():
                return _starting()
            if not self._app_has_health:
                return JSONResponse({"status": "ok"})
        if request.url.query:
            path = f"{path}?{request.url.query}"
        client_ip = request.client.host if request.client else "127.0.0.1"
        server_port = int((request.scope.get("server") or ("", 0))[1] or 0)
        headers = forwarded_headers(
            request.headers.items(), client_ip, server_port, request.url.scheme
        )
        body = await request.body()
        try:
            result = await run_in_threadpool(
                self.events.handle_request, request.method, path, headers, body or None
            )
        except LocalGatewayException as error:
            return Response(
                content=error.body or b"", status_code=error.CODE, headers=error.headers
            )
        return to_starlette_response(result)


def build_rest_app(
    loaded: LoadedApp,
    web_dir: Path | None,
    lambdas: LambdaRuntime | None = None,
    is_ready: Callable[[], bool] = lambda: True,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    web_config: WebClientConfig | None = None,
) -> Starlette:
    """The ASGI app for web + REST (`RestApiGateway` under `/api`).

    `extra_routes` (e.g. the Lambda API) are matched after `/api` and before the web
    client, whose page learns where the API and the WebSocket are from `GET /config.json`
    (`web_config`), and which is served under its Content-Security-Policy.
    """
    gateway = RestApiGateway(loaded, lambdas or LambdaRuntime(), is_ready)

    async def root_redirect(_: Request) -> Response:
        return RedirectResponse("/index.html" if web_dir else f"{API_PREFIX}/health")

    routes: list[Any] = [*gateway.routes(), *extra_routes]
    if web_config is not None:
        document = web_config.as_json()

        async def web_client_config(_: Request) -> Response:
            return JSONResponse(document, headers={"Cache-Control": "no-store"})

        routes.append(Route(CONFIG_PATH, web_client_config, methods=["GET"]))
    if web_dir is not None and web_dir.is_dir():
        if (web_dir.parent / CLIENT_SOURCE).is_dir():
            routes.append(Mount(CLIENT_PATH, StaticFiles(directory=web_dir.parent / CLIENT_SOURCE)))
        routes.append(Mount("/", StaticFiles(directory=web_dir, html=True)))
    else:
        routes.append(Route("/", root_redirect))

    async def not_found(_: Request, __: Exception) -> Response:
        return JSONResponse({"error": {"code": "not_found", "message": "Not found."}}, 404)

    headers = security_headers(web_config or WebClientConfig(API_PREFIX, ""))
    middleware = [Middleware(SecurityHeaders, headers=headers)]
    if web_config is not None and web_config.origin is not None:
        # Pages only: the API, the Lambda API and the like answer under any name.
        exempt = (API_PREFIX, *(r.path.split("{")[0] for r in extra_routes if isinstance(r, Route)))
        middleware.append(Middleware(CanonicalOrigin, origin=web_config.origin, exempt=exempt))
    return Starlette(routes=routes, exception_handlers={404: not_found}, middleware=middleware)
