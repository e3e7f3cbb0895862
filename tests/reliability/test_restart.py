"""The local runtime restarted twice in the middle of a 500-write burst (DynamoDB Local, one
data dir): once crashing (SIGKILL), once gracefully (SIGTERM). Writers see their requests
refused or cut off meanwhile and retry each note with its Idempotency-Key; the SDK's sync
engine, in three clients, reconnects with backoff and resumes with `hello since=cursor`."""

from __future__ import annotations

import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.local.config import PROJECT_DIR
from tests.reliability.fleet import Fleet
from tests.reliability.server_state import synced_state
from tests.reliability.writers import NoteWriter, WriteLog
from tests.support.local_runtime import RuntimeProcess, require_dynamodb_local
from tests.support.rest_user import RestUser

pytestmark = [pytest.mark.reliability, pytest.mark.dynamodb_local, pytest.mark.slow]

WRITES = 500
WRITERS = 4  # concurrent writers of the one user: enough to keep requests in flight
CLIENTS = 3
# (acknowledged writes, signal): when the runtime goes down, and how. The crash comes first:
# requests it cut off stay "in progress" for the killed invocation's 30 s, and the burst
# goes on meanwhile.
RESTARTS = ((150, signal.SIGKILL), (350, signal.SIGTERM))


def test_a_runtime_restarted_mid_burst_keeps_every_acknowledged_write(
    tmp_path: Path, request: pytest.FixtureRequest, seed: int, fleet: Fleet, record_property
):
    require_dynamodb_local()
    rng = random.Random(seed)
    # Given the runtime on DynamoDB Local with a data dir of its own, a user and three clients
    runtime = RuntimeProcess(PROJECT_DIR, tmp_path / "data").start()
    request.addfinalizer(runtime.stop)
    user = RestUser.sign_up(runtime.api_url)
    clients = fleet.clients_of(
        runtime.ws_url, user.token, [f"client-{n}" for n in range(CLIENTS)], rng
    )
    fleet.start_welcomed(clients)
    log = WriteLog()
    # When four writers create 500 notes as fast as they can, while the runtime is stopped
    # and started again on the same ports twice
    texts = [f"note {n:03d}" for n in range(WRITES)]
    next_note = iter(texts)
    lock = threading.Lock()

    def write_all(writer: NoteWriter) -> None:
        # A write still held by a killed process's record (409 in progress) waits in an
        # outbox while the burst goes on, and is sent again, with its key, at the end.
        outbox: list[tuple[str, str]] = []
        while True:
            with lock:
                text = next(next_note, None)
            if text is None:
                break
            key = writer.new_key()
            if writer.create(text, key, wait_in_progress=False) is None:
                outbox.append((text, key))
        for text, key in outbox:
            writer.create(text, key)

    writers = [
        NoteWriter(runtime.api_url, user.token, log, random.Random(rng.getrandbits(64)))
        for _ in range(WRITERS)
    ]
    started = time.monotonic()
    downtimes = []
    with ThreadPoolExecutor(WRITERS) as pool:
        running = [pool.submit(write_all, writer) for writer in writers]
        for after, sig in RESTARTS:
            while len(log.acknowledged) < after and not all(f.done() for f in running):
                time.sleep(0.01)
            down = time.monotonic()
            runtime.restart(sig)
            stop_s = time.monotonic() - down - runtime.started_in_s
            downtimes.append((sig.name, round(stop_s, 1), round(runtime.started_in_s, 1)))
        for finished in running:
            finished.result(timeout=180)
    writing_s = time.monotonic() - started
    # Then every note is stored exactly once, with the id its 2xx answer gave
    version, notes = user.server_state()
    stored = {text: (note_id, v) for note_id, (text, v) in notes.items()}
    missing = sorted(set(log.acknowledged) - set(stored))
    assert not missing, f"{len(missing)} writes answered 2xx are not stored: {missing[:10]}"
    assert len(notes) == len(stored), f"{len(notes) - len(stored)} texts stored twice"
    assert set(stored) == set(texts), sorted(set(stored) ^ set(texts))[:10]
    wrong = [
        (text, note["id"], note["version"], stored[text])
        for text, note in log.acknowledged.items()
        if stored[text] != (note["id"], note["version"])
    ]
    assert not wrong, f"stored unlike their 2xx answer (text, id, version, stored): {wrong[:5]}"
    assert version == WRITES, f"version {version} for {WRITES} creates: a write committed twice"
    # And /sync gives the same state
    assert synced_state(user) == (version, notes)
    # And every client converges to it, having applied each note once, cursors only forward
    converge_s = fleet.wait_converged(version, notes, timeout_s=60)
    seen = [c.seen for c in clients]
    for client in clients:
        applied = client.seen.applied
        assert max(applied.values()) == 1, (client.name, applied.most_common(3))
        assert set(applied) == {(i, v) for i, (_, v) in notes.items()}, client.name
        assert client.seen.cursor_regressions == [], client.name
        # It reconnected after each restart
        assert client.seen.opened >= 1 + len(RESTARTS), (client.name, client.seen.opened)
    # And the writers saw the restarts: refused or cut-off requests, retried to one note each
    assert log.not_sent + log.unknown > 0, log.figures()
    figures = {
        "seed": seed,
        "writes": WRITES,
        "writing_s": round(writing_s, 1),
        "restarts_stop_start_s": downtimes,
        **log.figures(),
        "converge_s": round(converge_s, 2),
        "client_connects": [s.opened for s in seen],
        "client_connect_failures": [s.connect_failures for s in seen],
        "changes_per_client": [s.messages["changes"] for s in seen],
        "duplicate_changes": [s.duplicate_changes for s in seen],
        "snapshots": [s.snapshots_applied for s in seen],
    }
    record_property("restart", figures)
    print(f"restart mid-burst: {figures}")
