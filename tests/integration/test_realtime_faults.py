"""Delivery under injected failures (the runtime's fault plans, docs/local-runtime.md): a
throttled `@connections` post retried by the push itself, a push that gives up retried by
the event source mapping through `batchItemFailures`, and a fan-out function that raises."""

from __future__ import annotations

import re

import pytest

from tests.support.local_runtime import RuntimeProcess, wait_for
from tests.support.rest_user import RestUser
from tests.support.sync_client import SyncClient, wait_converged

# Every test here runs this project's app on DynamoDB Local.
pytestmark = pytest.mark.dynamodb_local


def fan_out_failures(runtime: RuntimeProcess, tenant_id: str) -> int:
    """How often the fan-out logged that it could not reach a connection of this tenant."""
    return sum(r.get("tenant_id") == tenant_id for r in runtime.app_logs("fan-out failed"))


def live_clients(runtime: RuntimeProcess, user: RestUser) -> tuple[SyncClient, SyncClient]:
    return (
        SyncClient(runtime.ws_url, user.token).connect(),
        SyncClient(runtime.ws_url, user.token).connect(),
    )


def delivered_versions(client: SyncClient, version: int) -> int:
    """How many `changes` messages covering `version` the client received."""
    return sum(
        1 for r in client.messages("changes") if r.message["from"] < version <= r.message["to"]
    )


def test_a_post_throttled_three_times_is_delivered_by_the_pushs_own_retries(faults):
    # Given two clients of a user, and a plan that throttles the next 3 posts to one of them
    user = RestUser.sign_up(faults.api_url)
    throttled, other = live_clients(faults, user)
    target = throttled.connection_ids[-1]
    faults.faults("PUT", {"connections": [{"status": 429, "count": 3, "connectionId": target}]})
    # When the user writes
    note = user.create("through the throttle")
    # Then both clients get it, the throttled one on the push's fourth attempt: within the
    # same invocation (one message, the fan-out never reported a failure)
    version, notes = user.server_state()
    for each in (throttled, other):
        wait_converged(each, version, notes)
    [rule] = faults.faults()["connections"]
    assert (rule["fired"], rule["remaining"]) == (3, 0)
    assert delivered_versions(throttled, note["version"]) == 1
    assert fan_out_failures(faults, user.id) == 0
    throttled.disconnect()
    other.disconnect()


def test_a_push_that_gives_up_is_retried_by_the_event_source_mapping(faults):
    # Given two clients of a user, and a plan that throttles 6 posts to one of them: more
    # than the push's 4 attempts in one invocation
    user = RestUser.sign_up(faults.api_url)
    throttled, other = live_clients(faults, user)
    target = throttled.connection_ids[-1]
    output_before = len(faults.output_text())  # the runtime is shared with other tests
    faults.faults("PUT", {"connections": [{"status": 429, "count": 6, "connectionId": target}]})
    # When the user writes
    user.create("after a retried batch")
    # Then the fan-out reports the tenant's records as batchItemFailures (the function itself
    # succeeds), the mapping invokes it again, and the throttled client gets the note
    version, notes = user.server_state()
    for each in (throttled, other):
        wait_converged(each, version, notes)
    assert faults.faults()["connections"][0]["fired"] == 6
    assert fan_out_failures(faults, user.id) == 1
    output = faults.output_text()[output_before:]
    assert not re.search(r"userdb-local-fan_out failed", output)
    throttled.disconnect()
    other.disconnect()


def test_a_fan_out_function_that_raises_is_retried_with_its_whole_batch(faults):
    # Given a client the write's own push cannot reach (its one attempt fails), and a plan
    # that makes the next two fan-out invocations raise
    user = RestUser.sign_up(faults.api_url)
    live, _ = live_clients(faults, user)
    _.disconnect()
    target = live.connection_ids[-1]
    faults.faults(
        "PUT",
        {
            "connections": [{"status": 500, "count": 1, "connectionId": target}],
            "functions": [{"function": "*-fan_out", "count": 2}],
        },
    )
    # When the user writes / Then the mapping retries (and bisects) the batch until delivered
    user.create("after two crashes")
    wait_converged(live, *user.server_state())
    assert faults.faults()["functions"][0]["fired"] == 2
    assert "InjectedFaultError" in faults.output_text()
    live.disconnect()


def test_a_client_forgotten_after_a_410_is_closed_when_it_speaks_and_resumes(faults):
    # Given two clients of a user, and a plan that answers the next post to one with 410
    # (the server forgets a connection whose client is still there)
    user = RestUser.sign_up(faults.api_url)
    forgotten, other = live_clients(faults, user)
    target = forgotten.connection_ids[-1]
    faults.faults("PUT", {"connections": [{"status": 410, "count": 1, "connectionId": target}]})
    # When the user writes (the fan-out's post to it is the one answered 410)
    user.create("pushed to a connection the server then forgot")
    version, notes = user.server_state()
    wait_converged(other, version, notes)
    # (the other client may be posted to first: wait for the post that was answered 410)
    wait_for(lambda: faults.faults()["connections"][0]["fired"] == 1, what="the 410")
    # And the forgotten client sends its heartbeat
    forgotten.send({"action": "ping", "version": forgotten.state.cursor})
    # Then the server closes that connection, with no error message telling it to sign in
    assert forgotten.wait_closed() == 1000
    assert not forgotten.messages("error")
    # And the client reconnects with its session and catches up from its cursor
    forgotten.connect()
    wait_converged(forgotten, version, notes)
    forgotten.disconnect()
    other.disconnect()
