"""Realtime sync through the local runtime: REST write -> change applied by the user's other
clients, and what bursts cost each client.

One user, two sessions (a laptop writing over REST, and its other devices): N sync
clients (tests/support/sync_client.py, threads of this process) follow the second
session, apply every `changes` message and ack as DESIGN §5 says. Measured:
- latency: from just before `POST /notes` to the moment each client applied the
  change, for single writes (each waits for every client, then a pause of 150 ms: a
  person saving every so often) and for writes started 50 ms apart; with 1, 10 and 100
  clients, and the POST's own time with none. From the same arrivals, the deliveries
  per second to a user's many devices: one write's clients over the spread of its arrivals;
- bursts: N writes offered at a rate (or as fast as the writers go) by several writer
  threads: `changes` messages and bytes per client, writes per second achieved, 429s,
  and the time until every client holds the server's state.

    .venv/bin/python -m bench.realtime_latency [--clients 0 1 10 100] [--spaced 40] [--paced 100]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from bench.harness import (
    DEFAULT_STREAM_INTERVAL_MS,
    ResultFile,
    local_runtime,
    print_table,
    summary,
)
from tests.support.documents import note_as_doc
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser
from tests.support.sync_client import Received, SyncClient, wait_converged

NOTE_TEXT = "benchmark note " * 13  # about 200 bytes
WAIT_S = 60.0


class Arrivals:
    """When each client applied each version (monotonic seconds), as the clients report it."""

    def __init__(self) -> None:
        self.at: dict[tuple[int, int], float] = {}
        self._index: dict[int, int] = {}
        self._arrived = threading.Condition()

    def watch(self, client: SyncClient) -> None:
        self._index[id(client)] = len(self._index)

    def on_applied(self, client: SyncClient, received: Received) -> None:
        applied = time.monotonic()
        index = self._index.get(id(client))
        if index is None:
            return
        with self._arrived:
            for item in received.message["items"]:
                self.at.setdefault((index, int(item["version"])), applied)
            self._arrived.notify_all()

    def wait_all(self, version: int, timeout_s: float = WAIT_S) -> list[float]:
        """When every watched client applied `version`."""
        keys = [(index, version) for index in range(len(self._index))]
        with self._arrived:
            if not self._arrived.wait_for(lambda: all(k in self.at for k in keys), timeout_s):
                missing = sum(k not in self.at for k in keys)
                raise TimeoutError(f"version {version} never reached {missing} client(s)")
            return [self.at[k] for k in keys]


@dataclass
class Followers:
    """N sync clients of one session of the user, each with its own clientId."""

    clients: list[SyncClient]
    arrivals: Arrivals

    @classmethod
    @contextlib.contextmanager
    def connected(cls, runtime: RuntimeProcess, token: str, count: int) -> Iterator[Followers]:
        arrivals = Arrivals()
        clients = []
        try:
            for _ in range(count):
                client = SyncClient(runtime.ws_url, token, on_applied=arrivals.on_applied)
                arrivals.watch(client)
                clients.append(client.connect(timeout_s=30))
            yield cls(clients, arrivals)
        finally:
            for client in clients:
                client.disconnect()


# A person saving every so often, each save awaited by their other devices: the pause
# after each write has arrived everywhere (DESIGN's "writes every 150 ms").
SINGLE_WRITE_PAUSE_S = 0.15


def write_latencies(
    writer: RestUser,
    followers: Followers,
    writes: int,
    *,
    spacing_s: float | None = None,
    quiet_s: float = SINGLE_WRITE_PAUSE_S,
) -> dict[str, Any]:
    """`writes` notes, started `spacing_s` apart, or (None) one at a time, each awaited by
    every client and followed by `quiet_s` without writes. Latency to every client, the
    POST's own time, and deliveries per second over each write's spread of arrivals."""
    started: dict[int, float] = {}
    post_ms: list[float] = []
    next_at = time.monotonic()
    for n in range(writes):
        if spacing_s is not None:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += spacing_s
        began = time.monotonic()
        version = int(writer.create(f"latency {n}")["version"])
        post_ms.append((time.monotonic() - began) * 1000)
        started[version] = began
        if spacing_s is None:
            followers.arrivals.wait_all(version)
            time.sleep(quiet_s)
    latencies: list[float] = []
    rates: list[float] = []
    count = len(followers.clients)
    for version, began in started.items():
        arrivals = followers.arrivals.wait_all(version)
        if not arrivals:
            continue
        latencies.extend((at - began) * 1000 for at in arrivals)
        spread = max(arrivals) - min(arrivals)
        if count > 1 and spread > 0:
            rates.append((count - 1) / spread)
    found: dict[str, Any] = {
        "writes": writes,
        "clients": count,
        "latency": summary(latencies),
        "post": summary(post_ms),
    }
    if rates:
        found["deliveries_per_s"] = summary(rates, unit="per_s", digits=0)
    return found


class WriterPool:
    """Writer threads posting notes for one session, each on its own keep-alive connection;
    a 429 is retried after its Retry-After, as a client must."""

    def __init__(self, api_url: str, token: str, threads: int) -> None:
        self.api_url, self.token, self.threads = api_url, token, threads
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def _post(self, text: str) -> tuple[int, int]:
        """POST until it is taken: the 429s it met on the way, and the bytes of the note's
        JSON as sync carries it (a document of `notes`)."""
        busy = 0
        while True:
            reply = self._session().post(
                f"{self.api_url}/notes", json={"text": text}, timeout=WAIT_S
            )
            if reply.status_code == 201:
                item = note_as_doc(reply.json()["note"])
                return busy, len(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            if reply.status_code != 429:
                raise AssertionError(f"POST /notes answered {reply.status_code}: {reply.text}")
            busy += 1
            time.sleep(float(reply.headers.get("Retry-After", "1")))

    def write(self, count: int, rate_per_s: float | None = None) -> dict[str, Any]:
        """`count` writes, offered `rate_per_s` (None: as fast as the threads go)."""
        lock = threading.Lock()
        taken = iter(range(count))
        busy, note_bytes = [0], [0]
        began = time.monotonic()

        def work() -> None:
            while True:
                with lock:
                    n = next(taken, None)
                if n is None:
                    return
                if rate_per_s:
                    time.sleep(max(0.0, began + n / rate_per_s - time.monotonic()))
                met, size = self._post(f"burst {n} " + NOTE_TEXT[:60])
                with lock:
                    busy[0] += met
                    note_bytes[0] += size

        workers = [threading.Thread(target=work, daemon=True) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(WAIT_S * 5)
        writing_s = time.monotonic() - began
        return {
            "writes": count,
            "writer_threads": self.threads,
            "offered_per_s": rate_per_s,
            "achieved_per_s": round(count / writing_s, 1),
            "writing_s": round(writing_s, 3),
            "answered_429": busy[0],
            # Each note's item once: the least any client must receive for the burst.
            "notes_bytes": note_bytes[0],
        }


def burst(
    writer: RestUser,
    clients: list[SyncClient],
    count: int,
    *,
    threads: int,
    rate_per_s: float | None = None,
) -> dict[str, Any]:
    """`count` writes by `threads` writers; what each client received until it converged."""
    before = [len(c.messages()) for c in clients]
    began = time.monotonic()
    written = WriterPool(writer.api, writer.token, threads).write(count, rate_per_s)
    version, notes = writer.server_state()
    for client in clients:
        wait_converged(client, version, notes, timeout_s=WAIT_S)
    converged_s = time.monotonic() - began
    per_client = []
    for client, start in zip(clients, before, strict=True):
        got = [r for r in client.messages()[start:] if r.message.get("type") == "changes"]
        per_client.append(
            {
                "messages": len(got),
                "bytes": sum(r.size for r in got),
                "largest_message_bytes": max((r.size for r in got), default=0),
            }
        )
    return {
        **written,
        "clients": len(clients),
        "last_write_to_all_converged_ms": round((converged_s - written["writing_s"]) * 1000, 1),
        "first_write_to_all_converged_ms": round(converged_s * 1000, 1),
        "messages_per_client": max(c["messages"] for c in per_client),
        "bytes_per_client": max(c["bytes"] for c in per_client),
        "per_client": per_client,
    }


def users(runtime: RuntimeProcess) -> tuple[RestUser, RestUser]:
    """A new user's two sessions: the writer's, and the one its other devices follow."""
    writer = RestUser.sign_up(runtime.api_url, "Bench")
    return writer, writer.login()


def warm_up(writer: RestUser, followers: Followers, writes: int = 5) -> None:
    """A few writes, each awaited, then a quiet pause: the warm-up's writes come back to
    back, a burst the fast path leaves to the stream, and without the pause the first
    measured write would still be part of it (it was each run's slowest, by the stream's
    interval)."""
    for n in range(writes):
        followers.arrivals.wait_all(int(writer.create(f"warm-up {n}")["version"]))
    time.sleep(SINGLE_WRITE_PAUSE_S)


def measure_latency(
    runtime: RuntimeProcess,
    client_counts: list[int],
    spaced: int,
    paced: int,
) -> dict[str, Any]:
    """Spaced and 50 ms-paced writes with each number of clients (a new user for each; with
    0 clients, the POST's own time with nobody connected). Paced writes need a client."""
    found: dict[str, Any] = {}
    for count in client_counts:
        writer, other = users(runtime)
        with Followers.connected(runtime, other.token, count) as followers:
            warm_up(writer, followers)
            found[str(count)] = {
                "single_writes": write_latencies(writer, followers, spaced),
            }
            if count:
                found[str(count)]["every_50_ms"] = write_latencies(
                    writer, followers, paced, spacing_s=0.05
                )
    return found


def measure_bursts(
    runtime: RuntimeProcess, sizes: list[tuple[int, float | None]], clients: int, threads: int
) -> dict[str, Any]:
    """For each (writes, offered rate): a new user, `clients` clients, one burst."""
    found: dict[str, Any] = {}
    for count, rate in sizes:
        writer, other = users(runtime)
        with Followers.connected(runtime, other.token, clients) as followers:
            warm_up(writer, followers, 2)
            found[str(count)] = burst(
                writer, followers.clients, count, threads=threads, rate_per_s=rate
            )
    return found


def print_results(latency: dict[str, Any], bursts: dict[str, Any]) -> None:
    rows = []
    for count, runs in latency.items():
        for name, run in runs.items():
            s, post = run["latency"], run["post"]
            if s["n"]:
                rows.append(
                    [f"{name}, {count} client(s)", s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"]]
                )
            rows.append(["  of which the POST", post["n"], post["p50_ms"], "", post["p99_ms"]])
    print_table(["REST write -> applied by each client", "n", "p50 ms", "p90 ms", "p99 ms"], rows)
    print()
    print_table(
        ["burst", "writes/s", "429s", "messages/client", "bytes/client", "converged ms"],
        [
            [
                f"{size} writes ({b['writer_threads']} writers, {b['clients']} clients)",
                b["achieved_per_s"],
                b["answered_429"],
                b["messages_per_client"],
                b["bytes_per_client"],
                b["last_write_to_all_converged_ms"],
            ]
            for size, b in bursts.items()
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[0, 1, 10, 100])
    parser.add_argument("--spaced", type=int, default=40, help="single writes, spaced out")
    parser.add_argument("--paced", type=int, default=100, help="writes started 50 ms apart")
    parser.add_argument("--burst-clients", type=int, default=5)
    parser.add_argument("--writer-threads", type=int, default=8)
    parser.add_argument("--stream-interval", type=int, default=DEFAULT_STREAM_INTERVAL_MS)
    args = parser.parse_args()
    record = ResultFile("realtime_latency")
    with local_runtime(stream_interval_ms=args.stream_interval) as runtime:
        latency = measure_latency(runtime, args.clients, args.spaced, args.paced)
        bursts = measure_bursts(
            runtime, [(1000, 1000.0), (200, None)], args.burst_clients, args.writer_threads
        )
    print_results(latency, bursts)
    path = record.write(
        {
            "backend": "dynamodb-local",
            "stream_interval_ms": args.stream_interval,
            "latency_write_to_other_clients": latency,
            "bursts": bursts,
        }
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
