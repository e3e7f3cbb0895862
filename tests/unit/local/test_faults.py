"""Fault plans: validation, when rules fire, replay by seed, the control endpoint's answers,
the errors boto3 reads from an injected `@connections` reply, and a function that raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.faults import (
    FaultPlanError,
    Faults,
    InjectedFaultError,
    control,
    load_plan,
    parse_plan,
)
from infra.local.lambda_runtime import LambdaFunction, LambdaRuntime
from infra.local.websocket_gateway import management
from tests.unit.local.test_websocket_management import parsed


def posts(faults: Faults, connection_id: str, n: int) -> list[int | None]:
    """The status each of `n` posts would get (None: it reaches the socket)."""
    answers: list[int | None] = []
    for _ in range(n):
        rule = faults.connection_fault("POST", connection_id)
        answers.append(rule.status if rule else None)
    return answers


def test_a_count_rule_fails_the_next_n_posts_of_its_connection_only():
    # Given three 429s for connection "a"
    faults = Faults(parse_plan({"connections": [{"status": 429, "count": 3, "connectionId": "a"}]}))
    # When posts go to "b" and then to "a"
    # Then "b" is untouched and "a" fails exactly three times
    assert posts(faults, "b", 2) == [None, None]
    assert posts(faults, "a", 5) == [429, 429, 429, None, None]
    [rule] = faults.describe()["connections"]
    assert (rule["fired"], rule["remaining"], rule["connectionId"]) == (3, 0, "a")


def test_a_rule_applies_only_to_its_operations():
    faults = Faults(parse_plan({"connections": [{"status": 410, "count": 1}]}))
    # A rule fails POSTs by default: a DELETE passes, then the first POST fails
    assert faults.connection_fault("DELETE", "x") is None
    assert faults.connection_fault("POST", "x") is not None
    faults.replace(
        parse_plan({"connections": [{"status": 410, "count": 1, "operations": ["GET"]}]})
    )
    assert faults.connection_fault("POST", "x") is None
    assert faults.connection_fault("GET", "x") is not None


def test_rate_rules_are_replayed_exactly_by_their_seed():
    # Given the same plan with the same seed twice, and once with another seed
    plan = {"seed": 42, "connections": [{"status": 410, "rate": 0.3}]}
    first, second = Faults(parse_plan(plan)), Faults(parse_plan(plan))
    other = Faults(parse_plan({**plan, "seed": 43}))
    # When 200 posts go through each
    runs = [posts(f, "c", 200) for f in (first, second, other)]
    # Then the seeded runs fail the same posts, about 30% of them, and another seed differs
    assert runs[0] == runs[1] != runs[2]
    assert 30 <= runs[0].count(410) <= 90
    assert first.describe()["connections"][0]["fired"] == runs[0].count(410)


def test_without_a_seed_one_is_chosen_and_shown_so_a_run_can_be_replayed():
    faults = Faults(parse_plan({"connections": [{"status": 429, "rate": 0.5}]}))
    seed = faults.describe()["seed"]
    run = posts(faults, "c", 50)
    replay = Faults(parse_plan({"seed": seed, "connections": [{"status": 429, "rate": 0.5}]}))
    assert posts(replay, "c", 50) == run


def test_the_first_rule_that_fires_decides():
    faults = Faults(
        parse_plan(
            {
                "connections": [
                    {"status": 429, "count": 1, "connectionId": "a"},
                    {"status": 500, "count": 2},
                ]
            }
        )
    )
    assert posts(faults, "a", 4) == [429, 500, 500, None]


def test_function_rules_match_names_by_glob():
    faults = Faults(parse_plan({"functions": [{"function": "*-fan_out", "count": 2}]}))
    assert faults.function_fault("userdb-local-websocket_message") is None
    assert faults.function_fault("userdb-local-fan_out") is not None
    assert faults.function_fault("userdb-dev-fan_out") is not None
    assert faults.function_fault("userdb-local-fan_out") is None


@pytest.mark.parametrize(
    ("plan", "problem"),
    [
        ({"connections": [{"status": 429}]}, "either count"),
        ({"connections": [{"status": 429, "count": 1, "rate": 0.5}]}, "either count"),
        ({"connections": [{"status": 404, "count": 1}]}, "connections.0.status"),
        ({"connections": [{"status": 429, "rate": 1.5}]}, "connections.0.rate"),
        ({"connections": [{"status": 429, "count": 0}]}, "connections.0.count"),
        ({"connections": [{"count": 1}]}, "a status to answer with, a delayMs"),
        ({"connections": [{"delayMs": 0, "count": 1}]}, "connections.0.delayMs"),
        ({"functions": [{"count": 1}]}, "functions.0.function"),
        ({"functions": [{"function": "f", "count": 1, "extra": 1}]}, "functions.0.extra"),
        ({"rules": []}, "rules"),
        ([], "plan"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_problem(plan, problem):
    with pytest.raises(FaultPlanError, match=problem):
        parse_plan(plan)


def test_a_plan_file_is_read_and_a_broken_one_explained(tmp_path: Path):
    good = tmp_path / "faults.json"
    good.write_text(json.dumps({"functions": [{"function": "f", "rate": 1}]}))
    assert load_plan(good).functions[0].function == "f"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(FaultPlanError, match=r"broken\.json"):
        load_plan(broken)


def test_the_control_endpoint_shows_replaces_and_clears_the_plan():
    faults = Faults()
    # PUT replaces the plan, GET shows it with counters, DELETE clears it
    status, shown = control(
        faults,
        "PUT",
        json.dumps({"seed": 1, "connections": [{"status": 429, "count": 2}]}).encode(),
    )
    assert status == 200
    assert shown["connections"] == [
        {"status": 429, "count": 2, "operations": ["POST"], "fired": 0, "remaining": 2}
    ]
    faults.connection_fault("POST", "c")
    assert control(faults, "GET", b"")[1]["connections"][0]["fired"] == 1
    assert control(faults, "DELETE", b"")[1]["connections"] == []
    # And a bad plan is a 400 that leaves the current plan alone
    control(faults, "PUT", json.dumps({"functions": [{"function": "f", "count": 1}]}).encode())
    assert control(faults, "PUT", b"{nope")[0] == 400
    status, answer = control(faults, "PUT", b'{"functions": [{"function": "f"}]}')
    assert status == 400 and "either count" in answer["message"]
    assert len(control(faults, "GET", b"")[1]["functions"]) == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "LimitExceededException"), (410, "GoneException"), (403, "ForbiddenException")],
)
def test_an_injected_reply_is_read_by_boto3_as_that_error(status, code):
    rule = parse_plan({"connections": [{"status": status, "count": 1}]}).connections[0]
    assert rule.status is not None
    reply = management.injected(rule.status, rule.error_type, "c1", "req")
    result = parsed(reply, "PostToConnection")
    assert result["Error"]["Code"] == code
    assert result["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_function_fault_raises_before_the_handler_runs():
    # Given a function and a plan that fails its next invocation
    ran = []
    lambdas = LambdaRuntime()
    lambdas.add(LambdaFunction("app-local-worker", lambda event, context: ran.append(event)))
    lambdas.faults = Faults(parse_plan({"functions": [{"function": "app-*", "count": 1}]}))
    # When it is invoked twice
    first = lambdas.invoke("app-local-worker", {"n": 1})
    second = lambdas.invoke("app-local-worker", {"n": 2})
    # Then the first fails with the injected error, without running the handler
    assert isinstance(first.error, InjectedFaultError)
    assert second.ok and ran == [{"n": 2}]


def test_the_command_line_takes_a_fault_plan_and_app_environment(tmp_path: Path, capsys):
    from infra.local.cli import config_from, parse_args

    # Given a plan file and two environment settings
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"connections": [{"status": 429, "count": 3}]}))
    args = ["up", "--faults", str(plan), "--env", "USERDB_TENANCY=pool", "--env", "EMPTY="]
    # When the command line is read / Then the runtime is told both
    config = config_from(parse_args(args))
    assert config.faults_file == plan.resolve()
    assert config.app_env == (("USERDB_TENANCY", "pool"), ("EMPTY", ""))
    # And a broken plan or setting stops it with a usage error naming the problem
    plan.write_text(json.dumps({"connections": [{"status": 429}]}))
    for bad in (["--faults", str(plan)], ["--env", "no-equals"]):
        with pytest.raises(SystemExit):
            parse_args(["up", *bad])
    assert "either count" in capsys.readouterr().err


def test_a_delay_rule_slows_calls_without_failing_them():
    faults = Faults(parse_plan({"connections": [{"delayMs": 250, "count": 1}]}))
    rule = faults.connection_fault("POST", "a")
    assert rule is not None
    assert (rule.delay_ms, rule.status) == (250, None)
    assert faults.connection_fault("POST", "a") is None
