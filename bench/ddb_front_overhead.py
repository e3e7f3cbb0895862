"""What the DynamoDB front on --ddb-port adds to each call: GetItem straight to DynamoDB
Local vs through the front, interleaved so both see the same machine noise.
Prints a table and writes bench/results/ddb_front_overhead.json.

    .venv/bin/python -m bench.ddb_front_overhead [--calls 2000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import boto3

from bench.harness import ResultFile, percentile, print_table, summary
from infra.local.dynamodb_local import DynamoDBLocalProcess
from infra.local.dynamodb_runtime import DynamoDBRuntime, DynamoDBRuntimeConfig
from infra.local.ports import free_port


def client(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",  # noqa: S106 - any works locally
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    record = ResultFile("ddb_front_overhead")
    backend = DynamoDBLocalProcess("127.0.0.1", free_port(), data_dir=None)
    backend_url = backend.start()
    front = DynamoDBRuntime(
        DynamoDBRuntimeConfig(
            backend_url=backend_url,
            host="127.0.0.1",
            port=free_port(),
            region="us-east-1",
            state_dir=None,
        )
    )
    try:
        front_url = front.start_front()
        direct, fronted = client(backend_url), client(front_url)
        direct.create_table(
            TableName="bench-front",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        direct.put_item(TableName="bench-front", Item={"pk": {"S": "k"}, "v": {"S": "x" * 200}})
        key = {"pk": {"S": "k"}}
        times: dict[str, list[float]] = {"direct": [], "front": []}
        for n in range(args.calls + 200):
            for name, c in (
                (("direct", direct), ("front", fronted))
                if n % 2
                else (("front", fronted), ("direct", direct))
            ):
                started = time.perf_counter()
                c.get_item(TableName="bench-front", Key=key)
                if n >= 200:  # warm-up: JIT, connection pools
                    times[name].append((time.perf_counter() - started) * 1000)
    finally:
        front.stop()
        backend.stop()
    paired = [f - d for f, d in zip(times["front"], times["direct"], strict=True)]
    result = {
        "calls": args.calls,
        "direct": summary(times["direct"], digits=3),
        "front": summary(times["front"], digits=3),
        "added_p50_ms": round(percentile(paired, 0.5), 3),
    }
    path = record.write(result)
    print(f"GetItem via boto3, {args.calls} calls each, interleaved")
    print_table(
        ["path", "p50 ms", "p90 ms", "p99 ms", "mean ms"],
        [
            [name, s["p50_ms"], s["p90_ms"], s["p99_ms"], s["mean_ms"]]
            for name, s in (("direct", result["direct"]), ("front", result["front"]))
        ],
    )
    print(f"added by the front (median of paired differences): {result['added_p50_ms']} ms")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
