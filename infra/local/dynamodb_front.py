"""The DynamoDB front on --ddb-port: every request passes to the backend unchanged, and
writes are noticed (table names from X-Amz-Target and the body) once their answer is back,
so the stream readers of those tables wake at once instead of polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.local.dynamodb_wire import BackendPool, HttpFramingError, HttpMessage, read_message

log = logging.getLogger("userdb.local.dynamodb")

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_PARTIQL = {"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
_SCHEMA = {"CreateTable", "DeleteTable", "UpdateTable", "UpdateTimeToLive"}
_PARTIQL_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?([A-Za-z0-9_.-]{3,255})\"?", re.IGNORECASE
)
_UNAVAILABLE = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable",'
    b'"message":"The DynamoDB backend of the local runtime is not reachable."}'
)


class NoticeKind(StrEnum):
    WRITE = "write"
    SCHEMA = "schema"


@dataclass(frozen=True)
class Notice:
    """What a successful request changed: items of `tables`, or the tables themselves."""

    kind: NoticeKind
    operation: str
    tables: frozenset[str]


def table_name(name_or_arn: str) -> str:
    """DynamoDB accepts a table's ARN wherever it takes its name."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn.split(":table/", 1)[-1].split("/", 1)[0]
    return name_or_arn


def _partiql_tables(statements: list[Any]) -> set[str]:
    found = set()
    for statement in statements:
        text = statement.get("Statement", "") if isinstance(statement, dict) else ""
        match = _PARTIQL_WRITE.match(text)
        if match:
            found.add(match.group(1))
    return found


def _written_tables(operation: str, body: dict[str, Any]) -> set[str]:
    if operation in {"PutItem", "UpdateItem", "DeleteItem"}:
        return {body.get("TableName", "")}
    if operation == "BatchWriteItem":
        return set(body.get("RequestItems", {}))
    if operation == "TransactWriteItems":
        tables = set()
        for item in body.get("TransactItems", []):
            for kind in ("Put", "Update", "Delete"):
                if kind in item:
                    tables.add(item[kind].get("TableName", ""))
        return tables
    if operation == "ExecuteStatement":
        return _partiql_tables([body])
    if operation == "BatchExecuteStatement":
        return _partiql_tables(body.get("Statements", []))
    return _partiql_tables(body.get("TransactStatements", []))


def notice_for(target: str | None, body: bytes) -> Notice | None:
    """The notice a successful request with this X-Amz-Target and body gives, if any."""
    if not target or not target.startswith("DynamoDB_"):
        return None
    operation = target.rsplit(".", 1)[-1]
    if operation not in _WRITES | _PARTIQL | _SCHEMA:
        return None
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    if operation in _SCHEMA:
        tables = {parsed.get("TableName", "")}
        kind = NoticeKind.SCHEMA
    else:
        tables = _written_tables(operation, parsed)
        kind = NoticeKind.WRITE
    names = frozenset(table_name(name) for name in tables if isinstance(name, str) and name)
    return Notice(kind, operation, names) if names else None


class DynamoDBFront:
    """An asyncio server that relays requests to a `BackendPool` and reports notices."""

    def __init__(self, pool: BackendPool, on_notice: Callable[[Notice], None]) -> None:
        self._pool = pool
        self._on_notice = on_notice
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve_client, host, port, limit=64 * 1024)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._clients.add(writer)
        try:
            while True:
                request = await read_message(reader)
                if request is None:
                    break
                if (request.header("expect") or "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                response = await self._relay(request)
                writer.write(response.encode())
                await writer.drain()
                if response.status == 200:
                    self._notice(request)
                if request.closes or response.closes:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, HttpFramingError):
            pass
        finally:
            self._clients.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _relay(self, request: HttpMessage) -> HttpMessage:
        head_request = request.start_line.startswith("HEAD ")
        try:
            response = await self._pool.send(request.encode(), head_request=head_request)
        except (OSError, asyncio.IncompleteReadError, HttpFramingError) as error:
            log.warning("DynamoDB backend unreachable: %s", error)
            return HttpMessage(
                "HTTP/1.1 503 Service Unavailable",
                [("Content-Type", "application/x-amz-json-1.0"), ("Retry-After", "1")],
                _UNAVAILABLE,
            )
        response.closes = request.closes
        return response

    def _notice(self, request: HttpMessage) -> None:
        notice = notice_for(request.header("x-amz-target"), request.body)
        if notice is not None:
            try:
                self._on_notice(notice)
            except Exception:
                log.exception("handling %s notice failed", notice.operation)
