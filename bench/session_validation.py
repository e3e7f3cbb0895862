"""Session validation: the app's SessionService, a cache hit and a miss, against the runtime's
DynamoDB, beside its floors.

- hit: `validate(token)` of a session in the instance's cache (hash the token, look it up);
  floor: SHA-256 of the token and a dict lookup, the least any cache check does;
- miss: the same with the cache off (one consistent GetItem through PynamoDB, then the
  expiry check); floor: one raw boto3 GetItem of the same item on the same endpoint,
  interleaved with the misses so both see the same machine.

    .venv/bin/python -m bench.session_validation [--hits 20000] [--misses 300]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from bench.harness import ResultFile, dynamodb_clients, local_runtime, summary
from bench.report import Figure, render
from chalicelib.logic.clock import SystemClock
from chalicelib.logic.tokens import hash_token
from chalicelib.services import build_services
from chalicelib.settings import Settings
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser

HIT_TARGET_P99_US = 50.0


def app_settings(runtime: RuntimeProcess, **overrides: Any) -> Settings:
    """The settings the runtime gives the app (stage local), for services built in this process."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")  # PynamoDB wants some; DynamoDB Local takes any
    return Settings(
        stage="local",
        table_prefix="userdb-local",
        region="us-east-1",
        dynamodb_endpoint=f"http://127.0.0.1:{runtime.ddb_port}",
        lambda_endpoint=f"http://127.0.0.1:{runtime.port}",
        **overrides,
    )


def _timed_us(call: Any, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def measure(runtime: RuntimeProcess, hits: int, misses: int) -> dict[str, Any]:
    token = RestUser.sign_up(runtime.api_url, "Bench").token
    cached = build_services(app_settings(runtime), SystemClock()).sessions
    uncached = build_services(
        app_settings(runtime, session_cache_seconds=0), SystemClock()
    ).sessions
    dynamodb, _ = dynamodb_clients(runtime)
    table, key = "userdb-local-sessions", {"pk": {"S": hash_token(token)}}

    cached.validate(token)  # the first validation reads, and fills the cache
    _timed_us(lambda: cached.validate(token), 1000)  # warm-up
    hit = _timed_us(lambda: cached.validate(token), hits)
    entries = {hash_token(token): object()}
    hit_floor = _timed_us(lambda: entries.get(hash_token(token)), hits)

    miss: list[float] = []
    get_item: list[float] = []
    for n in range(misses + 30):
        # Alternate which goes first, so neither always follows the other.
        pair = [
            (miss, lambda: uncached.validate(token)),
            (get_item, lambda: dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)),
        ]
        for samples, call in pair if n % 2 else reversed(pair):
            [took] = _timed_us(call, 1)
            if n >= 30:  # warm-up: connection pools, PynamoDB's table description
                samples.append(took / 1000)
    return {
        "cache_hit": summary(hit, unit="us"),
        "cache_hit_floor_sha256_and_dict": summary(hit_floor, unit="us"),
        "cache_miss": summary(miss),
        "cache_miss_floor_get_item": summary(get_item),
    }


def figures(found: dict[str, Any]) -> list[Figure]:
    hit, hit_floor = found["cache_hit"], found["cache_hit_floor_sha256_and_dict"]
    miss, get_item = found["cache_miss"], found["cache_miss_floor_get_item"]
    hashing = "SHA-256 of the token + dict lookup"
    raw_get = "one raw boto3 GetItem, same endpoint"
    return [
        Figure("session check, cache hit, p50", hit["p50_us"], "µs", hit_floor["p50_us"], hashing),
        Figure(
            "session check, cache hit, p99",
            hit["p99_us"],
            "µs",
            hit_floor["p99_us"],
            hashing,
            target=HIT_TARGET_P99_US,
        ),
        Figure("session check, cache miss, p50", miss["p50_ms"], "ms", get_item["p50_ms"], raw_get),
        Figure("session check, cache miss, p99", miss["p99_ms"], "ms", get_item["p99_ms"], raw_get),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=20_000)
    parser.add_argument("--misses", type=int, default=300)
    args = parser.parse_args()
    record = ResultFile("session_validation")
    with local_runtime() as runtime:
        found = measure(runtime, args.hits, args.misses)
    print(render(figures(found)))
    print(f"wrote {record.write(found)}")


if __name__ == "__main__":
    main()
