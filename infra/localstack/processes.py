"""LocalStack's processes by pid, through /proc: what runs under one, whether it still
runs, what it holds in memory, and stopping it, its DynamoDB Local's JVM included (which
LocalStack runs in a session of its own, out of reach of a signal to its group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

MAIN_MODULE = "localstack.runtime.main"


def stop_pid(pid: int, timeout: float = 20.0, reap: Any = None) -> bool:
    """Stop the LocalStack with this pid and what runs under it; False if it was not running.

    LocalStack stops its DynamoDB Local on SIGTERM; whatever outlives the timeout is killed,
    its JVM included (which runs in a session of its own, out of reach of a group signal).
    `reap` waits for the child when this process started it (else it would linger as a zombie).
    """
    if not _is_localstack(pid):
        return False
    family = descendants(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    _wait_gone([pid], timeout, reap)
    for leftover in [pid, *family]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(leftover, signal.SIGKILL)
    _wait_gone([pid, *family], 10, reap)
    return True


def descendants(pid: int) -> list[int]:
    """Every process under `pid`, from /proc (children of each of its threads)."""
    found, pending = [], [pid]
    while pending:
        for task in _tasks(pending.pop()):
            with contextlib.suppress(OSError):
                children = [int(child) for child in (task / "children").read_text().split()]
                found.extend(children)
                pending.extend(children)
    return found


def _tasks(pid: int) -> list[Path]:
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pids: list[int], timeout: float, reap: Any) -> None:
    deadline = time.monotonic() + timeout
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        if reap is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                reap(timeout=0.2)
        else:
            time.sleep(0.2)
    if reap is not None:  # collect our child's exit status, once it has one
        with contextlib.suppress(subprocess.TimeoutExpired):
            reap(timeout=0.1)


def _is_localstack(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return MAIN_MODULE.encode() in command and _running(pid)


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of `pid` and every process under it (LocalStack and its JVM)."""
    total = 0
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total
