"""Write -> stream handler latency through the local runtime, and its start-up time.

Starts `python -m infra.local up` (DynamoDB Local by default) with the test app of
tests/integration/apps/streams_app, maps its `recorder` function to a table through the
Lambda API, then measures, from just before each PutItem to the moment the handler runs:
- "leading edge": writes spaced wider than --stream-interval (a quiet stream, read at once);
- "burst": writes 10 ms apart (they wait for the next read, at most one interval);
and the part after PutItem answered (the runtime's own share: wake, GetRecords, invoke).
With --data-dir on disk, DynamoDB Local's PutItem waits for SQLite's fsync.
Prints a table and writes bench/results/stream_latency.json.

    .venv/bin/python -m bench.stream_latency [--backend moto] [--writes 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.harness import ResultFile, RuntimeOptions, local_runtime, print_table, summary
from tests.support.local_runtime import RuntimeProcess

APP_DIR = Path(__file__).resolve().parents[1] / "tests" / "integration" / "apps" / "streams_app"


class Tail:
    """New JSON lines of the recorder file, keyed by the item key they carried."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0
        self.seen: dict[str, float] = {}

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            invocation = json.loads(line)
            for record in invocation["event"]["Records"]:
                key = record["dynamodb"]["Keys"]["pk"]["S"]
                self.seen.setdefault(key, invocation["received_at"])

    def wait(self, key: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while key not in self.seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} never reached the handler")
            time.sleep(0.0005)
            self.poll()
        return self.seen[key]


def stream_table(dynamodb: Any, table: str) -> str:
    """A table keyed by `pk` with a NEW_AND_OLD_IMAGES stream; its stream ARN."""
    description = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return str(description["LatestStreamArn"])


def measure(
    runtime: RuntimeProcess, tail: Tail, writes: int, spacing_s: float, label: str
) -> dict[str, Any]:
    dynamodb = runtime.client("dynamodb")
    table = f"bench-{uuid.uuid4().hex[:8]}"
    stream_arn = stream_table(dynamodb, table)
    runtime.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="streams-test-local-recorder",
        StartingPosition="LATEST",
    )
    for warm in range(5):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"{label}-warm-{warm}"}})
        tail.wait(f"{label}-warm-{warm}")
        time.sleep(0.15)
    latencies, after_put, puts, sent = [], [], [], {}
    for n in range(writes):
        key = f"{label}-{n}"
        started = time.time()
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "n": {"N": str(n)}})
        answered = time.time()
        puts.append((answered - started) * 1000)
        sent[key] = (started, answered)
        if spacing_s >= 0.1:
            tail.wait(key)
        time.sleep(spacing_s)
    for key, (started, answered) in sent.items():
        received = tail.wait(key)
        latencies.append((received - started) * 1000)
        after_put.append((received - answered) * 1000)
    return {
        "write_to_handler": summary(latencies),
        "put_answered_to_handler": summary(after_put),
        "put_item": summary(puts),
        "spacing_ms": spacing_s * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="dynamodb-local")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--stream-interval", type=int, default=100)
    args = parser.parse_args()
    suffix = "" if args.backend == "dynamodb-local" else f"_{args.backend}"
    record = ResultFile(f"stream_latency{suffix}")
    with tempfile.TemporaryDirectory() as folder:
        recorder = Path(folder) / "recorded.jsonl"
        options = RuntimeOptions(
            app_dir=APP_DIR,
            backend=args.backend,
            stream_interval_ms=args.stream_interval,
            env=(("RECORDER_FILE", str(recorder)),),
        )
        with local_runtime(options) as runtime:
            reported = next((line for line in runtime.output if "up in" in line), "").strip()
            tail = Tail(recorder)
            quiet = measure(runtime, tail, args.writes, 0.15, "quiet")
            burst = measure(runtime, tail, args.writes, 0.01, "burst")
    result = {
        "backend": args.backend,
        "stream_interval_ms": args.stream_interval,
        "startup_s": round(runtime.started_in_s, 2),
        "startup_reported": reported,
        "leading_edge": quiet,
        "burst": burst,
    }
    path = record.write(result)
    print(
        f"backend {args.backend}, stream interval {args.stream_interval} ms, "
        f"start-up {runtime.started_in_s:.2f} s until healthy ({reported})"
    )
    rows = [
        ("write -> handler, quiet stream", quiet["write_to_handler"]),
        ("write -> handler, burst (10 ms)", burst["write_to_handler"]),
        ("  of which after PutItem answered", quiet["put_answered_to_handler"]),
        ("PutItem through the front", quiet["put_item"]),
    ]
    print_table(
        ["scenario", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
        [[name, s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]] for name, s in rows],
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
