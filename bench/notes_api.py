"""Latency of POST /notes and GET /notes through the local REST gateway (real HTTP).

    .venv/bin/python -m bench.notes_api [--backend moto] [--creates 300] [--lists 300]

Starts `python -m infra.local up --backend moto` (or `--backend dynamodb-local`;
this project's app, silo mode) on free ports, signs up one user, then times
sequential requests over one keep-alive connection: N creates of a 200-byte
note, then M lists of the first page. Prints a table and writes
bench/results/notes_api.json (notes_api-dynamodb-local.json for that backend).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import RuntimeProcess

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 0.50), 2),
        "p99_ms": round(percentile(samples_ms, 0.99), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
    }


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
        elapsed_ms = (time.perf_counter() - started) * 1000
        return response.status, json.loads(raw) if raw else None, elapsed_ms


def run(backend: str, creates: int, lists: int, list_limit: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    runtime = RuntimeProcess(PROJECT_DIR, backend=backend).start()
    try:
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
        text = "benchmark note " * 13  # about 200 bytes
        create_ms: list[float] = []
        for _ in range(creates):
            status, body, elapsed = client.call("POST", "/notes", {"text": text})
            assert status == 201, body
            create_ms.append(elapsed)
        list_ms: list[float] = []
        for _ in range(lists):
            status, body, elapsed = client.call("GET", f"/notes?limit={list_limit}")
            assert status == 200 and len(body["notes"]) == min(list_limit, creates), body
            list_ms.append(elapsed)
    finally:
        runtime.stop()
    window = max(1, min(50, creates // 4))
    return {
        "benchmark": "notes_api",
        "backend": backend,
        "tenancy": "silo",
        "transport": "HTTP/1.1 keep-alive to the local REST gateway, sequential",
        "note_text_bytes": len(text.encode()),
        "list_limit": list_limit,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "create": summary(create_ms),
        "list": summary(list_ms),
        # moto deep-copies the table and its stream records on every TransactWriteItems,
        # so its writes slow down as a table's history grows; compare first and last.
        "create_first_window": summary(create_ms[:window]),
        "create_last_window": summary(create_ms[-window:]),
    }


def print_table(result: dict[str, Any]) -> None:
    rows = [
        ("POST /notes", result["create"]),
        (f"GET /notes?limit={result['list_limit']}", result["list"]),
        (f"POST /notes, first {result['create_first_window']['n']}", result["create_first_window"]),
        (f"POST /notes, last {result['create_last_window']['n']}", result["create_last_window"]),
    ]
    print(f"notes API on the local REST gateway, backend {result['backend']} ({result['tenancy']})")
    print(f"{'request':<28}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}{'max ms':>10}")
    for name, stats in rows:
        print(
            f"{name:<28}{stats['n']:>6}{stats['p50_ms']:>10.2f}{stats['p99_ms']:>10.2f}"
            f"{stats['mean_ms']:>10.2f}{stats['max_ms']:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["moto", "dynamodb-local"], default="moto")
    parser.add_argument("--creates", type=int, default=300)
    parser.add_argument("--lists", type=int, default=300)
    parser.add_argument("--list-limit", type=int, default=50)
    args = parser.parse_args()
    result = run(args.backend, args.creates, args.lists, args.list_limit)
    print_table(result)
    suffix = "" if args.backend == "moto" else f"-{args.backend}"
    results = RESULTS_DIR / f"notes_api{suffix}.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average (1 min) before/after: {result['machine']['load_average_1m']}")
    print(f"written to {results}")


if __name__ == "__main__":
    main()
