"""Idle cost of many tenant tables: CPU of the runtime process (and of its DynamoDB Local
JVM) with N tables that have streams, TTL and an event source mapping each, nothing written.
Prints a table and writes bench/results/idle_streams.json.

    .venv/bin/python -m bench.idle_streams [--tables 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.harness import ResultFile, RuntimeOptions, local_runtime, print_table
from bench.stream_latency import APP_DIR, stream_table

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Percent of one core each process used over `seconds`."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {
        name: round((cpu_seconds(pid) - before[name]) / elapsed * 100, 3)
        for name, pid in pids.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--no-ttl", action="store_true", help="tables without TTL")
    parser.add_argument("--safety-poll", type=float, default=30.0, help="--stream-safety-poll")
    args = parser.parse_args()
    record = ResultFile("idle_streams_no_ttl" if args.no_ttl else "idle_streams")
    with tempfile.TemporaryDirectory() as folder:
        options = RuntimeOptions(
            app_dir=APP_DIR,
            extra_args=("--stream-safety-poll", str(args.safety_poll)),
            env=(("RECORDER_FILE", str(Path(folder) / "r")),),
        )
        with local_runtime(options) as runtime:
            [java] = runtime.children()
            pids = {"runtime": runtime.pid, "dynamodb-local": java}
            time.sleep(args.settle)
            empty = idle_cpu(pids, args.seconds)
            dynamodb, lambda_api = runtime.client("dynamodb"), runtime.client("lambda")
            started = time.monotonic()
            for n in range(args.tables):
                table = f"tenant-{n:04d}"
                arn = stream_table(dynamodb, table)
                if not args.no_ttl:
                    dynamodb.update_time_to_live(
                        TableName=table,
                        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
                    )
                dynamodb.put_item(TableName=table, Item={"pk": {"S": "first"}})
                lambda_api.create_event_source_mapping(
                    EventSourceArn=arn,
                    FunctionName="streams-test-local-recorder",
                    StartingPosition="TRIM_HORIZON",
                )
            provisioning_s = time.monotonic() - started
            time.sleep(args.settle)
            loaded = idle_cpu(pids, args.seconds)
    result = {
        "tables": args.tables,
        "ttl": not args.no_ttl,
        "safety_poll_s": args.safety_poll,
        "seconds": args.seconds,
        "provisioning_s": round(provisioning_s, 1),
        "cpu_percent_no_tables": empty,
        "cpu_percent_with_tables": loaded,
    }
    path = record.write(result)
    print(
        f"idle CPU (% of one core) over {args.seconds:.0f} s; {args.tables} tables, "
        + (
            "each with a stream and an event source mapping"
            if args.no_ttl
            else "each with a stream, TTL and an event source mapping"
        )
    )
    print_table(
        ["process", "no tables", f"{args.tables} tables"],
        [[name, empty[name], loaded[name]] for name in pids],
    )
    print(f"(made the {args.tables} tables and mappings in {provisioning_s:.1f} s)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
