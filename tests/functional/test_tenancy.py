"""Tenant provisioning: silo tables and the pool partition, readiness, self-healing.

moto creates tables ACTIVE at once and cannot fail a CreateTable on demand, so
two tests put a botocore event hook on the app's own DynamoDB client to make it
report CREATING or refuse a CreateTable (the states AWS produces but moto does
not); everything else is real moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from chalicelib.dal.tables import POOL_TENANTS_SUFFIX, dynamodb_client
from chalicelib.errors import UnauthorizedError


class TableStatusHook:
    """Makes the app's DescribeTable answer CREATING while `creating`, and counts the calls."""

    def __init__(self) -> None:
        self.creating = False
        self.describes = 0

    def __call__(self, parsed: dict[str, Any], **kwargs: Any) -> None:
        self.describes += 1
        if self.creating and "Table" in parsed:
            parsed["Table"]["TableStatus"] = "CREATING"


@contextmanager
def hooked(settings, event: str, handler) -> Iterator[None]:
    events = dynamodb_client(settings).meta.events
    events.register(event, handler)
    try:
        yield
    finally:
        events.unregister(event, handler)


@pytest.fixture
def quick_provisioning(monkeypatch):
    """Account creation waits 0.2 s at most for a table (AWS: seconds)."""
    monkeypatch.setenv("USERDB_TENANT_WAIT_SECONDS", "0.2")


def test_silo_signup_creates_the_tenant_table_from_the_item_definition(api, dynamodb, settings):
    # Given a new account (silo mode, the default)
    user_id = api.user_id(api.signup())
    # Then its table exists: pk/sk keys, the version LSI, a NEW_AND_OLD_IMAGES stream, TTL
    name = f"{settings.table_prefix}-tenant-{user_id}"
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    [lsi] = table["LocalSecondaryIndexes"]
    assert lsi["IndexName"] == "version-index"
    assert [k["AttributeName"] for k in lsi["KeySchema"]] == ["pk", "version"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    # And it holds the tenant's meta item at version 0
    meta = dynamodb.get_item(TableName=name, Key={"pk": {"S": user_id}, "sk": {"S": "meta"}})
    assert meta["Item"]["version"] == {"N": "0"}


@pytest.mark.parametrize("tenancy", ["pool"])
def test_pool_signup_creates_no_table_only_the_tenant_partition(api, dynamodb, settings):
    # Given a new account in pool mode
    tables_before = set(dynamodb.list_tables()["TableNames"])
    user_id = api.user_id(api.signup())
    # Then no table was created; the shared table holds the tenant's meta
    assert set(dynamodb.list_tables()["TableNames"]) == tables_before
    meta = dynamodb.get_item(
        TableName=settings.table_name(POOL_TENANTS_SUFFIX),
        Key={"pk": {"S": user_id}, "sk": {"S": "meta"}},
    )
    assert meta["Item"]["version"] == {"N": "0"}


@pytest.mark.parametrize("tenancy", ["silo", "pool"])
def test_provisioning_again_changes_nothing(api, services):
    # Given a tenant with two writes
    token = api.signup()
    user_id = api.user_id(token)
    for text in ("a", "b"):
        api.call("POST", "/notes", {"text": text}, token=token)
    # When it is provisioned again (a retried sign-up, another process)
    services.tenants.provision(user_id)
    # Then its notes and version are as they were
    listed = api.call("GET", "/notes", token=token).json
    assert listed["version"] == 2
    assert len(listed["notes"]) == 2


def test_data_routes_answer_503_while_the_table_is_creating(
    quick_provisioning, api, settings, dynamodb
):
    # Given a sign-up whose table stays CREATING past the provisioning wait
    hook = TableStatusHook()
    with hooked(settings, "after-call.dynamodb.DescribeTable", hook):
        hook.creating = True
        token = api.signup()
        user_id = api.user_id(token)
        # When the new user reads and writes
        listed = api.call("GET", "/notes", token=token)
        created = api.call("POST", "/notes", {"text": "early"}, token=token)
        synced = api.call("GET", "/sync", token=token)
        # Then each is a 503 with Retry-After, and nothing was written
        for reply in (listed, created, synced):
            assert (reply.status, reply.error_code) == (503, "tenant_provisioning")
            assert reply.headers["retry-after"] == "2"
        name = f"{settings.table_prefix}-tenant-{user_id}"
        assert dynamodb.scan(TableName=name)["Items"] == []
        # When the table is ACTIVE
        hook.creating = False
        ready = api.call("POST", "/notes", {"text": "now"}, token=token)
        # Then requests succeed, the first one having finished provisioning (TTL, meta)
        assert ready.status == 201
        assert ready.json["note"]["version"] == 1
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        # And from then on this process no longer asks DynamoDB whether the table is ready
        describes = hook.describes
        for _ in range(3):
            assert api.call("GET", "/notes", token=token).status == 200
        assert hook.describes == describes


def test_a_failed_create_table_is_redone_by_the_first_data_request(api, settings, dynamodb):
    # Given a sign-up during which CreateTable fails (e.g. the account's table limit)
    def refuse(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "LimitExceededException", "Message": "Too many tables being created"}
        return AWSResponse("", 400, HTTPHeaders(), None), {"Error": error, "ResponseMetadata": {}}

    with hooked(settings, "before-call.dynamodb.CreateTable", refuse):
        token = api.signup()
    user_id = api.user_id(token)
    name = f"{settings.table_prefix}-tenant-{user_id}"
    assert name not in dynamodb.list_tables()["TableNames"]
    # When the user makes a first request, then another
    first = api.call("GET", "/notes", token=token)
    second = api.call("GET", "/notes", token=token)
    # Then the first re-creates the table and answers 503; the next one is served
    assert (first.status, first.error_code) == (503, "tenant_provisioning")
    assert name in dynamodb.list_tables()["TableNames"]
    assert second.status == 200


@pytest.mark.parametrize("tenancy", ["silo", "pool"])
def test_a_deleted_account_cannot_reopen_its_tenant(api, services, dynamodb):
    # Given an account that deleted itself, while a process still holds its session
    token = api.signup()
    user_id = api.user_id(token)
    api.call("POST", "/notes", {"text": "x"}, token=token)
    api.call("DELETE", "/me", token=token)
    # When that process opens its tenant (a request on a cached session)
    # Then it is refused, and no table or meta comes back
    with pytest.raises(UnauthorizedError):
        services.tenants.open(user_id)
    for name in dynamodb.list_tables()["TableNames"]:
        assert user_id not in name
        assert user_id not in str(dynamodb.scan(TableName=name)["Items"])
