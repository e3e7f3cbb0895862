"""LocalStack without Docker beside its floor, AWS's DynamoDB Local alone (the same jar, which
LocalStack runs underneath): start, first table, a call, memory. Each run starts both afresh.
Prints a table and writes bench/results/localstack_start.json.

    .venv/bin/python -m bench.localstack_start [--runs 3] [--calls 300]

Needs LocalStack installed (make localstack-install) and Java 17+ with the jar.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.harness import ResultFile, percentile, print_table
from infra.local.dynamodb_local import DynamoDBLocalProcess
from infra.local.ports import free_port
from infra.localstack.install import installed
from infra.localstack.process import LocalStackProcess, dynamodb_client
from infra.localstack.processes import tree_rss_bytes


def first_table_s(client: Any) -> float:
    """CreateTable (streamed, as tenant tables are) until DescribeTable says ACTIVE."""
    name = f"first-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.01)
    client.put_item(TableName=name, Item={"pk": {"S": "k"}, "v": {"S": "x" * 200}})
    return time.monotonic() - started


def get_item_ms(client: Any, calls: int) -> list[float]:
    table = client.list_tables()["TableNames"][0]
    times = []
    for n in range(calls + 50):
        started = time.perf_counter()
        client.get_item(TableName=table, Key={"pk": {"S": "k"}})
        if n >= 50:  # warm-up: JIT, connection pool
            times.append((time.perf_counter() - started) * 1000)
    return times


def measure_dynamodb_local(calls: int) -> dict[str, float]:
    process = DynamoDBLocalProcess("127.0.0.1", free_port(), data_dir=None)
    started = time.monotonic()
    url = process.start()
    try:
        client = dynamodb_client(url)
        client.list_tables(Limit=1)
        answering_s = time.monotonic() - started
        table_s = first_table_s(client)
        times = get_item_ms(client, calls)
        assert process.pid is not None
        memory = tree_rss_bytes(process.pid)
    finally:
        process.stop()
    return {
        "dynamodb_answering_s": answering_s,
        "first_table_s": table_s,
        "get_item_p50_ms": percentile(times, 0.5),
        "memory_mb": memory / 2**20,
    }


def measure_localstack(calls: int) -> dict[str, float]:
    installation = installed()
    if installation is None:
        raise SystemExit("LocalStack is not installed: make localstack-install")
    root = Path(tempfile.mkdtemp(prefix="bench-localstack-"))
    process = LocalStackProcess(
        installation, host="127.0.0.1", port=free_port(), filesystem_root=root, log=root / "log"
    )
    try:
        report = process.start()
        client = dynamodb_client(process.url)
        table_s = first_table_s(client)
        times = get_item_ms(client, calls)
        memory = process.memory_bytes()
    finally:
        process.stop()
        shutil.rmtree(root, ignore_errors=True)
    return {
        "healthy_s": report.healthy_s,
        "dynamodb_answering_s": report.dynamodb_ready_s,
        "first_table_s": table_s,
        "get_item_p50_ms": percentile(times, 0.5),
        "memory_mb": memory / 2**20,
        "version": installation.describe(),  # type: ignore[dict-item]
    }


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in runs[0].items() if isinstance(v, float)]
    return {k: round(statistics.median(run[k] for run in runs), 3) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    record = ResultFile("localstack_start")
    floor_runs, localstack_runs = [], []
    for _ in range(args.runs):  # alternated, so both see the same machine noise
        floor_runs.append(measure_dynamodb_local(args.calls))
        localstack_runs.append(measure_localstack(args.calls))
    floor, localstack = medians(floor_runs), medians(localstack_runs)
    rows = [
        ["healthy (LocalStack's /_localstack/health)", "-", localstack["healthy_s"], "s"],
        *[
            [label, floor[key], localstack[key], unit]
            for label, key, unit in (
                ("DynamoDB answering (start to ListTables)", "dynamodb_answering_s", "s"),
                ("first table: CreateTable to ACTIVE + a PutItem", "first_table_s", "s"),
                ("GetItem p50, boto3", "get_item_p50_ms", "ms"),
                ("memory at the end (RSS, JVM included)", "memory_mb", "MB"),
            )
        ],
    ]
    print_table(
        ["figure (median of runs)", "DynamoDB Local", "LocalStack", "unit"],
        rows,
        f"{localstack_runs[0]['version']}, {args.runs} runs, {args.calls} GetItem calls each",
    )
    path = record.write(
        {
            "localstack": localstack_runs[0]["version"],
            "runs": args.runs,
            "calls": args.calls,
            "dynamodb_local": floor,
            "localstack_medians": localstack,
            "ratios_to_floor": {
                key: round(localstack[key] / floor[key], 2)
                for key in floor
                if floor[key] and key in localstack
            },
            "raw": {"dynamodb_local": floor_runs, "localstack": localstack_runs},
        }
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
