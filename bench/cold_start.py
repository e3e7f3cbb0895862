"""Cold start: `import app` in a fresh interpreter, the first request after it, and the local
runtime's own start, each beside its floor.

- import: `import app` (bench/cold_start_child.py, nothing imported before it); floor:
  the same interpreter importing every third-party module `import app` loaded, in the
  same order: what the dependencies cost, without a line of ours;
- first request: `GET /notes` with a bearer token through the app's handler, as Lambda
  calls it after init (services built, clients made, session read, notes read), on the
  runtime's DynamoDB; floor: a new boto3 client's first GetItem;
- runtime start: `python -m infra.local up` until `GET /api/health` answers 200; floor:
  DynamoDB Local's JVM alone until it accepts connections.
Each child is a new process; medians of `runs`.

    .venv/bin/python -m bench.cold_start [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.harness import ResultFile, local_runtime, print_table
from chalicelib.logic.tokens import hash_token
from infra.local.app_loader import stage_config
from infra.local.config import PROJECT_DIR
from infra.local.dynamodb_local import DynamoDBLocalProcess
from infra.local.ports import free_port
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser


def child_environment(runtime: RuntimeProcess) -> dict[str, str]:
    """The stage's environment, with the runtime's endpoints, as Lambda would set it."""
    stage = stage_config(PROJECT_DIR, "local").environment_variables
    return {
        **os.environ,
        **{k: str(v) for k, v in stage.items()},
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "USERDB_DYNAMODB_ENDPOINT": f"http://127.0.0.1:{runtime.ddb_port}",
        "USERDB_LAMBDA_ENDPOINT": f"http://127.0.0.1:{runtime.port}",
        "USERDB_WEBSOCKET_ENDPOINT": f"http://127.0.0.1:{runtime.ws_port}/local",
    }


def run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cold_start_child", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            found: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return found
    raise RuntimeError(f"cold start child failed:\n{completed.stdout}\n{completed.stderr}")


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(run[key] for run in runs)), 1)


def measure(runtime: RuntimeProcess, runs: int) -> dict[str, Any]:
    token = RestUser.sign_up(runtime.api_url, "Bench").token
    env = child_environment(runtime)
    apps, floors, clients = [], [], []
    for _ in range(runs):
        app = run_child(env, "app", token)
        apps.append(app)
        floors.append(run_child(env, "modules", *app.pop("third_party_modules")))
        clients.append(run_child(env, "dynamodb", hash_token(token)))
    started = time.monotonic()
    backend = DynamoDBLocalProcess("127.0.0.1", free_port(), data_dir=None)
    backend.start()
    jvm_s = time.monotonic() - started
    backend.stop()
    return {
        "runs": runs,
        "import_app_ms": _median(apps, "import_ms"),
        "import_floor_third_party_ms": _median(floors, "import_ms"),
        "third_party_modules": floors[0]["modules"],
        "first_request_ms": _median(apps, "first_request_ms"),
        "second_request_ms": _median(apps, "second_request_ms"),
        "first_request_floor_get_item_ms": _median(clients, "first_request_ms"),
        "runtime_start_s": round(runtime.started_in_s, 2),
        "runtime_start_floor_dynamodb_local_s": round(jvm_s, 2),
        "all_runs": {"app": apps, "import_floor": floors, "get_item_floor": clients},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    record = ResultFile("cold_start")
    with local_runtime() as runtime:
        found = measure(runtime, args.runs)
    print_table(
        ["cold start", "ms", "floor ms"],
        [
            ["import app", found["import_app_ms"], found["import_floor_third_party_ms"]],
            ["first request", found["first_request_ms"], found["first_request_floor_get_item_ms"]],
            ["second request", found["second_request_ms"], ""],
            [
                "runtime start -> /api/health 200",
                found["runtime_start_s"] * 1000,
                found["runtime_start_floor_dynamodb_local_s"] * 1000,
            ],
        ],
    )
    print(f"wrote {record.write(found)}")


if __name__ == "__main__":
    main()
