"""One contract, three implementations: the connection store on DynamoDB (moto, and AWS's
DynamoDB Local where Java and the jar are there) and its fake."""

import uuid

import pytest

from chalicelib.dal.connections import DynamoConnectionStore
from chalicelib.dal.schema import create_tables
from chalicelib.dal.tables import CONNECTIONS_SUFFIX, dynamodb_client, shared_table
from chalicelib.models.connections import Connection
from chalicelib.settings import Settings
from infra.tables import shared_tables
from tests.support.fakes import InMemoryConnectionStore


@pytest.fixture(
    params=["dynamodb", "fake", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)]
)
def store(request):
    if request.param == "fake":
        return InMemoryConnectionStore()
    if request.param == "dynamodb-local":
        endpoint = request.getfixturevalue("dynamodb_local").endpoint
        settings = Settings(
            table_prefix=f"contract-{uuid.uuid4().hex[:8]}", dynamodb_endpoint=endpoint
        )
        create_tables(dynamodb_client(settings), shared_tables(settings))
        return DynamoConnectionStore(shared_table(settings, CONNECTIONS_SUFFIX))
    settings = request.getfixturevalue("settings")
    request.getfixturevalue("dynamodb")
    return DynamoConnectionStore(shared_table(settings, CONNECTIONS_SUFFIX))


def connection(tenant, connection_id, client="c-1"):
    return Connection(
        tenant_id=tenant,
        connection_id=connection_id,
        client_id=client,
        session_id="ses_1",
        connected_at=1000,
    )


def test_a_connection_is_found_by_its_id_alone(store):
    store.add(connection("usr_a", "abc="), expires=99)
    found = store.get("abc=")
    assert found is not None
    assert (found.tenant_id, found.client_id, found.acked_version) == ("usr_a", "c-1", 0)
    assert store.get("missing") is None


def test_connections_are_listed_per_tenant(store):
    store.add(connection("usr_a", "a1"), expires=99)
    store.add(connection("usr_a", "a2"), expires=99)
    store.add(connection("usr_b", "b1"), expires=99)
    assert sorted(c.connection_id for c in store.for_tenant("usr_a")) == ["a1", "a2"]
    assert [c.connection_id for c in store.for_tenant("usr_b")] == ["b1"]
    assert store.for_tenant("usr_c") == []


def test_acks_never_lower_the_version(store):
    store.add(connection("usr_a", "a1"), expires=99)
    assert store.raise_ack("usr_a", "a1", 5) is True
    assert store.raise_ack("usr_a", "a1", 3) is True  # not lowered, but the connection lives
    assert store.get("a1").acked_version == 5
    # An ack for a connection that is gone says so and does not bring it back
    assert store.raise_ack("usr_a", "gone", 9) is False
    assert store.get("gone") is None
    assert [c.connection_id for c in store.for_tenant("usr_a")] == ["a1"]


def test_remove_forgets_both_ways_of_finding_it(store):
    store.add(connection("usr_a", "a1"), expires=99)
    assert store.tenant_of("a1") == "usr_a"
    store.remove("usr_a", "a1")
    store.remove("usr_a", "a1")
    assert store.get("a1") is None
    assert store.tenant_of("a1") is None
    assert store.raise_ack("usr_a", "a1", 2) is False
    assert store.for_tenant("usr_a") == []


def test_pushed_marks_are_read_with_the_connections_and_are_not_one(store):
    # Given two connections of a tenant and its marks
    store.add(connection("usr_a", "a1"), expires=99)
    store.add(connection("usr_a", "a2"), expires=99)
    store.add(connection("usr_b", "b1"), expires=99)
    assert store.listing("usr_a").pushed == {}
    # When the marks are written
    store.record_pushed("usr_a", {"a1": 7, "a2": 5}, expires=99)
    # Then one listing gives both, and the marks never show up as a connection
    listed = store.listing("usr_a")
    assert sorted(c.connection_id for c in listed.connections) == ["a1", "a2"]
    assert listed.pushed == {"a1": 7, "a2": 5}
    assert sorted(c.connection_id for c in store.for_tenant("usr_a")) == ["a1", "a2"]
    assert store.listing("usr_b").pushed == {}
    # And a rewrite replaces them whole (marks of connections gone are dropped), with the
    # version whose push is over
    store.record_pushed("usr_a", {"a1": 9}, expires=99, settled=9)
    assert store.listing("usr_a").pushed == {"a1": 9}
    assert store.listing("usr_a").settled == 9
    assert store.listing("usr_b").settled == 0


def test_a_connection_covers_what_it_acked_or_was_pushed(store):
    store.add(connection("usr_a", "a1"), expires=99)
    store.add(connection("usr_a", "a2"), expires=99)
    store.raise_ack("usr_a", "a1", 4)
    store.record_pushed("usr_a", {"a1": 3, "a2": 6}, expires=99)
    listed = store.listing("usr_a")
    covered = {c.connection_id: listed.covered(c) for c in listed.connections}
    assert covered == {"a1": 4, "a2": 6}


def test_deleting_a_tenants_connections_deletes_its_marks(store):
    store.add(connection("usr_a", "a1"), expires=99)
    store.record_pushed("usr_a", {"a1": 3}, expires=99)
    assert store.delete_all("usr_a") == 1
    listed = store.listing("usr_a")
    assert (listed.connections, listed.pushed) == ([], {})


def test_the_version_whose_push_is_over_only_rises_and_keeps_the_marks(store):
    store.add(connection("usr_a", "a1"), expires=99)
    store.record_settled("usr_a", 3, expires=99)
    assert store.listing("usr_a").settled == 3
    store.record_pushed("usr_a", {"a1": 3}, expires=99, settled=3)
    store.record_settled("usr_a", 5, expires=99)
    store.record_settled("usr_a", 4, expires=99)
    listed = store.listing("usr_a")
    assert (listed.settled, listed.pushed) == (5, {"a1": 3})
