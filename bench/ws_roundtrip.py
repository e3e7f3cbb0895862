"""WebSocket gateway figures: start-up, round trips, memory per idle connection.

    .venv/bin/python -m bench.ws_roundtrip [--roundtrips N] [--connections 1000 10000]

Runs the local runtime (moto backend) with the ws_echo test app as a user would,
prints a table and writes bench/results/ws_roundtrip.json.

- start-up: process start -> `GET /api/health` answers 200.
- round trip: client -> gateway -> `$default` handler (Lambda emulation, a thread)
  -> `app.websocket_api.send` (boto3 -> @connections over HTTP) -> client.
- post: boto3 `post_to_connection` from outside -> the client receives it.
- idle connections: the runtime's RSS before and after opening N connections that
  then stay silent, divided by N (the app records nothing in this run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import websockets

from tests.integration.runtime_process import (
    WS_ECHO_APP,
    RuntimeProcess,
    connect,
    connection_id,
    start_runtime,
)

RESULTS = Path(__file__).resolve().parent / "results" / "ws_roundtrip.json"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def measure_startup(runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        runtime = start_runtime(WS_ECHO_APP)
        times.append(runtime.started_in_s)
        runtime.stop()
    return {
        "runs": runs,
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
    }


def measure_roundtrips(runtime: RuntimeProcess, count: int, warmup: int = 100) -> dict[str, Any]:
    ws = connect(runtime)
    connection_id(ws)
    message = json.dumps({"action": "roundtrip", "payload": "x" * 64})
    samples = []
    for i in range(warmup + count):
        started = time.perf_counter()
        ws.send(message)
        ws.recv()
        if i >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    ws.close()
    return percentiles(samples)


def measure_posts(runtime: RuntimeProcess, count: int, warmup: int = 100) -> dict[str, Any]:
    ws = connect(runtime)
    cid = connection_id(ws)
    client = runtime.management()
    samples = []
    for i in range(warmup + count):
        started = time.perf_counter()
        client.post_to_connection(ConnectionId=cid, Data=b'{"type":"bench"}')
        ws.recv()
        if i >= warmup:
            samples.append((time.perf_counter() - started) * 1000)
    ws.close()
    return percentiles(samples)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _open_idle(url: str, count: int, batch: int) -> list[Any]:
    sockets: list[Any] = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        opened = await asyncio.gather(
            *(websockets.connect(url, ping_interval=None, open_timeout=60) for _ in range(size))
        )
        sockets.extend(opened)
    return sockets


def measure_idle_memory(count: int) -> dict[str, Any]:
    runtime = start_runtime(WS_ECHO_APP, env={"WS_ECHO_RECORD_EVENTS": "0"})
    try:
        # Warm the gateway, the handler and its thread pool before the baseline
        warm = connect(runtime)
        connection_id(warm)
        warm.close()
        time.sleep(1.0)
        before = rss_kib(runtime.pid)

        async def scenario() -> tuple[float, int]:
            started = time.perf_counter()
            url = runtime.ws_url(token="bench")  # noqa: S106 - the test app's $connect wants one
            sockets = await _open_idle(url, count, batch=200)
            opened_in = time.perf_counter() - started
            await asyncio.sleep(3.0)  # let the runtime settle (threads idle, buffers freed)
            after = rss_kib(runtime.pid)
            await asyncio.gather(*(s.close() for s in sockets))
            return opened_in, after

        opened_in, after = asyncio.run(scenario())
    finally:
        runtime.stop()
    return {
        "connections": count,
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "kib_per_connection": round((after - before) / count, 2),
        "opened_in_s": round(opened_in, 2),
        "connects_per_s": round(count / opened_in, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roundtrips", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="*", default=[1000, 10000])
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    startup = measure_startup(args.startups)
    runtime = start_runtime(WS_ECHO_APP, env={"WS_ECHO_RECORD_EVENTS": "0"})
    try:
        roundtrip = measure_roundtrips(runtime, args.roundtrips)
        post = measure_posts(runtime, args.roundtrips)
    finally:
        runtime.stop()
    idle = [measure_idle_memory(count) for count in args.connections]

    results: dict[str, Any] = {
        "benchmark": "ws_roundtrip",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            # Other work on the machine shows in the tails; the load average says how much.
            "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "startup": startup,
        "roundtrip_via_handler": roundtrip,
        "post_from_outside": post,
        "idle_connections": idle,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    print(f"load average (1 min) before / after: {results['machine']['load_average_1m']}")
    print(
        "start-up (process -> /api/health 200): "
        f"median {startup['median_s']} s, max {startup['max_s']} s"
    )
    print()
    print(f"{'path':44} {'n':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, row in (
        ("client -> $default -> @connections -> client", roundtrip),
        ("boto3 post_to_connection -> client", post),
    ):
        print(
            f"{name:44} {row['n']:>6} {row['p50_ms']:>8} {row['p90_ms']:>8} "
            f"{row['p99_ms']:>8} {row['max_ms']:>8}"
        )
    print()
    print(
        f"{'idle connections':>16} {'RSS before MiB':>15} {'RSS after MiB':>14} "
        f"{'KiB/conn':>9} {'connects/s':>11}"
    )
    for row in idle:
        print(
            f"{row['connections']:>16} {row['rss_before_mib']:>15} {row['rss_after_mib']:>14} "
            f"{row['kib_per_connection']:>9} {row['connects_per_s']:>11}"
        )
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
