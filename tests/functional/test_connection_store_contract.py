"""One contract, two implementations: the connection store on DynamoDB (moto) and its fake."""

import pytest

from chalicelib.dal.connections import DynamoConnectionStore
from chalicelib.dal.tables import CONNECTIONS_SUFFIX, shared_table
from chalicelib.models.connections import Connection
from tests.support.fakes import InMemoryConnectionStore


@pytest.fixture(params=["dynamodb", "fake"])
def store(request):
    if request.param == "fake":
        return InMemoryConnectionStore()
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
