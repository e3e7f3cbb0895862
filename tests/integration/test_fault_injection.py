"""Fault injection as a user of the runtime drives it: `/@faults` over HTTP, the ws_echo app,
boto3's `apigatewaymanagementapi` and websocket-client."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from botocore.config import Config

from tests.support.runtime_process import connect, connection_id


@pytest.fixture
def echo_faults(ws_echo_runtime):
    yield ws_echo_runtime
    ws_echo_runtime.faults("DELETE")


def test_posts_to_a_connection_fail_as_planned_then_reach_it(echo_faults):
    # Given a client, and a plan that throttles its next two posts
    runtime = echo_faults
    ws = connect(runtime)
    cid = connection_id(ws)
    runtime.faults("PUT", {"connections": [{"status": 429, "count": 2, "connectionId": cid}]})
    # (boto3's own retries off, so each refusal is seen)
    client = runtime.management(config=Config(retries={"total_max_attempts": 1}))
    # When the app posts three times
    refusals = []
    for n in range(3):
        try:
            client.post_to_connection(ConnectionId=cid, Data=json.dumps({"n": n}).encode())
        except client.exceptions.LimitExceededException as error:
            refusals.append(error.response["ResponseMetadata"]["HTTPStatusCode"])
    # Then the first two are refused with 429 LimitExceededException and the third arrives
    assert refusals == [429, 429]
    assert json.loads(ws.recv()) == {"n": 2}
    # And the plan shows how often the rule fired
    [rule] = runtime.faults()["connections"]
    assert (rule["fired"], rule["remaining"]) == (2, 0)
    ws.close()


def test_a_function_fault_fails_an_invocation_before_its_handler(echo_faults):
    # Given a client, and a plan that fails the next invocation of the $default function
    runtime = echo_faults
    ws = connect(runtime)
    cid = connection_id(ws)
    runtime.faults("PUT", {"functions": [{"function": "*-websocket_message", "count": 1}]})
    # When the client sends a message / Then API Gateway's integration error comes back
    ws.send(json.dumps({"action": "whoami"}))
    assert json.loads(ws.recv())["message"] == "Internal server error"
    # And the next message is handled as usual
    assert connection_id(ws) == cid
    assert runtime.faults()["functions"][0]["fired"] == 1
    assert "InjectedFaultError: injected fault" in runtime.output_text()
    ws.close()


def test_the_command_line_sets_shows_and_clears_the_plan(echo_faults, tmp_path):
    # /@faults takes signed requests only: `python -m infra.local faults` signs them
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"connections": [{"status": 410, "count": 1}]}))
    port = ["--ws-port", str(echo_faults.ws_port)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "infra.local", "faults", *args, *port]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert run("set", str(plan)).returncode == 0
    shown = run("show")
    assert json.loads(shown.stdout)["connections"][0]["status"] == 410
    assert run("clear").returncode == 0
    assert echo_faults.faults("GET")["connections"] == []
