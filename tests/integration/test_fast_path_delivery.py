"""The fast path on the local runtime (DynamoDB Local): a write posts its own change, the stream
delivers what it could not, and nobody gets a range twice; under the runtime's injected
faults (docs/local-runtime.md, Fault injection) and a runtime killed mid-push."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import RuntimeProcess, require_dynamodb_local, wait_for
from tests.support.rest_user import RestUser
from tests.support.sync_client import SyncClient, wait_converged

pytestmark = pytest.mark.dynamodb_local


def covering(client: SyncClient, version: int) -> int:
    """How many `changes` messages covering `version` the client received."""
    return sum(
        1 for r in client.messages("changes") if r.message["from"] < version <= r.message["to"]
    )


def synced(client: SyncClient) -> None:
    """Wait until the client applied its first snapshot (it has a cursor)."""
    client.wait(lambda: client.state.cursor is not None, what="the first snapshot")


def settled_in(client: SyncClient, user: RestUser) -> None:
    """A first note reaches the client and its ack is sent; a moment later the server knows
    where the client is (a client still saying hello is the stream's, not the write's)."""
    note = user.create("settling in")
    client.wait(lambda: client.state.acked >= note["version"], what="the client's ack")
    time.sleep(0.3)


def test_a_write_reaches_the_other_client_by_itself_once(faults: RuntimeProcess):
    # Given a client of a user, and a fan-out that fails every time
    user = RestUser.sign_up(faults.api_url)
    client = SyncClient(faults.ws_url, user.token).connect()
    settled_in(client, user)
    faults.faults("PUT", {"functions": [{"function": "*-fan_out", "rate": 1}]})
    # When the user writes, twice, at a person's pace (back-to-back writes are a burst,
    # which the fast path leaves to the stream)
    first = user.create("one hop")
    time.sleep(0.2)
    second = user.create("and another")
    # Then the client has both, each in exactly one message: the writes posted them
    wait_converged(client, *user.server_state())
    assert [covering(client, note["version"]) for note in (first, second)] == [1, 1]
    # (the stream got nowhere: the fan-out raised each time it was invoked)
    wait_for(lambda: faults.faults()["functions"][0]["fired"] >= 1, 15, "the fan-out")
    client.disconnect()


def test_a_failed_fast_path_post_is_delivered_by_the_stream_once(faults: RuntimeProcess):
    # Given two clients of a user, and a plan that fails the next post to one of them
    user = RestUser.sign_up(faults.api_url)
    failing = SyncClient(faults.ws_url, user.token).connect()
    other = SyncClient(faults.ws_url, user.token).connect()
    settled_in(failing, user)
    settled_in(other, user)
    target = failing.connection_ids[-1]
    faults.faults("PUT", {"connections": [{"status": 500, "count": 1, "connectionId": target}]})
    # When the user writes: the write succeeds although its post to one client failed
    note = user.create("one post fails")
    # Then both clients converge, each with the note in exactly one message
    version, notes = user.server_state()
    for client in (failing, other):
        wait_converged(client, version, notes)
        assert covering(client, note["version"]) == 1
    assert faults.faults()["connections"][0]["fired"] == 1
    assert faults.app_logs("fast path: posts failed or timed out")
    failing.disconnect()
    other.disconnect()


def test_a_stuck_post_does_not_hold_the_write(faults: RuntimeProcess):
    # Given a client whose next post API Gateway holds for 5 s
    user = RestUser.sign_up(faults.api_url)
    slow = SyncClient(faults.ws_url, user.token).connect()
    synced(slow)
    target = slow.connection_ids[-1]
    faults.faults("PUT", {"connections": [{"delayMs": 5000, "count": 1, "connectionId": target}]})
    # When the user writes, the write answers without waiting for that post (its own
    # timeout gives up on it long before API Gateway answers)
    held_since = time.monotonic()
    note = user.create("past a stuck post")
    assert time.monotonic() - held_since < 5.0
    assert faults.faults()["connections"][0]["fired"] == 1
    # Then the client gets the note from the stream
    wait_converged(slow, *user.server_state())
    assert slow.notes()[note["id"]] == ("past a stuck post", note["version"])
    assert faults.app_logs("fast path: posts failed or timed out")
    slow.disconnect()


def test_a_client_that_never_acks_gets_each_write_once(faults: RuntimeProcess):
    # Given a client whose acks are all lost
    user = RestUser.sign_up(faults.api_url)
    silent = SyncClient(faults.ws_url, user.token, acks=False).connect()
    # When the user writes one note after another
    written = [user.create(f"note {n}") for n in range(8)]
    for note in written:
        silent.wait_for_version(note["version"])
    # Then each reached it in one message: the marks tell the fan-out what it already holds
    wait_converged(silent, *user.server_state())
    assert [covering(silent, note["version"]) for note in written] == [1] * len(written)
    assert silent.state.acks_sent == 0
    silent.disconnect()


@pytest.fixture
def own_runtime() -> Iterator[RuntimeProcess]:
    """A runtime of this test's own, since it is killed."""
    require_dynamodb_local()
    runtime = RuntimeProcess(PROJECT_DIR).start()
    yield runtime
    runtime.stop()


def test_a_runtime_killed_between_commit_and_post_still_delivers(own_runtime: RuntimeProcess):
    # Given a client, and API Gateway holding the next two posts to it for 10 s (the write's
    # own, and the fan-out's)
    user = RestUser.sign_up(own_runtime.api_url)
    client = SyncClient(own_runtime.ws_url, user.token).connect()
    settled_in(client, user)
    before = user.create("before the crash")
    client.wait(lambda: client.state.acked >= before["version"], what="the client's ack")
    time.sleep(0.3)
    target = client.connection_ids[-1]
    own_runtime.faults(
        "PUT", {"connections": [{"delayMs": 10_000, "count": 2, "connectionId": target}]}
    )
    # When a write commits and its function is killed while it posts (the whole runtime dies)
    outcome: dict[str, Any] = {}

    def write() -> None:
        try:
            outcome["reply"] = user.call("POST", "/notes", json={"text": "committed, unanswered"})
        except requests.RequestException as error:
            outcome["error"] = error

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(lambda: own_runtime.faults()["connections"][0]["fired"] >= 1, 15, "the stuck post")
    own_runtime.restart(signal.SIGKILL)
    writer.join(30)
    # Then the write was never answered, but it committed
    assert "reply" not in outcome or outcome["reply"].status_code >= 500
    version, notes = user.server_state()
    assert version == before["version"] + 1
    assert "committed, unanswered" in {text for text, _ in notes.values()}
    # And the client, back on the restarted runtime, converges to it (a copy that reaches
    # it twice, from its catch-up and a retried stream batch, is applied once)
    client.connect()
    wait_converged(client, version, notes)
    assert client.notes() == notes
    client.disconnect()
