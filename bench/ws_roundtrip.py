"""WebSocket gateway figures: start-up, round trips, memory per idle connection.

    .venv/bin/python -m bench.ws_roundtrip [--roundtrips N] [--connections 1000 10000]

Runs the local runtime (moto backend) with the ws_echo test app as a user would,
prints a table and writes bench/results/ws_roundtrip.json.

- start-up: process start -> `GET /api/health` answers 200.
- round trip: client -> gateway -> `$default` handler (Lambda emulation, a thread)
  -> `app.websocket_api.send` (boto3 -> @connections over HTTP) -> client.
- post: boto3 `post_to_connection` from outside -> the client receives it.
- idle connections: bench/capacity.py's measure (the runtime's RSS before and after
  opening N connections that then stay silent, divided by N).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from bench.capacity import ECHO_APP, measure_gateway
from bench.harness import ResultFile, elapsed_ms, local_runtime, print_table
from bench.harness import summary as percentiles
from tests.support.runtime_process import RuntimeProcess, connect, connection_id


def measure_startup(runs: int) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        with local_runtime(ECHO_APP) as runtime:
            times.append(runtime.started_in_s)
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
            samples.append(elapsed_ms(started))
    ws.close()
    return percentiles(samples, digits=3)


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
            samples.append(elapsed_ms(started))
    ws.close()
    return percentiles(samples, digits=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roundtrips", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="*", default=[1000, 10000])
    args = parser.parse_args()
    record = ResultFile("ws_roundtrip")
    startup = measure_startup(args.startups)
    with local_runtime(ECHO_APP) as runtime:
        roundtrip = measure_roundtrips(runtime, args.roundtrips)
        post = measure_posts(runtime, args.roundtrips)
    idle = [measure_gateway(count) for count in args.connections]
    path = record.write(
        {
            "startup": startup,
            "roundtrip_via_handler": roundtrip,
            "post_from_outside": post,
            "idle_connections": idle,
        }
    )
    print(
        "start-up (process -> /api/health 200): "
        f"median {startup['median_s']} s, max {startup['max_s']} s"
    )
    print()
    print_table(
        ["path", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        [
            [name, row["n"], row["p50_ms"], row["p90_ms"], row["p99_ms"], row["max_ms"]]
            for name, row in (
                ("client -> $default -> @connections -> client", roundtrip),
                ("boto3 post_to_connection -> client", post),
            )
        ],
    )
    print()
    print_table(
        ["idle connections", "held", "RSS before MiB", "RSS after MiB", "KiB/conn", "connects/s"],
        [
            [
                row["connections"],
                row["held"],
                row["rss_before_mib"],
                row["rss_after_mib"],
                row["kib_per_connection"],
                row["connects_per_s"],
            ]
            for row in idle
        ],
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
