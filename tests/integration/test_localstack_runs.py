"""`python -m infra.localstack run -- COMMAND` (what `make test-localstack` does) as a user
runs it: LocalStack started for the command and stopped however the command ends, one already
running used and left running; and a started LocalStack listens on loopback only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.ports import free_port
from infra.localstack.process import health, serves_dynamodb
from infra.localstack.processes import MAIN_MODULE
from infra.localstack.service import LocalStackFiles
from tests.support.local_runtime import wait_for
from tests.support.localstack import LocalStackDynamoDB

pytestmark = [pytest.mark.localstack, pytest.mark.slow]

START_TIMEOUT_S = 180


def wrapper(url: str, *command: str) -> list[str]:
    return [sys.executable, "-m", "infra.localstack", "--endpoint", url, "run", "--", *command]


def localstack_processes(port: int) -> list[int]:
    """LocalStack on `port` (its environment says where it listens) and its DynamoDB Local
    (whose command line names the port's folder, .cache/localstack/port-N)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
            ours = MAIN_MODULE.encode() in command and (
                f"GATEWAY_LISTEN=127.0.0.1:{port}\0".encode() in (entry / "environ").read_bytes()
            )
        except OSError:
            continue
        if ours or f"/port-{port}/".encode() in command:
            found.append(int(entry.name))
    return found


def assert_nothing_left(port: int) -> None:
    assert health(f"http://127.0.0.1:{port}") is None
    wait_for(lambda: not localstack_processes(port), 30, "LocalStack's processes to end")


@pytest.fixture
def port() -> Iterator[int]:
    """A free port for a LocalStack of the test's own; its folder goes afterwards."""
    chosen = free_port()
    yield chosen
    shutil.rmtree(LocalStackFiles(chosen).folder, ignore_errors=True)


def test_a_failing_command_gets_its_exit_code_and_localstack_is_stopped(localstack_dynamodb, port):
    # Given nothing on a port, and a command that checks LocalStack answers, then fails
    url = f"http://127.0.0.1:{port}"
    check = f"import urllib.request as r, sys; r.urlopen('{url}/_localstack/health'); sys.exit(3)"
    # When it runs under `run`
    completed = subprocess.run(
        wrapper(url, sys.executable, "-c", check),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )
    # Then it ran with LocalStack up, its exit code comes back, and nothing is left
    assert completed.returncode == 3, completed.stderr
    assert "stopped when the command ends" in completed.stderr
    assert_nothing_left(port)


def test_ctrl_c_stops_the_command_and_then_localstack(localstack_dynamodb, port, tmp_path):
    # Given a long command under `run`, in its own process group as in a terminal
    url = f"http://127.0.0.1:{port}"
    running = tmp_path / "running"
    command = f"import pathlib, time; pathlib.Path('{running}').touch(); time.sleep(300)"
    run = subprocess.Popen(
        wrapper(url, sys.executable, "-c", command),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(running.exists, START_TIMEOUT_S, "the command to start")
        # When Ctrl-C reaches the group (the terminal sends SIGINT to all of it)
        os.killpg(run.pid, signal.SIGINT)
        _, errors = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    # Then the command was interrupted and LocalStack stopped after it
    assert run.returncode == 128 + signal.SIGINT, errors
    assert f"LocalStack on {url} stopped" in errors
    assert_nothing_left(port)


def test_a_localstack_already_running_is_used_and_left_running(
    localstack_dynamodb: LocalStackDynamoDB,
):
    # Given LocalStack running (this session's)
    url = localstack_dynamodb.endpoint
    # When a command runs under `run` with that endpoint
    completed = subprocess.run(
        wrapper(url, sys.executable, "-c", "pass"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it ran against it, and LocalStack still answers
    assert completed.returncode == 0, completed.stderr
    assert "using the LocalStack already on" in completed.stderr
    assert serves_dynamodb(health(url))


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    if len(host) == 8:
        parts = [str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0)]
        return f"{'.'.join(parts)}:{int(port, 16)}"
    return f"[{host}]:{int(port, 16)}"


def bound_addresses(pid: int) -> list[str]:
    """Where `pid` listens (TCP) or is bound (UDP), from /proc/net."""
    inodes = _socket_inodes(pid)
    found = []
    for table, listening in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[3] == listening:
                found.append(f"{table} {_address(fields[1])}")
    return found


def test_localstack_itself_listens_on_loopback_only(localstack_dynamodb: LocalStackDynamoDB):
    # Given the LocalStack this session started
    if localstack_dynamodb.pid is None:
        pytest.skip("checked where the session starts LocalStack itself (make test), not here")
    # Then its gateway is on 127.0.0.1 only, and it has no DNS server (nor anything else)
    addresses = bound_addresses(localstack_dynamodb.pid)
    port = localstack_dynamodb.endpoint.rsplit(":", 1)[1]
    assert addresses == [f"tcp 127.0.0.1:{port}"]
