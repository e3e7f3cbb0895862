"""Realtime sync through the local runtime: write -> other client latency, and burst costs.

Starts `python -m infra.local up` with this project's app (DynamoDB Local, the default
100 ms stream interval), signs a user up twice (two sessions, as a laptop and a phone),
keeps a sync client (tests/support/sync_client.py) connected on each, and measures:
- latency: from just before a REST `POST /notes` on one session to the moment the
  `changes` message carrying that version is read by the other session's client,
  for single writes spaced out (each waits for the previous to arrive, then a pause)
  and for writes started 50 ms apart;
- bursts: writes as fast as one writer goes (500, then 200), and the `changes`
  messages and bytes each client received for them.
Prints a table and writes bench/results/realtime_latency.json.

    .venv/bin/python -m bench.realtime_latency [--spaced 100] [--paced 200]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from bench.stream_latency import summary
from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser
from tests.support.sync_client import Received, SyncClient, wait_converged

RESULTS = Path(__file__).resolve().parent / "results" / "realtime_latency.json"


class Arrivals:
    """When each version was first read by the observing client (monotonic seconds)."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    def on_applied(self, _client: SyncClient, received: Received) -> None:
        with self._arrived:
            for item in received.message["items"]:
                self.at.setdefault(int(item["version"]), received.at)
            self._arrived.notify_all()

    def wait(self, version: int, timeout_s: float = 30.0) -> float:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while version not in self.at:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"version {version} never arrived")
                self._arrived.wait(left)
            return self.at[version]


def latencies(writer: RestUser, arrivals: Arrivals, count: int, spacing_s: float) -> dict[str, Any]:
    """`count` writes; spacing 0 waits for each to arrive and pauses 0.3 s (spaced out).

    Also how long each POST took to answer (the REST write's own share).
    """
    started: dict[int, float] = {}
    answered_ms: list[float] = []
    next_at = time.monotonic()
    for n in range(count):
        if spacing_s:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += spacing_s
        began = time.monotonic()
        version = int(writer.create(f"latency {n}")["version"])
        answered_ms.append((time.monotonic() - began) * 1000)
        started[version] = began
        if not spacing_s:
            arrivals.wait(version)
            time.sleep(0.3)
    samples = [(arrivals.wait(v) - began) * 1000 for v, began in started.items()]
    return {**summary(samples), "rest_write": summary(answered_ms)}


def burst(writer: RestUser, clients: list[SyncClient], count: int) -> dict[str, Any]:
    """`count` writes as fast as one writer goes; what each client received for them."""
    before = [len(c.received) for c in clients]
    began = time.monotonic()
    for n in range(count):
        writer.create(f"burst {n}")
    writing_s = time.monotonic() - began
    version, notes = writer.server_state()
    for each in clients:
        wait_converged(each, version, notes, timeout_s=60)
    settled_s = time.monotonic() - began
    per_client = []
    for each, start in zip(clients, before, strict=True):
        got = [r for r in each.received[start:] if r.message.get("type") == "changes"]
        per_client.append(
            {
                "messages": len(got),
                "bytes": sum(r.size for r in got),
                "largest_message_bytes": max(r.size for r in got),
            }
        )
    return {
        "writes": count,
        "writes_per_s": round(count / writing_s, 1),
        "last_write_to_all_converged_ms": round((settled_s - writing_s) * 1000, 1),
        "per_client": per_client,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaced", type=int, default=100, help="single writes, spaced out")
    parser.add_argument("--paced", type=int, default=200, help="writes started 50 ms apart")
    args = parser.parse_args()
    load_before = os.getloadavg()
    runtime = RuntimeProcess(PROJECT_DIR).start()
    try:
        laptop = RestUser.sign_up(runtime.api_url, "Bench")
        phone = laptop.login()
        arrivals = Arrivals()
        observer = SyncClient(runtime.ws_url, phone.token, on_applied=arrivals.on_applied)
        writer_client = SyncClient(runtime.ws_url, laptop.token)
        clients = [writer_client.connect(), observer.connect()]
        for n in range(10):  # warm-up: cold paths (imports, connections) out of the figures
            arrivals.wait(int(laptop.create(f"warm-up {n}")["version"]))
        spaced = latencies(laptop, arrivals, args.spaced, 0.0)
        paced = latencies(laptop, arrivals, args.paced, 0.05)
        bursts = {str(n): burst(laptop, clients, n) for n in (500, 200)}
        for each in clients:
            each.disconnect()
    finally:
        runtime.stop()
    result = {
        "backend": "dynamodb-local",
        "stream_interval_ms": 100,
        "latency_write_to_other_client": {"spaced_out": spaced, "every_50_ms": paced},
        "bursts": bursts,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"DynamoDB Local, stream interval 100 ms, load {load_before[0]:.1f} before")
    print(f"{'REST write -> other client':<34}{'n':>5}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
    rows = (
        ("single writes, spaced out", spaced),
        ("  of which the POST itself", spaced["rest_write"]),
        ("writes 50 ms apart", paced),
        ("  of which the POST itself", paced["rest_write"]),
    )
    for name, s in rows:
        print(f"{name:<34}{s['n']:>5}{s['p50_ms']:>9}{s['p90_ms']:>9}{s['p99_ms']:>9}")
    print(f"{'burst':<10}{'writes/s':>10}{'messages per client':>22}{'bytes per client':>24}")
    for size, b in bursts.items():
        messages = ", ".join(str(c["messages"]) for c in b["per_client"])
        sizes = ", ".join(str(c["bytes"]) for c in b["per_client"])
        print(f"{size:<10}{b['writes_per_s']:>10}{messages:>22}{sizes:>24}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
