"""`python -m bench --tiny`: every part of the benchmark runs end to end at a few samples each
and reports every row, so the scripts cannot rot between full runs. The figures themselves
are not checked (a loaded test machine says nothing about them): only that each is there."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.notes_api import BATCH_OPS
from bench.report import HEADERS
from bench.suite import PARTS, TINY, result_name
from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import require_dynamodb_local

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]

RUN_TIMEOUT_S = 240  # about 35 s on a quiet 2-core machine


def expected_measures() -> list[str]:
    """Every row the tiny scale's table must have, in order."""
    rows = [
        "session check, cache hit, p50",
        "session check, cache hit, p99",
        "session check, cache miss, p50",
        "session check, cache miss, p99",
    ]
    for count in TINY.client_counts:
        label = f"{count} client{'s' if count > 1 else ''}"
        rows += [
            f"single write -> {label}, p50",
            f"single write -> {label}, p99",
            f"writes 50 ms apart -> {label}, p50",
        ]
    widest = max(TINY.client_counts)
    rows.append(f"fan-out deliveries/s, {widest} clients of one user")
    rows.append("POST /notes, no client connected, p50")
    for count in TINY.client_counts:
        rows.append(f"POST /notes, {count} client{'s' if count > 1 else ''} connected, p50")
    slow = f"single write -> 1 client, stream read every {TINY.slow_stream_interval_ms} ms"
    rows += [f"{slow}, p50", f"{slow}, p99"]
    offered = (
        f"{TINY.big_burst:,} writes offered in {TINY.big_burst / TINY.big_burst_rate_per_s:g} s"
    )
    rows += [
        f"{offered}: writes/s taken",
        f"{offered}: messages per client",
        f"{offered}: KB per client",
        f"{offered}: last write -> all converged",
        f"{TINY.small_burst}-write burst: messages per client",
        f"{TINY.small_burst}-write burst: KB per client",
        "idle WebSocket connections held by the gateway",
        "memory per idle connection",
        "connections opened per second",
        "import app (fresh interpreter)",
        "first request after import (GET /notes)",
        "runtime start -> GET /api/health 200",
        "POST /notes, p50",
        "POST /notes, p99",
        "POST /collections/notes/docs, p50",
        "POST /collections/notes/docs, p99",
        f"POST /batch of {BATCH_OPS} creates, p50",
        f"POST /batch of {BATCH_OPS} creates, p99",
        "JS client: write -> other client's subscribe callback, p50",
        "Python client: write -> other client's on_change, p50",
    ]
    return rows


def test_the_tiny_benchmark_prints_and_records_every_row(tmp_path: Path):
    # Given DynamoDB Local and an empty results folder
    require_dynamodb_local()

    # When the whole benchmark runs at the tiny scale
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--results-dir", str(tmp_path)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )

    # Then it succeeds, and its JSON holds every row with a number, floors where measured
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    found = json.loads((tmp_path / f"{result_name(list(PARTS), TINY)}.json").read_text())
    assert found["parts"] == list(PARTS)
    figures = {figure["measure"]: figure for figure in found["figures"]}
    assert list(figures) == expected_measures()
    for figure in figures.values():
        assert math.isfinite(figure["value"]), figure
        assert figure["floor"] is None or math.isfinite(figure["floor"]), figure
    with_floor = [name for name, figure in figures.items() if figure["floor"] is not None]
    assert "session check, cache miss, p99" in with_floor
    assert "POST /notes, p50" in with_floor
    assert "POST /batch of 25 creates, p50" in with_floor
    assert "memory per idle connection" in with_floor
    assert all(figure["met"] is not None for figure in figures.values() if figure["target"])
    assert [run["stream_interval_ms"] for run in found["stream_interval"]] == list(
        TINY.intervals_ms
    )
    assert found["machine"]["cpus"] and found["machine"]["load_average_before"]

    # And the table on screen has the same rows, and the stream interval's table
    out = completed.stdout
    header = next(line for line in out.splitlines() if line.startswith(HEADERS[0]))
    assert header.split() == [word for h in HEADERS for word in h.split()]
    for measure in expected_measures():
        assert any(line.startswith(measure) for line in out.splitlines()), measure
    for interval in TINY.intervals_ms:
        assert any(line.startswith(f"{interval} ms ") for line in out.splitlines()), interval
