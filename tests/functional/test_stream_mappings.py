"""The Lambda API calls that tenant provisioning and account deletion make, on moto's Lambda.

Here the app runs with its real `StreamMappings` (not the recording fake the other functional
tests use) against moto's Lambda API, with the fan-out function created there. moto's
mappings try to run the function through Docker when a stream has records and log an
error when they cannot; that does not concern the calls checked here.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.dal.event_sources import MAPPING_OPTIONS
from chalicelib.services import build_services, use_services
from tests.functional.conftest import Api


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def fan_out(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def lambda_api(aws: None, settings: Any) -> Any:
    """moto's Lambda with the stage's fan-out function in it."""
    iam = boto3.client("iam", region_name=settings.region)
    role = iam.create_role(
        RoleName="fan-out",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    client = boto3.client("lambda", region_name=settings.region)
    client.create_function(
        FunctionName=settings.fanout_function_name,
        Runtime="python3.12",
        Role=role,
        Handler="app.fan_out",
        Code={"ZipFile": _function_zip()},
    )
    return client


@pytest.fixture
def api_with_lambda(dynamodb: Any, settings: Any, clock: Any, lambda_api: Any) -> Iterator[Api]:
    use_services(build_services(settings, clock))  # StreamMappings on moto's Lambda API
    from app import app

    with Client(app) as client:
        yield Api(client)
    use_services(None)


def fan_out_mappings(lambda_api: Any, settings: Any) -> list[dict[str, Any]]:
    answer = lambda_api.list_event_source_mappings(FunctionName=settings.fanout_function_name)
    return list(answer["EventSourceMappings"])


def stream_of(dynamodb: Any, table: str) -> str:
    return str(dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"])


def user_id(api: Api, token: str) -> str:
    return str(api.call("GET", "/me", token=token).json["user"]["id"])


def test_silo_provisioning_maps_each_tenant_stream_once_and_deletion_unmaps_it(
    api_with_lambda, lambda_api, dynamodb, settings, clock
):
    # Given two users (silo mode)
    ann_token, bob_token = api_with_lambda.signup(), api_with_lambda.signup()
    ann, bob = user_id(api_with_lambda, ann_token), user_id(api_with_lambda, bob_token)
    ann_stream = stream_of(dynamodb, f"{settings.table_prefix}-tenant-{ann}")
    bob_stream = stream_of(dynamodb, f"{settings.table_prefix}-tenant-{bob}")
    # Then each tenant's stream has one mapping to the fan-out, with DESIGN §5's settings
    found = {m["EventSourceArn"]: m for m in fan_out_mappings(lambda_api, settings)}
    assert set(found) == {ann_stream, bob_stream}
    mapping = found[ann_stream]
    assert mapping["FunctionArn"].endswith(f":function:{settings.fanout_function_name}")
    assert {name: mapping[name] for name in MAPPING_OPTIONS} == MAPPING_OPTIONS
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    # And provisioning again from another process (a fresh Lambda instance) adds none
    build_services(settings, clock).tenants.provision(ann)
    assert len(fan_out_mappings(lambda_api, settings)) == 2
    # When Ann deletes her account
    assert api_with_lambda.call("DELETE", "/me", token=ann_token).status == 204
    # Then her mapping is removed (before her table), and Bob's stays
    assert [m["EventSourceArn"] for m in fan_out_mappings(lambda_api, settings)] == [bob_stream]
    assert f"{settings.table_prefix}-tenant-{ann}" not in dynamodb.list_tables()["TableNames"]


@pytest.mark.parametrize("tenancy", ["pool"])
def test_pool_mode_uses_one_mapping_on_the_shared_table(
    api_with_lambda, lambda_api, dynamodb, settings
):
    # Given two users of the pool, one of whom deletes their account
    api_with_lambda.signup()
    token = api_with_lambda.signup()
    assert api_with_lambda.call("DELETE", "/me", token=token).status == 204
    # Then the fan-out has exactly one mapping, on the shared table's stream
    [mapping] = fan_out_mappings(lambda_api, settings)
    assert mapping["EventSourceArn"] == stream_of(dynamodb, f"{settings.table_prefix}-tenants")
