"""The Lambda API's event source mapping operations, served on the REST port so that
`boto3.client("lambda", endpoint_url="http://127.0.0.1:8000")` works unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from infra.local.dynamodb_runtime import DynamoDBRuntime
from infra.local.streams.mappings import InvalidParameterValueError, LambdaApiError
from infra.local.streams.runner import MappingRunner

PREFIX = "/2015-03-31/event-source-mappings"


def _error(error: LambdaApiError) -> Response:
    # boto3 reads the type from this header; the body carries both spellings of "message".
    return JSONResponse(
        {"Type": "User", "Message": error.message, "message": error.message},
        status_code=error.status,
        headers={"x-amzn-ErrorType": error.error_type},
    )


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidParameterValueError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidParameterValueError("The request body must be a JSON object.")
    return body


def event_source_mapping_routes(dynamodb: DynamoDBRuntime) -> list[BaseRoute]:
    """Create / Get / List / Update / Delete EventSourceMapping, run on the mappings' loop."""

    async def on_mappings(work: Callable[[MappingRunner], Awaitable[Any]]) -> Any:
        async def run() -> Any:
            if dynamodb.mappings is None:
                raise LambdaApiError("The stream event source mappings are not running.")
            return await work(dynamodb.mappings)

        return await asyncio.wrap_future(dynamodb.submit(run()))

    def handle(
        operation: Callable[[Request], Awaitable[tuple[int, Any]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                status, answer = await operation(request)
            except LambdaApiError as error:
                return _error(error)
            return JSONResponse(answer, status_code=status)

        return endpoint

    async def create(request: Request) -> tuple[int, Any]:
        body = await _body(request)
        return 202, await on_mappings(lambda mappings: mappings.create(body))

    async def listing(request: Request) -> tuple[int, Any]:
        query = request.query_params
        max_items = query.get("MaxItems")
        if max_items is not None and not max_items.isdigit():
            raise InvalidParameterValueError("MaxItems must be a number.")

        async def run(mappings: MappingRunner) -> Any:
            return mappings.registry.list_mappings(
                query.get("EventSourceArn"),
                query.get("FunctionName"),
                query.get("Marker"),
                int(max_items) if max_items else None,
            )

        return 200, await on_mappings(run)

    async def get(request: Request) -> tuple[int, Any]:
        mapping_id = request.path_params["uuid"]

        async def run(mappings: MappingRunner) -> Any:
            return mappings.registry.get(mapping_id)

        return 200, await on_mappings(run)

    async def update(request: Request) -> tuple[int, Any]:
        body = await _body(request)
        mapping_id = request.path_params["uuid"]
        return 202, await on_mappings(lambda mappings: mappings.update(mapping_id, body))

    async def delete(request: Request) -> tuple[int, Any]:
        mapping_id = request.path_params["uuid"]
        return 202, await on_mappings(lambda mappings: mappings.delete(mapping_id))

    collection = [
        Route(path, handle(create), methods=["POST"]) for path in (PREFIX, PREFIX + "/")
    ] + [Route(path, handle(listing), methods=["GET"]) for path in (PREFIX, PREFIX + "/")]
    return [
        *collection,
        Route(PREFIX + "/{uuid}", handle(get), methods=["GET"]),
        Route(PREFIX + "/{uuid}", handle(update), methods=["PUT"]),
        Route(PREFIX + "/{uuid}", handle(delete), methods=["DELETE"]),
    ]
