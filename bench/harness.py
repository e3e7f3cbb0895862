"""What every benchmark shares: percentiles, the machine a run was measured on, result files
under bench/results/, plain-text tables, and the local runtime started on free ports.

    with local_runtime(stream_interval_ms=50) as runtime:
        ...
    record = ResultFile("notes_api")   # notes the load average now
    ...
    record.write({"create": summary(samples)})   # adds the machine, the load after, the date
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infra.local.config import PROJECT_DIR
from infra.local.dynamodb_local import DynamoDBLocalUnavailableError, find_install, find_java
from tests.support.local_runtime import RuntimeProcess

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_STREAM_INTERVAL_MS = 100  # the runtime's default (DESIGN §6)
# Libraries whose versions move the figures; recorded with every result.
MEASURED_LIBRARIES = (
    "boto3",
    "botocore",
    "chalice",
    "pynamodb",
    "aws-lambda-powertools",
    "pydantic",
    "uvicorn",
    "starlette",
    "websockets",
    "websocket-client",
    "moto",
)


# -- statistics ---------------------------------------------------------------------------


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest sample with `fraction` of all at or below it."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float], unit: str = "ms", digits: int = 2) -> dict[str, Any]:
    """n, p50, p90, p99, max and mean of `samples`, keyed `p50_{unit}` and so on."""
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        f"p50_{unit}": round(percentile(samples, 0.50), digits),
        f"p90_{unit}": round(percentile(samples, 0.90), digits),
        f"p99_{unit}": round(percentile(samples, 0.99), digits),
        f"max_{unit}": round(max(samples), digits),
        f"mean_{unit}": round(statistics.fmean(samples), digits),
    }


def elapsed_ms(since: float) -> float:
    """Milliseconds since `since`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - since) * 1000


# -- the machine ---------------------------------------------------------------------------


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in MEASURED_LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def _dynamodb_local_version() -> str | None:
    """DynamoDB Local's release folder (it names the date) and the Java that runs it."""
    try:
        install, java = find_install(), find_java()
    except (DynamoDBLocalUnavailableError, SystemExit):
        return None
    completed = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=30, check=False
    )
    first_line = (completed.stderr or completed.stdout).splitlines()[:1]
    return f"{install.jar.parent.name} on {first_line[0] if first_line else 'java'}"


def _git_commit() -> str | None:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return completed.stdout.strip() or None


def machine(load_before: list[float]) -> dict[str, Any]:
    """What a figure depends on besides the code: cores, load (other work shows in the
    tails), Python, the libraries, DynamoDB Local and the commit measured."""
    return {
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": _library_versions(),
        "dynamodb_local": _dynamodb_local_version(),
        "commit": _git_commit(),
    }


class ResultFile:
    """One benchmark's JSON under bench/results/: its figures and the machine's state.

    Made before measuring, so the load average before the run is the one recorded.
    """

    def __init__(self, name: str, results_dir: Path = RESULTS_DIR) -> None:
        self.path = results_dir / f"{name}.json"
        self.name = name
        self._load_before = load_average()
        self._started = time.monotonic()

    def write(self, figures: dict[str, Any]) -> Path:
        body = {
            "benchmark": self.name,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "duration_s": round(time.monotonic() - self._started, 1),
            "machine": machine(self._load_before),
            **figures,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(body, indent=2) + "\n")
        return self.path


# -- tables --------------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None
) -> None:
    if title:
        print(title)
    print(format_table(headers, rows))


# -- the runtime ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeOptions:
    """How to start `python -m infra.local up` for a benchmark."""

    app_dir: Path = PROJECT_DIR
    backend: str = "dynamodb-local"
    stream_interval_ms: int = DEFAULT_STREAM_INTERVAL_MS
    extra_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


def dynamodb_clients(runtime: RuntimeProcess) -> tuple[Any, Any]:
    """boto3 `dynamodb` and `dynamodbstreams` on the runtime's DynamoDB port (the front)."""
    options: dict[str, Any] = {
        "endpoint_url": f"http://127.0.0.1:{runtime.ddb_port}",
        "region_name": "us-east-1",
        "aws_access_key_id": "bench",
        "aws_secret_access_key": "bench",  # any works locally
    }
    return boto3.client("dynamodb", **options), boto3.client("dynamodbstreams", **options)


@contextlib.contextmanager
def local_runtime(options: RuntimeOptions | None = None, **given: Any) -> Iterator[RuntimeProcess]:
    """The local runtime on free ports with a temporary data folder (on disk, as by default),
    healthy when entered, stopped on exit. Options as a RuntimeOptions or keywords."""
    chosen = options or RuntimeOptions(**given)
    runtime = RuntimeProcess(
        chosen.app_dir,
        backend=chosen.backend,
        args=["--stream-interval", str(chosen.stream_interval_ms), *chosen.extra_args],
        env=dict(chosen.env),
    )
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()
