"""Latency of POST /notes and GET /notes through the local REST gateway (real HTTP), beside the
write the app makes for a note, made raw on the same backend.

    .venv/bin/python -m bench.notes_api [--backend moto] [--creates 300] [--lists 300]

Starts `python -m infra.local up` (DynamoDB Local by default, or `--backend moto`; this
project's app, silo mode) on free ports, signs up one user, then times sequential
requests over one keep-alive connection: N creates of a 200-byte note, each followed by
the floor, one raw boto3 TransactWriteItems (the conditional `meta` increment and the
note) on a table shaped like a tenant's, through the same DynamoDB port; then M lists
of the first page. Prints a table and writes bench/results/notes_api.json
(notes_api-moto.json for moto).
"""

from __future__ import annotations

import argparse
import http.client
import json
import time
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

NOTE_TEXT = "benchmark note " * 13  # about 200 bytes
WARM_UP = 20


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
    create_ms: list[float] = []
    floor_ms: list[float] = []
    for n in range(WARM_UP + creates):
        status, body, took = client.call("POST", "/notes", {"text": NOTE_TEXT})
        assert status == 201, body
        started = time.perf_counter()
        floor.transact_note(NOTE_TEXT)
        if n >= WARM_UP:
            create_ms.append(took)
            floor_ms.append(elapsed_ms(started))
    list_ms: list[float] = []
    for _ in range(lists):
        status, body, took = client.call("GET", f"/notes?limit={list_limit}")
        assert status == 200 and len(body["notes"]) == min(list_limit, creates + WARM_UP), body
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
        "list": summary(list_ms),
    }


def print_results(result: dict[str, Any]) -> None:
    rows = [
        ("POST /notes", result["create"]),
        ("  floor: TransactWriteItems", result["create_floor_transact_write_items"]),
        (f"GET /notes?limit={result['list_limit']}", result["list"]),
    ]
    print(f"notes API on the local REST gateway, backend {result['backend']} ({result['tenancy']})")
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
