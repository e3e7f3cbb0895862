"""Sync under chaos: two users write (create, edit, delete) while their clients drop 30% of
their acks, sockets are cut at random from either side, `@connections` answers 410, 429 and
500 at random and the fan-out function raises at random. Every client must end with exactly
its user's notes, having applied each (note, version) once, its cursor never going back.

Time is compressed for the clients (a ping every 2 s instead of 30 s, backoff capped at 2 s):
a push lost for good (its connection forgotten after an injected 410, its batch's retries
spent) is found by the next heartbeat, so the wait for convergence stays short."""

from __future__ import annotations

import contextlib
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from tests.reliability.fleet import Fleet, FleetClient, Notes
from tests.reliability.server_state import assert_holds_what_was_written
from tests.reliability.writers import Author, NoteWriter, WriteLog
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser
from userdb.sync import SyncTimings

pytestmark = [pytest.mark.reliability, pytest.mark.dynamodb_local, pytest.mark.slow]

USERS = 2
CLIENTS_PER_USER = 3
CHAOS_S = 20.0
ACK_DROP_RATE = 0.3
CUT_EVERY_S = (1.0, 3.0)  # a socket is cut (either side, at random) every 1 to 3 s
WRITE_PAUSE_S = (0.05, 0.25)  # per writer: about 5 writes a second
FAULTS = {
    "connections": [
        {"status": 410, "rate": 0.03},
        {"status": 429, "rate": 0.15},
        {"status": 500, "rate": 0.03},
    ],
    "functions": [{"function": "*-fan_out", "rate": 0.15, "message": "chaos"}],
}
TIMINGS = SyncTimings(
    ping_interval=2.0,
    pong_timeout=3.0,
    welcome_timeout=3.0,
    sync_timeout=3.0,
    backoff_initial=0.2,
    backoff_max=2.0,
)


def test_every_client_converges_through_dropped_acks_cut_sockets_and_failing_pushes(
    reliability_runtime: RuntimeProcess, seed: int, fleet: Fleet, record_property
):
    runtime = reliability_runtime
    rng = random.Random(seed)
    # Given two users, each with three clients that drop 30% of their acks
    log = WriteLog()
    users: list[RestUser] = []
    authors: list[Author] = []
    clients: list[FleetClient] = []
    for u in range(USERS):
        user = RestUser.sign_up(runtime.api_url)
        writer = NoteWriter(runtime.api_url, user.token, log, random.Random(rng.getrandbits(64)))
        authors.append(Author(user.id, writer, random.Random(rng.getrandbits(64))))
        users.append(user)
        names = [f"user{u}-client{c}" for c in range(CLIENTS_PER_USER)]
        clients += fleet.clients_of(
            runtime.ws_url, user.token, names, rng, timings=TIMINGS, ack_drop_rate=ACK_DROP_RATE
        )
    fleet.start_welcomed(clients)
    # When @connections and the fan-out fail at random (the runtime's fault plan, seeded)
    runtime.faults("PUT", {"seed": seed, **FAULTS})
    # And the users write for 20 s while sockets are cut, from the client's side or the server's
    management = runtime.management()
    stop = threading.Event()

    def write_until_stopped(author: Author) -> None:
        while not stop.is_set():
            author.write_one()
            time.sleep(author.rng.uniform(*WRITE_PAUSE_S))

    writers = [
        threading.Thread(target=write_until_stopped, args=(a,), daemon=True) for a in authors
    ]
    for thread in writers:
        thread.start()
    cuts = {"client": 0, "server": 0}
    started = time.monotonic()
    while time.monotonic() - started < CHAOS_S:
        time.sleep(rng.uniform(*CUT_EVERY_S))
        victim = rng.choice(clients)
        if rng.random() < 0.5:
            fleet.cut(victim)
            cuts["client"] += 1
        else:
            connection_id = fleet.connection_id(victim)
            if connection_id:
                with contextlib.suppress(ClientError):  # it may have just dropped anyway
                    management.delete_connection(ConnectionId=connection_id)
                cuts["server"] += 1
    stop.set()
    for thread in writers:
        thread.join(timeout=120)
    chaos_s = time.monotonic() - started
    # Then each user's notes on the server are exactly what their writer wrote
    states: list[tuple[int, Notes]] = []
    for user, author in zip(users, authors, strict=True):
        version, notes = user.server_state()
        assert_holds_what_was_written(user.id, notes, author.expected)
        states.append((version, notes))
    # And every client converges to its user's state while the faults go on
    converge_s = fleet.wait_users_converged(clients, states, CLIENTS_PER_USER)
    plan = runtime.faults()
    runtime.faults("DELETE")
    # And no client applied a (note, version) twice, nor moved its cursor back
    for client in clients:
        applied = client.seen.applied
        assert max(applied.values()) == 1, (client.name, applied.most_common(3))
        assert client.seen.cursor_regressions == [], client.name
    # And the chaos happened: every kind of fault fired
    fired = [rule["fired"] for rule in plan["connections"] + plan["functions"]]
    assert all(fired), plan
    assert sum(c.seen.acks_dropped for c in clients) > 0
    assert cuts["client"] and cuts["server"]
    seen = [c.seen for c in clients]
    figures = {
        "seed": seed,
        "chaos_s": round(chaos_s, 1),
        "writes": [dict(a.counts) for a in authors],
        "write_statuses": dict(log.statuses),
        "faults_fired": dict(zip(["410", "429", "500", "fan_out"], fired, strict=True)),
        "cuts": cuts,
        "acks_sent_dropped": [(s.sent["ack"], s.acks_dropped) for s in seen],
        "connects": [s.opened for s in seen],
        "changes_messages": [s.messages["changes"] for s in seen],
        "duplicate_changes": [s.duplicate_changes for s in seen],
        "gap_changes": [s.gap_changes for s in seen],
        "syncs_pings_sent": [(s.sent["sync"], s.sent["ping"]) for s in seen],
        "server_errors": [dict(s.server_errors) for s in seen if s.server_errors],
        "converge_s": round(converge_s, 2),
    }
    record_property("chaos", figures)
    print(f"chaos: {figures}")
