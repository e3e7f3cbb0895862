"""The deploy artefacts that need no AWS: policy files, merge templates, wildcards."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.dal.event_sources import MAPPING_OPTIONS
from infra.policies import (
    FUNCTIONS,
    chalice_document,
    function_policies,
    policy_files,
    template_document,
)
from infra.stages import (
    PROJECT_DIR,
    Stage,
    deployable_stages,
    load_stage,
    read_config,
    settings_from,
)
from infra.tables import shared_tables
from infra.template import FANOUT_MAPPING, REST_API, WEBSOCKET_API, WEBSOCKET_STAGE, merge_template
from infra.throttling import REST_AUTH, REST_DEFAULT, WEBSOCKET_CONNECT, WEBSOCKET_DEFAULT
from tests.support.wildcards import ALLOWED_ANY_RESOURCE, findings, takes_no_resource

OAUTH = {
    "USERDB_API_URL": "https://api.example.com",
    "USERDB_OAUTH_GOOGLE_CLIENT_ID": "g",
    "USERDB_OAUTH_GOOGLE_CLIENT_SECRET_NAME": "ssm:/userdb/dev/google",
    "USERDB_OAUTH_GITHUB_CLIENT_ID": "h",
    "USERDB_OAUTH_GITHUB_CLIENT_SECRET_NAME": "secretsmanager:userdb/dev/github#secret",
}


def stage(tenancy: str = "silo", **extra: str) -> Stage:
    environment = {
        "USERDB_STAGE": "dev",
        "USERDB_TABLE_PREFIX": "userdb-dev",
        "USERDB_TENANCY": tenancy,
        **extra,
    }
    return Stage("dev", "dev", settings_from(environment), {})


VARIANTS = {
    "silo": stage("silo"),
    "pool": stage("pool"),
    "silo+oauth": stage("silo", **OAUTH),
}


def test_committed_policy_files_are_up_to_date():
    # Given the policies generated from the stages' settings and tables
    files = policy_files()
    # Then each deployable stage has one per function, and the committed ones are the same
    assert len(files) == len(deployable_stages()) * len(FUNCTIONS)
    stale = [p.name for p, text in files.items() if not p.exists() or p.read_text() != text]
    assert stale == [], "run: python -m infra.policies"


def test_every_deployable_stage_gives_each_function_its_own_policy_and_log_group():
    config = read_config()
    assert set(deployable_stages()) == {"dev", "prod"}
    for name in deployable_stages():
        options = config["stages"][name]
        # Then chalice makes a role per function from its file, and the log groups itself
        assert options["autogen_policy"] is False
        assert options["log_retention_in_days"] > 0
        assert {
            function: entry["iam_policy_file"]
            for function, entry in options["lambda_functions"].items()
        } == {function: f"policy-{name}-{function}.json" for function in FUNCTIONS}


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_wildcard_that_is_not_unavoidable_or_justified(variant):
    # Given every function's policy, as a policy file and as a template role
    found = []
    for policy in function_policies(VARIANTS[variant]):
        found += findings(chalice_document(policy), f"{policy.function} (file)")
        found += findings(template_document(policy, WEBSOCKET_API), f"{policy.function} (role)")
    # Then none is left unexplained
    assert found == []


def test_no_unjustified_wildcard_in_the_committed_policy_files():
    files = sorted((PROJECT_DIR / ".chalice").glob("policy-*.json"))
    assert files
    found = []
    for path in files:
        found += findings(json.loads(path.read_text()), path.name)
    assert found == []


def test_the_wildcard_check_catches_what_it_must():
    # Given statements that are too broad, each in its own way
    arn = "arn:aws:dynamodb:${aws:RequestedRegion}:${aws:PrincipalAccount}"
    broad = [
        {"Action": ["dynamodb:GetItem"], "Resource": "*"},
        {"Action": ["dynamodb:*"], "Resource": f"{arn}:table/userdb-dev-accounts"},
        {"Action": ["dynamodb:GetItem"], "Resource": f"{arn}:table/userdb-dev-*"},
        {"Action": ["dynamodb:GetItem"], "Resource": "arn:aws:dynamodb:*:*:table/userdb-dev-a"},
        {"Action": ["lambda:CreateEventSourceMapping"], "Resource": "*"},
        {"Action": ["lambda:ListFunctions"], "Resource": "*"},
    ]
    # Then each one is reported
    for statement in broad:
        document = {"Statement": [{"Sid": "S", "Effect": "Allow", **statement}]}
        assert findings(document, "test"), statement
    # And every "*" it accepts is one AWS gives no narrower resource for
    assert all(takes_no_resource(action) for action in ALLOWED_ANY_RESOURCE)


def _statement(policy_document: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in policy_document["Statement"] if s["Sid"] == sid]
    assert len(found) == 1
    return found[0]


def test_secrets_are_named_exactly_and_read_by_the_rest_function_only():
    # Given a stage whose OAuth secrets live in SSM and Secrets Manager
    policies = {p.function: chalice_document(p) for p in function_policies(VARIANTS["silo+oauth"])}
    # Then the REST function may read exactly those two
    prefix = "arn:aws:{}:${{aws:RequestedRegion}}:${{aws:PrincipalAccount}}"
    assert _statement(policies["api_handler"], "OAuthSecretsSsm")["Resource"] == [
        prefix.format("ssm") + ":parameter/userdb/dev/google"
    ]
    assert _statement(policies["api_handler"], "OAuthSecretsManager")["Resource"] == [
        prefix.format("secretsmanager") + ":secret:userdb/dev/github-??????"
    ]
    # And no other function reads any secret
    for function in set(FUNCTIONS) - {"api_handler"}:
        text = json.dumps(policies[function])
        assert "ssm:" not in text and "secretsmanager:" not in text, function


@pytest.mark.parametrize("tenancy", ["silo", "pool"])
def test_merge_template_has_every_shared_table_with_streams_and_ttl(tenancy):
    # Given the merge template of a stage
    variant = VARIANTS[tenancy]
    resources = merge_template(variant)["Resources"]
    tables = {
        r["Properties"]["TableName"]: r["Properties"]
        for r in resources.values()
        if r.get("Type") == "AWS::DynamoDB::Table"
    }
    # Then each table of infra/tables.py is there with its keys, indexes, stream and TTL
    definitions = shared_tables(variant.settings)
    assert set(tables) == {d.name for d in definitions}
    for definition in definitions:
        table, request = tables[definition.name], definition.request
        for key in ("KeySchema", "AttributeDefinitions", "BillingMode"):
            assert table[key] == request[key]
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            assert table.get(key) == request.get(key)
        stream = request.get("StreamSpecification")
        assert table.get("StreamSpecification") == (
            {"StreamViewType": stream["StreamViewType"]} if stream else None
        )
        assert table["TimeToLiveSpecification"] == {
            "AttributeName": definition.ttl_attribute,
            "Enabled": True,
        }


def test_pool_mode_maps_the_shared_stream_with_the_mapping_options_and_silo_does_not():
    pool = merge_template(VARIANTS["pool"])["Resources"]
    mapping = pool[FANOUT_MAPPING]["Properties"]
    assert {k: mapping[k] for k in MAPPING_OPTIONS} == MAPPING_OPTIONS
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["TenantsTable", "StreamArn"]}
    assert mapping["FunctionName"] == {"Ref": "FanOut"}
    assert FANOUT_MAPPING not in merge_template(VARIANTS["silo"])["Resources"]


def test_functions_are_named_as_chalice_deploy_names_them_and_told_the_websocket_endpoint():
    resources = merge_template(load_stage("dev"))["Resources"]
    names = {
        logical: resources[logical]["Properties"]["FunctionName"]
        for logical in ("APIHandler", "FanOut", "WebsocketMessage")
    }
    assert names == {
        "APIHandler": "userdb-dev",
        "FanOut": "userdb-dev-fan_out",
        "WebsocketMessage": "userdb-dev-websocket_message",
    }
    variables = resources["FanOut"]["Properties"]["Environment"]["Variables"]
    assert variables["USERDB_WEBSOCKET_ENDPOINT"] == {
        "Fn::Sub": "https://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/dev"
    }


def test_the_stages_are_throttled_tighter_on_sign_in():
    resources = merge_template(VARIANTS["silo"])["Resources"]
    settings = {
        (s["ResourcePath"], s["HttpMethod"]): (s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"])
        for s in resources[REST_API]["Properties"]["MethodSettings"]
    }
    assert settings[("/*", "*")] == (REST_DEFAULT.rate_per_second, REST_DEFAULT.burst)
    for path in ("/~1auth~1login", "/~1auth~1signup"):
        assert settings[(path, "POST")] == (REST_AUTH.rate_per_second, REST_AUTH.burst)
    websocket = resources[WEBSOCKET_STAGE]["Properties"]
    assert (
        websocket["DefaultRouteSettings"]["ThrottlingRateLimit"]
        == WEBSOCKET_DEFAULT.rate_per_second
    )
    assert websocket["RouteSettings"]["$connect"]["ThrottlingBurstLimit"] == WEBSOCKET_CONNECT.burst


def test_api_gateways_own_answers_carry_the_security_headers():
    responses = merge_template(VARIANTS["silo"])["Resources"][REST_API]["Properties"][
        "GatewayResponses"
    ]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = responses[kind]["ResponseParameters"]["Headers"]
        assert headers["X-Content-Type-Options"] == "'nosniff'"
        assert headers["Strict-Transport-Security"].startswith("'max-age=")
