"""/openapi.json: the REST API described as OpenAPI 3.1, generated from the app's routes."""

from __future__ import annotations

import functools
from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib.api.http import ApiBlueprint, json_response
from chalicelib.api.openapi_collections import with_collections
from chalicelib.api.openapi_document import openapi_document
from chalicelib.api.operations import Operation, Reply
from chalicelib.logic.collections import Collections
from chalicelib.services import get_services
from chalicelib.settings import get_settings

openapi_routes = ApiBlueprint(__name__)


@functools.lru_cache(maxsize=4)
def _document(app: Chalice, server_url: str, collections: Collections) -> dict[str, Any]:
    return with_collections(openapi_document(app.routes, server_url), collections)


def api_url(request: Request) -> str:
    """This API's root: the configured public URL, else the stage prefix of the request path."""
    configured = get_settings().oauth.api_url
    if configured:
        return configured.rstrip("/")
    context: dict[str, Any] = request.context or {}
    path, resource = str(context.get("path") or ""), str(context.get("resourcePath") or "")
    prefix = path[: -len(resource)] if resource and path.endswith(resource) else ""
    return prefix or "/"


@openapi_routes.route(
    "/openapi.json",
    methods=["GET"],
    operation=Operation(
        summary="This API, described as OpenAPI 3.1, with each declared collection's schema",
        auth=False,
        replies={200: Reply(dict[str, Any], "The OpenAPI document.")},
    ),
)
def openapi() -> Response:
    request = openapi_routes.current_request
    return json_response(
        _document(
            openapi_routes.current_app, api_url(request), get_services().documents.collections
        ),
        headers={"Cache-Control": "no-cache"},
    )
