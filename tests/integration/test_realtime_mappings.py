"""How tenant streams reach the fan-out, seen through the Lambda API (boto3 `lambda`) on the
runtime: silo mode maps each tenant table at sign-up and unmaps it at account deletion; pool
mode has one mapping on the shared table, and one tenant's failing delivery does not hold
up another's in the same batch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import RuntimeProcess, require_dynamodb_local, wait_for
from tests.support.rest_user import RestUser
from tests.support.sync_client import SyncClient, wait_converged

FAN_OUT = "userdb-local-fan_out"

# Every test here runs this project's app on DynamoDB Local.
pytestmark = pytest.mark.dynamodb_local


def mappings(runtime: RuntimeProcess, **query: str) -> list[dict[str, Any]]:
    answer = runtime.client("lambda").list_event_source_mappings(**query)
    return list(answer["EventSourceMappings"])


def stream_arn(runtime: RuntimeProcess, table: str) -> str:
    described = runtime.client("dynamodb").describe_table(TableName=table)["Table"]
    return str(described["LatestStreamArn"])


def test_silo_sign_up_maps_the_tenant_table_and_deletion_unmaps_it(userdb_runtime):
    # When a user signs up (silo mode)
    user = RestUser.sign_up(userdb_runtime.api_url)
    table = f"userdb-local-tenant-{user.id}"
    arn = stream_arn(userdb_runtime, table)
    # Then their table's stream is mapped to the fan-out function, as DESIGN §5 asks
    [mapping] = mappings(userdb_runtime, EventSourceArn=arn)
    assert mapping["FunctionArn"].endswith(f":function:{FAN_OUT}")
    assert mapping["State"] == "Enabled"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert (mapping["MaximumRetryAttempts"], mapping["MaximumRecordAgeInSeconds"]) == (3, 3600)
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    # When the account is deleted
    assert user.call("DELETE", "/me").status_code == 204
    # Then the mapping is gone with the table
    assert mappings(userdb_runtime, EventSourceArn=arn) == []
    tables = userdb_runtime.client("dynamodb").list_tables()["TableNames"]
    assert table not in tables


@pytest.fixture(scope="module")
def pool_runtime() -> Iterator[RuntimeProcess]:
    """The app in pool mode (`--env USERDB_TENANCY=pool`) on DynamoDB Local."""
    require_dynamodb_local()
    runtime = RuntimeProcess(PROJECT_DIR, args=["--env", "USERDB_TENANCY=pool"]).start()
    yield runtime
    runtime.stop()


def test_pool_mode_has_one_mapping_on_the_shared_table(pool_runtime):
    # Given two users of the pool, one of whom deletes their account
    first = RestUser.sign_up(pool_runtime.api_url)
    second = RestUser.sign_up(pool_runtime.api_url)
    assert second.call("DELETE", "/me").status_code == 204
    # Then the fan-out has exactly one mapping, on the shared table's stream, still there
    [mapping] = mappings(pool_runtime, FunctionName=FAN_OUT)
    assert mapping["EventSourceArn"] == stream_arn(pool_runtime, "userdb-local-tenants")
    assert mapping["State"] == "Enabled"
    tables = pool_runtime.client("dynamodb").list_tables()["TableNames"]
    assert not [t for t in tables if t.startswith("userdb-local-tenant-")]
    # And it delivers: a client of the remaining user sees their write
    live = SyncClient(pool_runtime.ws_url, first.token).connect()
    first.create("pooled")
    wait_converged(live, *first.server_state())
    live.disconnect()


def test_one_tenants_failing_delivery_does_not_hold_up_anothers(pool_runtime):
    """Pool mode puts every tenant on one stream. Ann's fan-out is made to fail for real: every
    post to her client answers 429 (a fault plan), so delivering her range raises after the
    push's retries and the function reports her records as `batchItemFailures`. Her write is
    committed first and Bob's right after, held back together (the mapping disabled, then
    enabled) so that one batch carries both, Ann's record ahead of Bob's.
    """
    ann, bob = RestUser.sign_up(pool_runtime.api_url), RestUser.sign_up(pool_runtime.api_url)
    anns = SyncClient(pool_runtime.ws_url, ann.token).connect()
    bobs = SyncClient(pool_runtime.ws_url, bob.token).connect()
    ann_cursor = anns.state.cursor
    pool_runtime.faults(
        "PUT",
        {"connections": [{"status": 429, "rate": 1, "connectionId": anns.connection_ids[-1]}]},
    )
    lambda_api = pool_runtime.client("lambda")
    [mapping] = mappings(pool_runtime, FunctionName=FAN_OUT)
    try:
        lambda_api.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        ann.create("ann's, undeliverable for now")
        bob.create("bob's")
        lambda_api.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
        # Then Bob's client gets his note while every post to Ann's fails
        wait_converged(bobs, *bob.server_state())
        wait_for(lambda: failures_logged(pool_runtime, ann.id), what="Ann's failed fan-out")
        # And a later write of Bob's, behind Ann's failing records in the shard, arrives once
        # the mapping's few retries of them are spent, while her posts still fail
        bob.create("bob's second")
        wait_converged(bobs, *bob.server_state())
        assert anns.state.cursor == ann_cursor
        assert not failures_logged(pool_runtime, bob.id)
    finally:
        pool_runtime.faults("DELETE")
    # And once posts to Ann's client work again, her heartbeat catches her up
    anns.send({"action": "ping", "version": anns.state.cursor})
    wait_converged(anns, *ann.server_state())
    for each in (anns, bobs):
        each.disconnect()


def failures_logged(runtime: RuntimeProcess, tenant_id: str) -> int:
    """How often the fan-out logged that it could not reach a connection of this tenant."""
    return sum(r.get("tenant_id") == tenant_id for r in runtime.app_logs("fan-out failed"))
