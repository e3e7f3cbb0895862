"""`python -m infra.provision` against moto: idempotent, reports drift, tears down."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import provision
from infra.stages import PROJECT_DIR, load_stage
from infra.tables import shared_tables
from tests.support.iam import CallRecorder

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory with this project's stages (deploy records go there)."""
    (tmp_path / ".chalice").mkdir()
    shutil.copy(PROJECT_DIR / ".chalice" / "config.json", tmp_path / ".chalice" / "config.json")
    return tmp_path


def run(project: Path, *args: str) -> int:
    return provision.main(
        ["--stage", "dev", "--region", REGION, "--project-dir", str(project), *args]
    )


def _created_tables(recorder: CallRecorder) -> list[str]:
    return [c.params["TableName"] for c in recorder.calls if c.operation == "CreateTable"]


def test_provisioning_twice_creates_the_tables_once(aws, project, capsys):
    dev = load_stage("dev")
    names = {d.name for d in shared_tables(dev.settings)}
    # When provisioning runs twice
    with CallRecorder().recording() as recorder:
        assert run(project) == 0
        first = capsys.readouterr().out
        assert run(project) == 0
        second = capsys.readouterr().out
    # Then the first run created every shared table, with TTL, and the second nothing
    assert sorted(_created_tables(recorder)) == sorted(names)
    assert set(aws.list_tables()["TableNames"]) == names
    for definition in shared_tables(dev.settings):
        ttl = aws.describe_time_to_live(TableName=definition.name)["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": definition.ttl_attribute}
    assert first.count("created;") == len(names)
    assert second.count("up to date") == len(names)
    assert "Next: chalice deploy --stage dev" in second


def test_a_changed_definition_is_reported_and_what_can_be_fixed_is_fixed(aws, project, capsys):
    # Given the accounts table made with another key schema, the sessions table without TTL
    dev = load_stage("dev")
    aws.create_table(
        TableName="userdb-dev-accounts",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    (sessions,) = [d for d in shared_tables(dev.settings) if d.name == "userdb-dev-sessions"]
    aws.create_table(**sessions.request)
    # When provisioning runs
    code = run(project)
    out = capsys.readouterr().out
    # Then it fails, saying what differs, and turned the sessions table's TTL on
    assert code == 1
    assert "DIFFERS" in out
    assert "key schema" in out and "GSI email-index is missing" in out
    assert "TTL turned on (expires)" in out
    ttl = aws.describe_time_to_live(TableName="userdb-dev-sessions")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_after_the_first_deploy_it_says_which_websocket_endpoint_to_set(aws, project, capsys):
    # Given the record `chalice deploy` leaves, naming the stage's WebSocket API
    deployed = project / ".chalice" / "deployed"
    deployed.mkdir()
    (deployed / "dev.json").write_text(
        json.dumps({"resources": [{"name": "websocket_api", "websocket_api_id": "abc123"}]})
    )
    # When provisioning runs
    assert run(project) == 0
    # Then it gives the exact line to add to the stage
    out = capsys.readouterr().out
    expected = "https://abc123.execute-api.us-east-1.amazonaws.com/dev"
    assert f'"USERDB_WEBSOCKET_ENDPOINT": "{expected}"' in out


def _fan_out_with_mapping(aws: Any, table: str) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def h(e, c):\n    return {}\n")
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName="userdb-dev-fan_out",
        Runtime="python3.11",
        Role=role,
        Handler="app.h",
        Code={"ZipFile": code.getvalue()},
    )
    stream = aws.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="userdb-dev-fan_out", StartingPosition="LATEST"
    )


def test_delete_removes_the_mappings_and_every_table_of_the_stage_only(aws, project, capsys):
    # Given a provisioned stage with one tenant (table and mapping) and tables not its own
    assert run(project) == 0
    tenant = "userdb-dev-tenant-usr_0123456789abcdef"
    aws.create_table(
        TableName=tenant,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    _fan_out_with_mapping(aws, tenant)
    for other in ("userdb-prod-accounts", "userdb-dev-tenant-notes", "userdb-devx-accounts"):
        aws.create_table(
            TableName=other,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    # When the stage is deleted
    assert run(project, "--delete", "--yes") == 0
    # Then only the other tables are left, and no mapping
    assert sorted(aws.list_tables()["TableNames"]) == [
        "userdb-dev-tenant-notes",
        "userdb-devx-accounts",
        "userdb-prod-accounts",
    ]
    lam = boto3.client("lambda", region_name=REGION)
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []
    assert f"table {tenant} deleted" in capsys.readouterr().out


def test_delete_without_yes_outside_a_terminal_changes_nothing(aws, project, capsys, monkeypatch):
    assert run(project) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(project, "--delete") == 1
    assert "--yes" in capsys.readouterr().err
    assert len(aws.list_tables()["TableNames"]) == 4


def test_an_unknown_stage_is_a_clear_error(aws, project, capsys):
    code = provision.main(["--stage", "nope", "--region", REGION, "--project-dir", str(project)])
    assert code == 2
    assert "no stage 'nope'" in capsys.readouterr().err
