"""Latency of the document writes and of GET /notes through the local REST gateway (real HTTP),
each write beside the same write made raw on the same backend.

    .venv/bin/python -m bench.notes_api [--backend moto] [--creates 300] [--lists 300]

Starts `python -m infra.local up` (DynamoDB Local by default, or `--backend moto`; this
project's app, silo mode) on free ports, signs up one user, then times sequential
requests over one keep-alive connection, each followed by its floor on a table shaped
like a tenant's, through the same DynamoDB port:
- N `POST /notes` of a 200-byte note; floor: one raw boto3 TransactWriteItems (the
  conditional `meta` increment and the document);
- N `POST /collections/notes/docs` of the same note; the same floor;
- N/4 `POST /batch` of 25 creates; floor: one raw TransactWriteItems of `meta` and 25
  documents;
then M lists of the first page. Prints a table and writes bench/results/notes_api.json
(notes_api-moto.json for moto).
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
from collections.abc import Callable
from typing import Any

from bench.floors import TenantShapedTable
from bench.harness import (
    ResultFile,
    dynamodb_clients,
    elapsed_ms,
    local_runtime,
    print_table,
    summary,
)
from tests.support.local_runtime import RuntimeProcess

Timings = tuple[list[float], list[float]]  # a request's times, its floor's times

NOTE_TEXT = "benchmark note " * 13  # about 200 bytes
NOTE_DATA = json.dumps({"text": NOTE_TEXT}, separators=(",", ":"))
WARM_UP = 20
BATCH_OPS = 25


class Client:
    """JSON over one keep-alive HTTP connection, timing each request."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body).encode() if body is not None else None
        started = time.perf_counter()
        self._connection.request(method, "/api" + path, body=payload, headers=headers)
        response = self._connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, elapsed_ms(started)


def measure(runtime: RuntimeProcess, creates: int, lists: int, list_limit: int) -> dict[str, Any]:
    client = Client(runtime.port)
    status, body, _ = client.call(
        "POST",
        "/auth/signup",
        {
            "email": f"bench-{time.time_ns()}@example.com",
            "password": "bench password 1",
            "name": "B",
        },
    )
    assert status == 201, body
    client.token = body["token"]
    floor = TenantShapedTable(*dynamodb_clients(runtime))

    def timed(request: tuple[str, str, Any], raw: Callable[[], object], count: int) -> Timings:
        method, path, body = request
        made: list[float] = []
        floor_made: list[float] = []
        for n in range(WARM_UP + count):
            status, reply, took = client.call(method, path, body)
            assert status in (200, 201), reply
            started = time.perf_counter()
            raw()
            if n >= WARM_UP:
                made.append(took)
                floor_made.append(elapsed_ms(started))
        return made, floor_made

    create_ms, floor_ms = timed(
        ("POST", "/notes", {"text": NOTE_TEXT}), lambda: floor.transact_note(NOTE_TEXT), creates
    )
    doc_ms, doc_floor_ms = timed(
        ("POST", "/collections/notes/docs", {"data": {"text": NOTE_TEXT}}),
        lambda: floor.transact_docs([NOTE_DATA]),
        creates,
    )
    ops = [{"op": "create", "collection": "notes", "data": {"text": NOTE_TEXT}}] * BATCH_OPS
    batch_ms, batch_floor_ms = timed(
        ("POST", "/batch", {"ops": ops}),
        lambda: floor.transact_docs([NOTE_DATA] * BATCH_OPS),
        max(1, creates // 4),
    )
    list_ms: list[float] = []
    for _ in range(lists):
        status, body, took = client.call("GET", f"/notes?limit={list_limit}")
        assert status == 200 and len(body["notes"]) == list_limit, body
        list_ms.append(took)
    floor.delete()
    return {
        "backend": runtime.backend,
        "tenancy": "silo",
        "transport": "HTTP/1.1 keep-alive to the local REST gateway, sequential",
        "note_text_bytes": len(NOTE_TEXT.encode()),
        "list_limit": list_limit,
        "create": summary(create_ms),
        "create_floor_transact_write_items": summary(floor_ms),
        "doc_create": summary(doc_ms),
        "doc_create_floor_transact_write_items": summary(doc_floor_ms),
        "batch_ops": BATCH_OPS,
        "batch": summary(batch_ms),
        "batch_floor_transact_write_items": summary(batch_floor_ms),
        "list": summary(list_ms),
    }


def print_results(result: dict[str, Any]) -> None:
    rows = [
        ("POST /notes", result["create"]),
        ("  floor: TransactWriteItems", result["create_floor_transact_write_items"]),
        ("POST /collections/notes/docs", result["doc_create"]),
        ("  floor: TransactWriteItems", result["doc_create_floor_transact_write_items"]),
        (f"POST /batch ({result['batch_ops']} creates)", result["batch"]),
        (
            f"  floor: TransactWriteItems of {result['batch_ops'] + 1}",
            result["batch_floor_transact_write_items"],
        ),
        (f"GET /notes?limit={result['list_limit']}", result["list"]),
    ]
    where = f"backend {result['backend']} ({result['tenancy']})"
    print(f"documents API on the local REST gateway, {where}")
    print_table(
        ["request", "n", "p50 ms", "p99 ms", "mean ms", "max ms"],
        [[name, s["n"], s["p50_ms"], s["p99_ms"], s["mean_ms"], s["max_ms"]] for name, s in rows],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["moto", "dynamodb-local"], default="dynamodb-local")
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--lists", type=int, default=300)
    parser.add_argument("--list-limit", type=int, default=50)
    args = parser.parse_args()
    suffix = "" if args.backend == "dynamodb-local" else f"-{args.backend}"
    record = ResultFile(f"notes_api{suffix}")
    with local_runtime(backend=args.backend) as runtime:
        result = measure(runtime, args.creates, args.lists, args.list_limit)
    print_results(result)
    print(f"wrote {record.write(result)}")


if __name__ == "__main__":
    main()
