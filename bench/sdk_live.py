"""What a user of the Python SDK sees: write-to-other-client latency, bursts, resume, cold start.

    .venv/bin/python -m bench.sdk_live [--backend moto|dynamodb-local] [--writes 200] [--burst 300]

Starts `python -m infra.local up` (this project's app) on free ports and signs
up one user. A writer `userdb.Client` writes over REST; a subscriber (another
client, its own state folder) follows live. Measured:
- latency: from just before a create to the subscriber's `on_change` with that
  note, sequential writes;
- burst: N writes back to back, then the time until the subscriber holds the
  server's version, and how many change sets it applied (coalescing);
- resume: the subscriber restarts from its state folder after 100 writes:
  time to converge, and whether a snapshot was needed (it must not be);
- cold start: a client without state: time to a live snapshot of all notes.
Prints a table and writes bench/results/sdk_live[-<backend>].json.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import userdb
from bench.harness import ResultFile, local_runtime, summary
from tests.support.local_runtime import RuntimeProcess

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway local account
WAIT_S = 60.0


class Follower:
    """A subscriber that records when each note version arrived."""

    def __init__(self, client: userdb.Client) -> None:
        self.client = client
        self.seen: dict[tuple[str, int], float] = {}
        self.change_sets = 0
        self.snapshots = 0
        self.arrived = threading.Condition()
        self.live = client.subscribe(on_change=self.on_change)

    def on_change(self, change: userdb.ChangeSet) -> None:
        now = time.perf_counter()
        with self.arrived:
            if not change.local:
                self.change_sets += 1
                self.snapshots += int(change.snapshot)
            for note in change.upserted:
                self.seen.setdefault((note.id, note.version), now)
            self.arrived.notify_all()

    def wait_for(self, key: tuple[str, int]) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: key in self.seen, WAIT_S):
                raise TimeoutError(f"{key} never arrived")
            return self.seen[key]


def run(backend: str, writes: int, burst: int) -> dict[str, Any]:
    with local_runtime(backend=backend) as runtime:
        return measure(runtime, writes, burst)


def measure(runtime: RuntimeProcess, writes: int, burst: int) -> dict[str, Any]:
    base, ws = f"http://127.0.0.1:{runtime.port}", f"ws://127.0.0.1:{runtime.ws_port}/"
    with tempfile.TemporaryDirectory(prefix="userdb-bench-") as temporary:
        folder = Path(temporary)
        writer = userdb.Client(base, ws, None)
        email = f"bench-{time.time_ns()}@example.com"
        writer.signup(email, PASSWORD, "Bench")
        reader = userdb.Client(base, ws, folder / "reader")
        reader.login(email, PASSWORD)
        follower = Follower(reader)
        assert follower.live.wait_live(WAIT_S)

        latencies = []
        for n in range(writes):
            started = time.perf_counter()
            note = writer.notes.create(f"latency {n}")
            latencies.append((follower.wait_for((note.id, note.version)) - started) * 1000)

        sets_before = follower.change_sets
        started = time.perf_counter()
        for n in range(burst):
            note = writer.notes.create(f"burst {n}")
        written = time.perf_counter()
        follower.wait_for((note.id, note.version))
        burst_result = {
            "writes": burst,
            "write_s": round(written - started, 3),
            "converged_after_last_write_ms": round((time.perf_counter() - written) * 1000, 1),
            "change_sets_applied": follower.change_sets - sets_before,
        }

        follower.live.close()
        reader.close()
        for n in range(100):
            note = writer.notes.create(f"while away {n}")
        started = time.perf_counter()
        resumed = Follower(userdb.Client(base, ws, folder / "reader"))
        resumed.wait_for((note.id, note.version))
        resume_result = {
            "missed_writes": 100,
            "converged_ms": round((time.perf_counter() - started) * 1000, 1),
            "snapshots": resumed.snapshots,
        }
        resumed.live.close()

        total = writes + burst + 100
        started = time.perf_counter()
        fresh_client = userdb.Client(base, ws, folder / "fresh")
        fresh_client.login(email, PASSWORD)
        login_s = time.perf_counter() - started
        fresh = Follower(fresh_client)
        fresh.wait_for((note.id, note.version))
        cold_result = {
            "notes": total,
            "snapshot_ms": round((time.perf_counter() - started - login_s) * 1000, 1),
            "held": len(fresh.live.notes()),
        }
        fresh.live.close()
    return {
        "backend": runtime.backend,
        "latency_write_to_other_client": summary(latencies),
        "burst": burst_result,
        "resume_from_state_folder": resume_result,
        "cold_start": cold_result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="moto", choices=["moto", "dynamodb-local"])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--burst", type=int, default=300)
    args = parser.parse_args()
    suffix = "" if args.backend == "moto" else f"-{args.backend}"
    record = ResultFile(f"sdk_live{suffix}")
    result = run(args.backend, args.writes, args.burst)
    latency = result["latency_write_to_other_client"]
    print(f"sdk_live on {args.backend}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| write -> other client p50 / p99 | {latency['p50_ms']} / {latency['p99_ms']} ms |")
    burst = result["burst"]
    print(
        f"| burst of {burst['writes']}: writes took | {burst['write_s']} s, "
        f"converged {burst['converged_after_last_write_ms']} ms after the last, "
        f"{burst['change_sets_applied']} change sets |"
    )
    resume = result["resume_from_state_folder"]
    print(
        f"| resume after {resume['missed_writes']} missed writes | {resume['converged_ms']} ms, "
        f"{resume['snapshots']} snapshots |"
    )
    cold = result["cold_start"]
    print(
        f"| cold start, {cold['notes']} notes | {cold['snapshot_ms']} ms to hold {cold['held']} |"
    )
    print(f"wrote {record.write(result)}")


if __name__ == "__main__":
    main()
