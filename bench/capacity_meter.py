"""A DynamoDB proxy that counts what AWS would bill: read and write request units.

It sits between the local runtime (`--backend endpoint --endpoint` its URL) and
DynamoDB Local, asks for `ReturnConsumedCapacity` on every data-plane request,
and adds up what DynamoDB Local reports: it sizes items, index writes and
eventually or strongly consistent reads as DynamoDB does. Except for
transactions of several items, where its totals are wrong (three small puts
report 2 units): TransactWriteItems are sized here, from the items before and
after (read straight from the backend, unmetered), with DynamoDB's rules —
units of 1 KB of the larger image, index entries of the item plus 100 bytes, a
changed index key costing a delete and a put, everything doubled. A test checks
these rules against DynamoDB Local's own single-item figures.

Requests the runtime makes for its emulation are not counted (stream reads are
free when Lambda makes them; TTL deletes are free). DynamoDB Local does not
check request signatures, so the amended body needs none.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

import boto3

READS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
# Transactions cost two units per item read or written (DynamoDB pricing).
TRANSACTIONAL = {"TransactGetItems", "TransactWriteItems"}


@dataclass
class Capacity:
    """Request units and calls, per operation."""

    read_units: float = 0.0
    write_units: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    def copy(self) -> Capacity:
        return Capacity(self.read_units, self.write_units, Counter(self.calls))

    def since(self, earlier: Capacity) -> Capacity:
        return Capacity(
            self.read_units - earlier.read_units,
            self.write_units - earlier.write_units,
            self.calls - earlier.calls,
        )


# ---- DynamoDB's sizing rules (Developer Guide: item sizes; index write costs) ----

INDEX_ENTRY_OVERHEAD = 100
WRITE_UNIT_BYTES = 1024


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _binary_size(data: str | bytes) -> int:
    return len(base64.b64decode(data)) if isinstance(data, str) else len(data)


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda d: len(d.encode()),
    "N": _number_size,
    "B": _binary_size,
    "BOOL": lambda d: 1,
    "NULL": lambda d: 1,
    "SS": lambda d: sum(len(v.encode()) for v in d),
    "NS": lambda d: sum(_number_size(v) for v in d),
    "BS": lambda d: sum(_binary_size(v) for v in d),
    "L": lambda d: 3 + sum(1 + value_size(v) for v in d),
    "M": lambda d: 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in d.items()),
}


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON (`{"S": ...}`, `{"N": ...}`, ...)."""
    ((kind, data),) = value.items()
    return _SIZES[kind](data)


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES)) if size else 0


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    # None: every attribute (ALL); else the attributes projected besides the keys.
    projected: tuple[str, ...] | None


def _entry(
    index: Index, table_keys: tuple[str, ...], item: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The item's entry in `index`, or None if the item is not in it (sparse index)."""
    if not item or any(key not in item for key in index.keys):
        return None
    if index.projected is None:
        return item
    wanted = set(index.keys) | set(table_keys) | set(index.projected)
    return {k: v for k, v in item.items() if k in wanted}


def write_units(
    table_keys: tuple[str, ...],
    indexes: list[Index],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> int:
    """Write units of one item write (not transactional): the table, then each index."""
    units = _units(max(item_size(before), item_size(after))) or 1
    for index in indexes:
        old, new = _entry(index, table_keys, before), _entry(index, table_keys, after)
        old_size = item_size(old) + INDEX_ENTRY_OVERHEAD if old else 0
        new_size = item_size(new) + INDEX_ENTRY_OVERHEAD if new else 0
        if old and new and all(old[k] == new[k] for k in index.keys):
            units += _units(max(old_size, new_size))
        else:
            units += _units(old_size) + _units(new_size)
    return units


def consumed_units(reply: dict[str, Any]) -> float:
    consumed = reply.get("ConsumedCapacity")
    if consumed is None:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry.get("CapacityUnits", 0.0) for entry in entries))


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: list[Index]


class Transactions:
    """Sizes TransactWriteItems from the items before and after, read from the backend."""

    def __init__(self, backend_url: str) -> None:
        self._client = boto3.client(
            "dynamodb",
            endpoint_url=backend_url,
            region_name="us-east-1",
            aws_access_key_id="meter",
            aws_secret_access_key="meter",  # noqa: S106 - DynamoDB Local takes any
        )
        self._shapes: dict[str, TableShape] = {}

    def shape(self, table: str) -> TableShape:
        if table not in self._shapes:
            reply: dict[str, Any] = dict(self._client.describe_table(TableName=table))
            description: dict[str, Any] = reply["Table"]
            keys = tuple(k["AttributeName"] for k in description["KeySchema"])
            indexes = []
            for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                for index in description.get(kind, []):
                    projection = index["Projection"]
                    projected = (
                        None
                        if projection["ProjectionType"] == "ALL"
                        else tuple(projection.get("NonKeyAttributes", []))
                    )
                    names = tuple(k["AttributeName"] for k in index["KeySchema"])
                    indexes.append(Index(index["IndexName"], names, projected))
            self._shapes[table] = TableShape(keys, indexes)
        return self._shapes[table]

    def _targets(self, request: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        targets = []
        for entry in request.get("TransactItems", []):
            ((kind, body),) = entry.items()
            table = body["TableName"]
            if kind == "Put":
                key = {k: body["Item"][k] for k in self.shape(table).keys}
            else:
                key = body["Key"]
            targets.append((kind, table, key))
        return targets

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=table, Key=key, ConsistentRead=True
        ).get("Item")
        return item

    def sized(self, request: dict[str, Any], send: Callable[[], bool]) -> int:
        """`send()` the transaction; its write units if it succeeded (else 0)."""
        targets = self._targets(request)
        before = [self._read(table, key) for _, table, key in targets]
        if not send():
            return 0
        units = 0
        for (kind, table, key), old in zip(targets, before, strict=True):
            shape = self.shape(table)
            if kind == "ConditionCheck":
                units += _units(item_size(old)) or 1
                continue
            new = None if kind == "Delete" else self._read(table, key)
            units += write_units(shape.keys, shape.indexes, old, new)
        return 2 * units


class CapacityMeter:
    """The proxy: `start()` returns its URL; `snapshot()` the totals so far."""

    def __init__(self, backend_url: str) -> None:
        self._backend = urlparse(backend_url)
        self._transactions = Transactions(backend_url)
        self._lock = threading.Lock()
        self.total = Capacity()
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    def snapshot(self) -> Capacity:
        with self._lock:
            return self.total.copy()

    def record(self, operation: str, units: float) -> None:
        with self._lock:
            self.total.calls[operation] += 1
            if operation in READS:
                self.total.read_units += units
            else:
                self.total.write_units += units

    def start(self) -> str:
        meter = self
        local = threading.local()

        class Relay(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, delayed ACKs stall each.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: object) -> None:
                pass

            def _backend(self) -> http.client.HTTPConnection:
                if getattr(local, "connection", None) is None:
                    host, port = meter._backend.hostname or "127.0.0.1", meter._backend.port
                    local.connection = http.client.HTTPConnection(host, port, timeout=60)
                    local.connection.connect()
                    local.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection: http.client.HTTPConnection = local.connection
                return connection

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target") or ""
                operation = target.rsplit(".", 1)[-1]
                metered = target.startswith("DynamoDB_") and operation in READS | WRITES
                request = json.loads(body or b"{}") if metered else {}
                if metered and operation != "TransactWriteItems":
                    request.setdefault("ReturnConsumedCapacity", "TOTAL")
                    body = json.dumps(request).encode()
                reply: list[tuple[int, list[tuple[str, str]], bytes]] = []

                def send() -> bool:
                    reply.append(self._forward(body))
                    return reply[0][0] == 200

                if metered and operation == "TransactWriteItems":
                    meter.record(operation, meter._transactions.sized(request, send))
                else:
                    send()
                    status, _, raw = reply[0]
                    if metered and status == 200:
                        units = consumed_units(json.loads(raw or b"{}"))
                        # DynamoDB Local's transactional figures are wrong (module docstring).
                        meter.record(operation, units * (2 if operation in TRANSACTIONAL else 1))
                with meter._lock:
                    meter.requests += 1
                status, reply_headers, raw = reply[0]
                self.send_response(status)
                for name, value in reply_headers:
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
                headers["Content-Length"] = str(len(body))
                try:
                    return self._relay(body, headers)
                except OSError:
                    local.connection = None
                    return self._relay(body, headers)

            def _relay(
                self, body: bytes, headers: dict[str, str]
            ) -> tuple[int, list[tuple[str, str]], bytes]:
                connection = self._backend()
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
