"""The template `make run` hands the local runtime: the stage's own (tables, TTL, variables),
for the --stage and --env among the runtime's flags, plus the variables a deployed stage
sets by hand; and the deployable template stays without them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.stages import load_stage
from infra.template import main, merge_template

LOCAL_ONLY = {"USERDB_API_URL", "USERDB_ALLOWED_ORIGINS"}


def variables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]["Environment"]["Variables"]
        for logical_id, resource in template["Resources"].items()
        if "Environment" in resource.get("Properties", {})
    }


def tables(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["TableName"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }


def generated(tmp_path: Path, *flags: str) -> dict[str, Any]:
    out = tmp_path / "template.json"
    assert main(["--local-runtime", "-o", str(out), *flags]) == 0
    return dict(json.loads(out.read_text()))


def test_every_function_learns_the_rest_apis_url_and_origin_from_the_runtime(tmp_path):
    template = generated(tmp_path)
    per_function = variables(template)
    assert set(per_function) == {
        "APIHandler",
        "WebsocketConnect",
        "WebsocketMessage",
        "WebsocketDisconnect",
        "FanOut",
    }
    # One environment for all (the runtime refuses functions that disagree)
    assert len({json.dumps(v, sort_keys=True) for v in per_function.values()}) == 1
    api_url = per_function["APIHandler"]["USERDB_API_URL"]["Fn::Sub"]
    assert api_url == "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/local"
    # And every shared table, each with its TTL
    assert {
        name: t["TimeToLiveSpecification"]["AttributeName"] for name, t in tables(template).items()
    } == {
        "userdb-local-accounts": "expires",
        "userdb-local-sessions": "expires",
        "userdb-local-connections": "expires",
        "userdb-local-idempotency": "expiration",
    }


def test_the_runtimes_other_flags_are_ignored_and_env_overrides_apply(tmp_path):
    # As `make run RUN_ARGS='--backend moto --port 9000 --env USERDB_TENANCY=pool'` passes them
    template = generated(
        tmp_path, "--backend", "moto", "--port", "9000", "--env", "USERDB_TENANCY=pool"
    )
    assert "userdb-local-tenants" in tables(template)
    mapping = template["Resources"]["FanOutTenantsStreamMapping"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["TenantsTable", "StreamArn"]}


def test_a_variable_the_stage_sets_itself_is_left_to_it(tmp_path):
    template = generated(tmp_path, "--env", "USERDB_API_URL=https://api.example.com")
    assert "USERDB_API_URL" not in variables(template)["APIHandler"]


def test_the_deployable_template_has_no_local_runtime_variables():
    deployed = variables(merge_template(load_stage("dev")))
    assert all(not LOCAL_ONLY & set(v) for v in deployed.values())


def test_without_local_runtime_unknown_flags_are_errors(capsys):
    with pytest.raises(SystemExit):
        main(["--stage", "dev", "--port", "9000"])
    assert "unrecognized arguments" in capsys.readouterr().err
