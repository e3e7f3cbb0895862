"""How `--stream-interval` trades latency against messages: for each interval, a runtime on
DynamoDB Local, one user with two clients following, the latency of single writes (a
quiet stream) and of writes 50 ms apart, and what a 200-write burst costs each client.

    .venv/bin/python -m bench.stream_interval [--intervals 25 50 100 250]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from bench.harness import ResultFile, local_runtime, print_table
from bench.realtime_latency import Followers, burst, users, warm_up, write_latencies
from tests.support.local_runtime import RuntimeProcess

CLIENTS = 2


@dataclass(frozen=True)
class IntervalPlan:
    """What is measured at each interval."""

    spaced: int = 20  # single writes, each on a quiet stream
    paced: int = 40  # writes started 50 ms apart
    burst: int = 200
    writer_threads: int = 8


def measure_one(runtime: RuntimeProcess, interval_ms: int, plan: IntervalPlan) -> dict[str, Any]:
    writer, other = users(runtime)
    with Followers.connected(runtime, other.token, CLIENTS) as followers:
        warm_up(writer, followers)
        single = write_latencies(writer, followers, plan.spaced)
        every_50 = write_latencies(writer, followers, plan.paced, spacing_s=0.05)
        burst_found = burst(writer, followers.clients, plan.burst, threads=plan.writer_threads)
    return {
        "stream_interval_ms": interval_ms,
        "single_write": single["latency"],
        "every_50_ms": every_50["latency"],
        "burst": burst_found,
    }


def measure(intervals: list[int], plan: IntervalPlan) -> list[dict[str, Any]]:
    """A fresh runtime per interval: equal conditions for every row."""
    found = []
    for interval in intervals:
        with local_runtime(stream_interval_ms=interval) as runtime:
            found.append(measure_one(runtime, interval, plan))
    return found


def table_rows(found: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    headers = [
        "stream interval",
        "single write p50",
        "every 50 ms p50",
        "burst: messages/client",
        "KB/client",
        "writes/s",
    ]
    rows: list[list[object]] = [
        [
            f"{run['stream_interval_ms']} ms",
            f"{run['single_write']['p50_ms']} ms",
            f"{run['every_50_ms']['p50_ms']} ms",
            run["burst"]["messages_per_client"],
            round(run["burst"]["bytes_per_client"] / 1000, 1),
            run["burst"]["achieved_per_s"],
        ]
        for run in found
    ]
    return headers, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, nargs="+", default=[25, 50, 100, 250])
    parser.add_argument("--spaced", type=int, default=IntervalPlan.spaced)
    parser.add_argument("--paced", type=int, default=IntervalPlan.paced)
    parser.add_argument("--burst", type=int, default=IntervalPlan.burst)
    parser.add_argument("--writer-threads", type=int, default=IntervalPlan.writer_threads)
    args = parser.parse_args()
    record = ResultFile("stream_interval")
    plan = IntervalPlan(args.spaced, args.paced, args.burst, args.writer_threads)
    found = measure(args.intervals, plan)
    print_table(*table_rows(found))
    print(f"wrote {record.write({'clients': CLIENTS, 'runs': found})}")


if __name__ == "__main__":
    main()
