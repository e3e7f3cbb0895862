"""The REST gateway: HTTP on :8000 -> API Gateway proxy events -> the app's routes.

Chalice's own LocalGateway converts requests to events and invokes the app; this
module only adapts it to ASGI, strips the `/api` prefix and serves the web client.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalice.local import LocalGateway, LocalGatewayException
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from infra.local.app_loader import LoadedApp

API_PREFIX = "/api"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


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


def build_rest_app(
    loaded: LoadedApp, web_dir: Path | None, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """`/api/...` to the app, `extra_routes` (e.g. the Lambda API), then the web client."""
    gateway = LocalGateway(loaded.app, loaded.config)

    async def invoke(request: Request) -> Response:
        path = request.url.path[len(API_PREFIX) :] or "/"
        if request.url.query:
            path = f"{path}?{request.url.query}"
        headers = dict(request.headers)
        if request.client is not None:
            headers.setdefault("x-forwarded-for", request.client.host)
        body = await request.body()
        try:
            result = await run_in_threadpool(
                gateway.handle_request, request.method, path, headers, body or None
            )
        except LocalGatewayException as error:
            return Response(
                content=error.body or b"", status_code=error.CODE, headers=error.headers
            )
        return to_starlette_response(result)

    async def root_redirect(_: Request) -> Response:
        return RedirectResponse("/index.html" if web_dir else f"{API_PREFIX}/health")

    routes: list[Any] = [
        Route(API_PREFIX, invoke, methods=ALL_METHODS),
        Route(API_PREFIX + "/{path:path}", invoke, methods=ALL_METHODS),
        *extra_routes,
    ]
    if web_dir is not None and web_dir.is_dir():
        routes.append(Mount("/", StaticFiles(directory=web_dir, html=True)))
    else:
        routes.append(Route("/", root_redirect))

    async def not_found(_: Request, __: Exception) -> Response:
        return JSONResponse({"error": {"code": "not_found", "message": "Not found."}}, 404)

    return Starlette(routes=routes, exception_handlers={404: not_found})
