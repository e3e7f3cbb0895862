"""The Lambda API's event source mapping operations, served on the REST port so that
`boto3.client("lambda", endpoint_url="http://127.0.0.1:8000")` works unchanged."""

from __future__ import annotations

import asyncio
import inspect
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

Operation = Callable[[Request], Awaitable[tuple[int, Any]]]


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


class EventSourceMappingApi:
    """Create / Get / List / Update / Delete EventSourceMapping, each run on the mappings'
    event loop (the DynamoDB runtime's), answered as Lambda answers."""

    def __init__(self, dynamodb: DynamoDBRuntime) -> None:
        self._dynamodb = dynamodb

    def routes(self) -> list[BaseRoute]:
        collection = [PREFIX, PREFIX + "/"]
        return [
            *(Route(path, self._handle(self.create), methods=["POST"]) for path in collection),
            *(Route(path, self._handle(self.listing), methods=["GET"]) for path in collection),
            Route(PREFIX + "/{uuid}", self._handle(self.get), methods=["GET"]),
            Route(PREFIX + "/{uuid}", self._handle(self.update), methods=["PUT"]),
            Route(PREFIX + "/{uuid}", self._handle(self.delete), methods=["DELETE"]),
        ]

    @staticmethod
    def _handle(operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                status, answer = await operation(request)
            except LambdaApiError as error:
                return _error(error)
            return JSONResponse(answer, status_code=status)

        return endpoint

    async def _on_mappings(self, work: Callable[[MappingRunner], Any]) -> Any:
        """`work(runner)` on the mappings' loop; awaited there if it is a coroutine."""

        async def run() -> Any:
            mappings = self._dynamodb.mappings
            if mappings is None:
                raise LambdaApiError("The stream event source mappings are not running.")
            answer = work(mappings)
            return await answer if inspect.isawaitable(answer) else answer

        return await asyncio.wrap_future(self._dynamodb.submit(run()))

    async def create(self, request: Request) -> tuple[int, Any]:
        body = await _body(request)
        return 202, await self._on_mappings(lambda mappings: mappings.create(body))

    async def listing(self, request: Request) -> tuple[int, Any]:
        query = request.query_params
        max_items = query.get("MaxItems")
        if max_items is not None and not max_items.isdigit():
            raise InvalidParameterValueError("MaxItems must be a number.")
        answer = await self._on_mappings(
            lambda mappings: mappings.registry.list_mappings(
                query.get("EventSourceArn"),
                query.get("FunctionName"),
                query.get("Marker"),
                int(max_items) if max_items else None,
            )
        )
        return 200, answer

    async def get(self, request: Request) -> tuple[int, Any]:
        mapping_id = request.path_params["uuid"]
        return 200, await self._on_mappings(lambda mappings: mappings.registry.get(mapping_id))

    async def update(self, request: Request) -> tuple[int, Any]:
        body = await _body(request)
        mapping_id = request.path_params["uuid"]
        return 202, await self._on_mappings(lambda mappings: mappings.update(mapping_id, body))

    async def delete(self, request: Request) -> tuple[int, Any]:
        mapping_id = request.path_params["uuid"]
        return 202, await self._on_mappings(lambda mappings: mappings.delete(mapping_id))


def event_source_mapping_routes(dynamodb: DynamoDBRuntime) -> list[BaseRoute]:
    """The Lambda API's event source mapping routes, for the REST port."""
    return EventSourceMappingApi(dynamodb).routes()
