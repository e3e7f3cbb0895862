"""The OpenAPI 3.1 document of the REST API, generated from the app's routes.

Paths, methods and path parameters come from Chalice's route table; bodies,
parameters, replies and errors from each route's declaration
(chalicelib/api/operations.py); every schema from pydantic, in one pass so
shared models become shared components.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from chalicelib.api.http import STATE_CHANGING_METHODS
from chalicelib.api.operations import RETRY_AFTER, Operation, ResponseHeader, declared
from chalicelib.errors import OriginMismatchError, UserdbError
from chalicelib.models.errors import ErrorResponse

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
JSON = "application/json"
SCHEMA_REF = "#/components/schemas/{model}"
SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "The `token` of /auth/signup or /auth/login.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "userdb_session",
        "description": "Set by sign-in. Requests that change state need a trusted Origin header.",
    },
}
AUTHENTICATED: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": []}]
RETRY_STATUSES = frozenset({429, 503})
DESCRIPTION = (
    'A realtime database per user. Errors are `{"error": {"code", "message"}}`; '
    "each error reply below lists the codes it may carry. Live sync is the WebSocket API: "
    "client actions hello, ack, ping and sync; server messages welcome, changes, pong, error."
)


class UndeclaredRouteError(Exception):
    """A route was registered without an `Operation` (use ApiBlueprint.route)."""


class _Route:
    """One (path, method) of the app and its declaration."""

    def __init__(self, path: str, method: str, entry: Any, operation: Operation) -> None:
        self.path, self.method, self.entry, self.operation = path, method, entry, operation
        self.view_args: list[str] = list(entry.view_args)
        unknown = set(operation.path) - set(self.view_args)
        if unknown:
            raise UndeclaredRouteError(f"{method} {path}: no path parameter {sorted(unknown)}")

    def path_types(self) -> list[tuple[str, Any]]:
        return [(name, self.operation.path.get(name, str)) for name in self.view_args]


def _routes(table: Mapping[str, Mapping[str, Any]]) -> list[_Route]:
    routes, missing = [], []
    for path, methods in sorted(table.items()):
        for method, entry in sorted(methods.items()):
            operation = declared(entry.view_function)
            if operation is None:
                missing.append(f"{method} {path}")
            else:
                routes.append(_Route(path, method, entry, operation))
    if missing:
        raise UndeclaredRouteError("routes without a declaration: " + ", ".join(missing))
    return routes


class _Schemas:
    """Every type the document describes, turned into JSON Schema by pydantic at once."""

    def __init__(self, wanted: list[tuple[Any, JsonSchemaMode]]) -> None:
        inputs = {(id(kind), mode): (kind, mode) for kind, mode in wanted}
        generated, definitions = TypeAdapter.json_schemas(
            [(key, mode, TypeAdapter(kind)) for key, (kind, mode) in inputs.items()],
            ref_template=SCHEMA_REF,
        )
        self._by_key = {key: schema for (key, _), schema in generated.items()}
        self.components: dict[str, Any] = dict(definitions.get("$defs", {}))

    def of(self, kind: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self._by_key[(id(kind), mode)])

    def component_name(self, model: Any, mode: JsonSchemaMode) -> str | None:
        ref = self.of(model, mode).get("$ref")
        return str(ref).rsplit("/", 1)[-1] if ref else None

    def properties(self, model: Any) -> tuple[dict[str, Any], set[str]]:
        """A model's fields (for query parameters) and which are required."""
        name = self.component_name(model, "validation")
        schema = self.components[name] if name else self.of(model, "validation")
        return dict(schema.get("properties", {})), set(schema.get("required", []))


def _wanted(routes: list[_Route]) -> Iterator[tuple[Any, JsonSchemaMode]]:
    yield ErrorResponse, "serialization"
    for route in routes:
        operation = route.operation
        for kind in (operation.body, operation.query):
            if kind is not None:
                yield kind, "validation"
        for _, kind in route.path_types():
            yield kind, "validation"
        for header in operation.headers:
            yield header.schema, "validation"
        for reply in operation.replies.values():
            if reply.body is not None:
                yield reply.body, "serialization"


def _parameter_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A field's schema as a parameter's: no title, no `null` (absent means None)."""
    schema = {key: value for key, value in schema.items() if key != "title"}
    description = schema.pop("description", None)
    options = schema.get("anyOf")
    if options is not None:
        kept = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    if schema.get("default", ...) is None:
        del schema["default"]
    return schema, description


def _parameter(
    name: str, where: str, schema: dict[str, Any], required: bool, description: str | None
) -> dict[str, Any]:
    clean, own = _parameter_schema(schema)
    parameter: dict[str, Any] = {"name": name, "in": where, "required": required, "schema": clean}
    if description or own:
        parameter["description"] = description or own
    return parameter


def _parameters(route: _Route, schemas: _Schemas) -> list[dict[str, Any]]:
    operation = route.operation
    found = [
        _parameter(name, "path", schemas.of(kind, "validation"), True, None)
        for name, kind in route.path_types()
    ]
    if operation.query is not None:
        fields, required = schemas.properties(operation.query)
        found += [
            _parameter(name, "query", schema, name in required, None)
            for name, schema in fields.items()
        ]
    found += [
        _parameter(
            header.name,
            "header",
            schemas.of(header.schema, "validation"),
            False,
            header.description,
        )
        for header in operation.headers
    ]
    return found


def _headers(headers: tuple[ResponseHeader, ...]) -> dict[str, Any]:
    return {
        header.name: {
            "description": header.description,
            "required": header.required,
            "schema": {"type": "string"},
        }
        for header in headers
    }


def _error_replies(route: _Route, error_schema: dict[str, Any]) -> dict[str, Any]:
    by_status: dict[int, list[type[UserdbError]]] = {}
    for error in route.operation.all_errors():
        if error is OriginMismatchError and route.method not in STATE_CHANGING_METHODS:
            continue  # only cookie requests that change state are checked for their Origin
        by_status.setdefault(error.status, []).append(error)
    replies: dict[str, Any] = {}
    for status, errors in sorted(by_status.items()):
        codes = "\n".join(f"- `{error.code}`: {error.default_message}" for error in errors)
        reply: dict[str, Any] = {
            "description": f"{HTTPStatus(status).phrase}. Codes:\n{codes}",
            "content": {JSON: {"schema": error_schema}},
        }
        if status in RETRY_STATUSES:
            reply["headers"] = _headers((RETRY_AFTER,))
        replies[str(status)] = reply
    return replies


def _body_is_required(operation: Operation, schemas: _Schemas) -> bool:
    """An empty body reads as `{}`: it is required only when some field is."""
    _, required = schemas.properties(operation.body)
    return bool(required)


def _operation(route: _Route, schemas: _Schemas, operation_id: str) -> dict[str, Any]:
    operation = route.operation
    replies: dict[str, Any] = {}
    for status, reply in sorted(operation.replies.items()):
        described: dict[str, Any] = {"description": reply.description or HTTPStatus(status).phrase}
        if reply.body is not None:
            described["content"] = {JSON: {"schema": schemas.of(reply.body, "serialization")}}
        if reply.headers:
            described["headers"] = _headers(reply.headers)
        replies[str(status)] = described
    replies.update(_error_replies(route, schemas.of(ErrorResponse, "serialization")))
    document: dict[str, Any] = {
        "operationId": operation_id,
        "summary": operation.summary,
        "tags": [route.entry.view_function.__module__.rsplit(".", 1)[-1]],
        "security": AUTHENTICATED if operation.auth else [],
        "responses": replies,
    }
    if operation.description:
        document["description"] = operation.description
    parameters = _parameters(route, schemas)
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {
            "required": _body_is_required(operation, schemas),
            "content": {JSON: {"schema": schemas.of(operation.body, "validation")}},
        }
    return document


def openapi_document(
    route_table: Mapping[str, Mapping[str, Any]], server_url: str
) -> dict[str, Any]:
    """The OpenAPI document of every route in `route_table` (Chalice's `app.routes`).

    UndeclaredRouteError if a route has no declaration.
    """
    routes = _routes(route_table)
    schemas = _Schemas(list(_wanted(routes)))
    # One view may serve several methods (PUT and PATCH): their ids name the method.
    views = Counter(route.entry.view_function for route in routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        name = route.entry.view_name
        operation_id = name if views[route.entry.view_function] == 1 else f"{name}_{route.method}"
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, schemas, operation_id.lower()
        )
    # Query models are spelled out as parameters: their own components would go unused.
    query_models = {
        schemas.component_name(route.operation.query, "validation")
        for route in routes
        if route.operation.query is not None
    }
    components = {
        name: schema for name, schema in schemas.components.items() if name not in query_models
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "userdb", "version": API_VERSION, "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }
