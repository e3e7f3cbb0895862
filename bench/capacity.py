"""Capacity of the local WebSocket gateway: idle connections held and memory per connection,
beside a bare `websockets` server holding the same number (bench/floors.py).

The gateway runs the ws_echo test app (tests/integration/apps/ws_echo, moto backend, event
recording off) so the figure is the gateway's own: `$connect` through the Lambda
emulation, the connection's bookkeeping, uvicorn + Starlette + websockets. The app's
own `$connect` adds a DynamoDB write per connection, not memory in the gateway.

After opening N connections that then stay silent, it waits, counts the connections
still open, and sends a round trip through `$default` on a sample of them (the gateway
still serves them). Memory: the process's RSS after minus before, over N.

    .venv/bin/python -m bench.capacity [--connections 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from bench.floors import broadcast_server, rss_kib
from bench.harness import ResultFile, RuntimeOptions, local_runtime, print_table
from tests.support.runtime_process import WS_ECHO_APP, connect, connection_id

TARGET_CONNECTIONS = 10_000
SETTLE_S = 3.0
SAMPLED_ROUND_TRIPS = 50
# The ws_echo test app with its event recording off (it would dominate memory).
ECHO_APP = RuntimeOptions(
    app_dir=WS_ECHO_APP, backend="moto", env=(("WS_ECHO_RECORD_EVENTS", "0"),)
)


async def open_idle(url: str, count: int, batch: int = 200) -> list[ClientConnection]:
    """`count` connections, `batch` at a time, that never send anything."""
    sockets: list[ClientConnection] = []
    for start in range(0, count, batch):
        size = min(batch, count - start)
        sockets.extend(
            await asyncio.gather(
                *(websockets.connect(url, ping_interval=None, open_timeout=60) for _ in range(size))
            )
        )
    return sockets


async def _round_trips(sockets: list[ClientConnection], sample: int) -> int:
    """Round trips through the app's `$default` on `sample` connections spread over all."""
    served = 0
    step = max(1, len(sockets) // sample)
    for ws in sockets[::step][:sample]:
        await ws.send(json.dumps({"action": "whoami"}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        served += int("connectionId" in reply)
    return served


def hold_idle(
    url: str, pid: int, count: int, probe: Callable[[list[ClientConnection]], Any] | None
) -> dict[str, Any]:
    """Open `count` idle connections to `url`; what process `pid` holds, and its memory."""
    time.sleep(0.5)
    before = rss_kib(pid)

    async def scenario() -> dict[str, Any]:
        started = time.perf_counter()
        sockets = await open_idle(url, count)
        opened_s = time.perf_counter() - started
        await asyncio.sleep(SETTLE_S)  # threads idle, buffers freed
        after = rss_kib(pid)
        held = sum(ws.state is State.OPEN for ws in sockets)
        served = await probe(sockets) if probe else None
        await asyncio.gather(*(ws.close() for ws in sockets))
        return {
            "connections": count,
            "held": held,
            "round_trips_served": served,
            "rss_before_mib": round(before / 1024, 1),
            "rss_after_mib": round(after / 1024, 1),
            "kib_per_connection": round((after - before) / count, 2),
            "opened_in_s": round(opened_s, 2),
            "connects_per_s": round(count / opened_s, 1),
        }

    return asyncio.run(scenario())


def measure_gateway(count: int) -> dict[str, Any]:
    """The gateway (the ws_echo app, moto) holding `count` idle connections."""
    with local_runtime(ECHO_APP) as runtime:
        # The gateway, the handlers and their thread pool warm before the baseline.
        warm = connect(runtime)
        connection_id(warm)
        warm.close()
        url = runtime.ws_url(token="bench")  # noqa: S106 - the test app's $connect wants one
        return hold_idle(
            url, runtime.pid, count, lambda s: _round_trips(s, min(SAMPLED_ROUND_TRIPS, count))
        )


def measure_floor(count: int) -> dict[str, Any]:
    """A bare `websockets` server holding `count` idle connections."""
    with broadcast_server() as server:
        return hold_idle(server.url, server.pid, count, None)


def allow_open_files(count: int) -> int:
    """Raise this process's open-file limit (the servers started after inherit it) to hold
    `count` sockets and some to spare, as far as the hard limit lets; the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def measure(count: int) -> dict[str, Any]:
    limit = allow_open_files(count)
    return {
        "open_files_limit": limit,
        "gateway": measure_gateway(count),
        "floor_bare_websockets": measure_floor(count),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=TARGET_CONNECTIONS)
    args = parser.parse_args()
    record = ResultFile("capacity")
    found = measure(args.connections)
    rows = [
        [
            name,
            row["connections"],
            row["held"],
            row["kib_per_connection"],
            row["rss_after_mib"],
            row["connects_per_s"],
        ]
        for name, row in found.items()
        if isinstance(row, dict)
    ]
    print_table(["server", "opened", "held", "KiB/conn", "RSS MiB", "connects/s"], rows)
    print(f"wrote {record.write(found)}")


if __name__ == "__main__":
    main()
