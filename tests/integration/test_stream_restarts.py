"""Lifecycle of the DynamoDB side: checkpoints survive a restart (no replay, no loss), the
Java child never outlives the runtime, and a missing Java is explained."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from infra.local.config import PROJECT_DIR
from infra.local.ports import free_port
from tests.integration.test_stream_mappings import APP_DIR, Stack, batches
from tests.support.local_runtime import Recorder, RuntimeProcess, require_dynamodb_local


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def wait_dead(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_restart_replays_nothing_and_loses_nothing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    require_dynamodb_local()
    events_table = f"events-{uuid.uuid4().hex[:8]}"
    recorder = Recorder(tmp_path / "recorded.jsonl")

    def runtime() -> RuntimeProcess:
        return RuntimeProcess(
            APP_DIR,
            tmp_path / "data",
            args=["--stream-interval", "20"],
            env={"RECORDER_FILE": str(recorder.path), "EVENTS_TABLE": events_table},
        ).start()

    # Given a runtime on DynamoDB Local with a mapping made through the Lambda API
    first = Stack(runtime(), recorder, events_table)
    request.addfinalizer(first.runtime.stop)
    request.addfinalizer(lambda: print("first run:\n" + "".join(first.runtime.output)))
    first.create_table(events_table)
    table, stream_arn = first.create_table()
    mapping_id = first.map(stream_arn)
    first.put(table, "a")
    first.put(events_table, "e1")
    recorder.wait_for(
        lambda inv: (
            ["a"] in batches(inv, table) and ["e1"] in batches(inv, events_table, "on_event")
        )
    )
    [java] = first.runtime.children()
    # When an item is written just before the runtime stops (SIGTERM)
    first.put(table, "b")
    assert first.runtime.stop() == 0
    assert wait_dead(java), "DynamoDB Local outlived the runtime"
    # And the runtime starts again on the same data dir, and more is written
    second = Stack(runtime(), recorder, events_table)
    request.addfinalizer(second.runtime.stop)
    request.addfinalizer(lambda: print("second run:\n" + "".join(second.runtime.output)))
    try:
        listed = second.lambda_api.list_event_source_mappings(
            FunctionName="streams-test-local-recorder"
        )
        assert [m["UUID"] for m in listed["EventSourceMappings"]] == [mapping_id]
        second.put(table, "c")
        second.put(events_table, "e2")
        found = recorder.wait_for(
            lambda inv: (
                {"b", "c"} <= {k for b in batches(inv, table) for k in b}
                and ["e2"] in batches(inv, events_table, "on_event")
            )
        )
        time.sleep(0.3)  # a replay, if any, would come right after start-up
        found = recorder.invocations()
    finally:
        second.runtime.stop()
    # Then every record was delivered exactly once, across both runs
    delivered = Counter(k for batch in batches(found, table) for k in batch)
    assert delivered == {"a": 1, "b": 1, "c": 1}
    app_delivered = Counter(k for batch in batches(found, events_table, "on_event") for k in batch)
    assert app_delivered == {"e1": 1, "e2": 1}


def test_java_dies_with_a_killed_runtime(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    require_dynamodb_local()
    # Given a running runtime and its DynamoDB Local child
    runtime = RuntimeProcess(APP_DIR, tmp_path / "data", env={"RECORDER_FILE": str(tmp_path / "r")})
    request.addfinalizer(runtime.stop)
    runtime.start()
    [java] = runtime.children()
    # When the runtime is killed outright (no chance to clean up)
    runtime.stop(signal.SIGKILL)
    # Then the kernel takes the JVM down too
    assert wait_dead(java), "DynamoDB Local outlived a killed runtime"


def test_without_java_up_says_how_to_continue(tmp_path: Path) -> None:
    # Given a PATH without java
    empty = tmp_path / "bin"
    empty.mkdir()
    # When the default backend is asked for (on free ports: the defaults may be in use)
    ports = [
        flag for name in ("--port", "--ws-port", "--ddb-port") for flag in (name, str(free_port()))
    ]
    completed = subprocess.run(
        [sys.executable, "-m", "infra.local", "up", "--data-dir", str(tmp_path / "data"), *ports],
        cwd=PROJECT_DIR,
        env={**os.environ, "PATH": str(empty)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it exits with a message naming the way out
    assert completed.returncode != 0
    assert "Java is not installed" in completed.stderr
    assert "--backend moto" in completed.stderr
