"""Load: 50 users with three clients each, every client writing for 30 s, all on one runtime
(DynamoDB Local) on the same two cores as the clients. No write may get a 5xx, nothing
written may be lost, and every client must end with exactly its user's notes.

The rate: each client writes (create 60%, edit 25%, delete 15%, its own notes) after a pause
drawn from an exponential distribution with a mean of WRITE_EVERY_S, the next write only
once the last one is answered, as a person's device does. A person saves a note every few
seconds at the most; 150 devices doing so is a burst for one machine that also runs every
Lambda, the WebSocket gateway and DynamoDB Local. Each write costs the runtime a request,
a transaction, a stream read, a fan-out to three sockets and three acks: at about 30
writes a second the two cores are saturated (see docs/reliability.md), so a mean pause of
6 s (25 writes/s offered) leaves headroom for the fan-out and the clients to keep up."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.fleet import Fleet, FleetClient
from tests.reliability.server_state import assert_holds_what_was_written
from tests.reliability.writers import Author, NoteWriter, PooledSessions, WriteLog
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser

pytestmark = [pytest.mark.reliability, pytest.mark.dynamodb_local, pytest.mark.slow]

USERS = 50
CLIENTS_PER_USER = 3
LOAD_S = 30.0
WRITE_EVERY_S = 6.0  # mean pause per client between writes (see the module's docstring)
HTTP_THREADS = 16  # the writers' requests share these threads, and their keep-alive sockets


def test_150_clients_writing_for_30_s_get_no_5xx_and_all_converge(
    reliability_runtime: RuntimeProcess, seed: int, fleet: Fleet, record_property
):
    runtime = reliability_runtime
    rng = random.Random(seed)
    log = WriteLog()
    sessions = PooledSessions()
    pool = ThreadPoolExecutor(HTTP_THREADS, thread_name_prefix="writer")
    # Given 50 users, each signed in once, with three clients (three client ids, one session)
    started = time.monotonic()
    users = list(pool.map(lambda n: RestUser.sign_up(runtime.api_url, f"load{n}"), range(USERS)))
    clients: list[FleetClient] = []
    authors: list[Author] = []
    for u, user in enumerate(users):
        names = [f"user{u}-client{c}" for c in range(CLIENTS_PER_USER)]
        clients += fleet.clients_of(runtime.ws_url, user.token, names, rng)
        for name in names:
            writer = NoteWriter(
                runtime.api_url, user.token, log, random.Random(rng.getrandbits(64)), sessions
            )
            authors.append(Author(name, writer, random.Random(rng.getrandbits(64))))
    fleet.start_welcomed(clients, timeout_s=60)
    setup_s = time.monotonic() - started

    # When every client writes for 30 s
    async def write_for(author: Author, until: float) -> None:
        loop = asyncio.get_running_loop()

        def write_in_time() -> None:
            # A write that waited for a thread past the window is not sent: 30 s means 30 s.
            if loop.time() < until:
                author.write_one()

        await asyncio.sleep(author.rng.uniform(0, WRITE_EVERY_S))  # not all at once
        while loop.time() < until:
            await loop.run_in_executor(pool, write_in_time)
            pause = author.rng.expovariate(1 / WRITE_EVERY_S)
            await asyncio.sleep(min(pause, max(0.0, until - loop.time())))

    load_started = time.monotonic()
    until = fleet.call(lambda: asyncio.get_running_loop().time()) + LOAD_S
    schedules = [fleet.spawn(write_for(author, until)) for author in authors]
    for schedule in schedules:
        schedule.result(timeout=LOAD_S + 120)
    load_s = time.monotonic() - load_started
    load_average = os.getloadavg()[0]
    pool.shutdown()
    sessions.close()
    # Then no write got a 5xx
    assert log.server_errors() == 0, log.figures()
    # And each user's notes on the server are exactly what its three clients wrote
    states = []
    for u, user in enumerate(users):
        version, notes = user.server_state()
        expected: dict[str, str] = {}
        for author in authors[u * CLIENTS_PER_USER : (u + 1) * CLIENTS_PER_USER]:
            expected.update(author.expected)
        assert_holds_what_was_written(user.id, notes, expected)
        states.append((version, notes))
    # And every client converges to its user's state, each (note, version) applied once
    converge_s = fleet.wait_users_converged(clients, states, CLIENTS_PER_USER)
    for client in clients:
        assert max(client.seen.applied.values(), default=1) == 1, client.name
        assert client.seen.cursor_regressions == [], client.name
    writes = sum(sum(a.counts.values()) for a in authors)
    changes = sorted(c.seen.messages["changes"] for c in clients)
    kilobytes = sorted(c.seen.bytes_received / 1024 for c in clients)
    figures = {
        "seed": seed,
        "setup_s": round(setup_s, 1),
        "load_s": round(load_s, 1),
        "writes": writes,
        "writes_per_s": round(writes / load_s, 1),
        "versions": sum(v for v, _ in states),
        **log.figures(),
        "changes_per_client_min_median_max": [changes[0], statistics.median(changes), changes[-1]],
        "kb_per_client_median": round(statistics.median(kilobytes), 1),
        "duplicate_changes": sum(c.seen.duplicate_changes for c in clients),
        "reconnects": sum(c.seen.opened - 1 for c in clients),
        "fleet_loop_lag_max_s": round(fleet.lag_max_s, 2),
        "socket_ends": dict(sum((c.seen.closes for c in clients), Counter[str]())),
        "converge_s": round(converge_s, 2),
        "load_average_1m": round(load_average, 1),
    }
    record_property("load", figures)
    print(f"load: {figures}")
