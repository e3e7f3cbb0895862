"""`POST /auth/ws-ticket`, and the ticket store on moto and DynamoDB Local."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.dal.connect_tickets import ConnectTicketStore, DynamoConnectTicketStore
from chalicelib.dal.schema import create_tables
from chalicelib.dal.tables import SESSIONS_SUFFIX, shared_table
from chalicelib.settings import Settings
from infra.tables import shared_tables
from tests.support.fakes import InMemoryConnectTicketStore


def test_a_ticket_needs_a_session(api):
    reply = api.call("POST", "/auth/ws-ticket")
    assert (reply.status, reply.error_code) == (401, "unauthorized")


def test_a_signed_in_caller_gets_a_ticket_that_is_stored_only_as_a_hash(
    api, dynamodb, settings, clock
):
    token = api.signup()
    reply = api.call("POST", "/auth/ws-ticket", token=token)
    assert reply.status == 201
    assert reply.headers["cache-control"] == "no-store"
    ticket, expires = reply.json["ticket"], reply.json["expires"]
    assert expires == (int(clock.now()) + 60) * 1000
    table = settings.table_name(SESSIONS_SUFFIX)
    stored = json.dumps(dynamodb.scan(TableName=table)["Items"])
    assert ticket not in stored and token not in stored
    # Every request gets a new one
    assert api.call("POST", "/auth/ws-ticket", token=token).json["ticket"] != ticket


def test_a_cookie_session_asks_for_a_ticket_from_the_apps_origin_only(api):
    token = api.signup()
    cookie = {"Cookie": f"userdb_session={token}"}
    foreign = api.call(
        "POST", "/auth/ws-ticket", headers={**cookie, "Origin": "https://evil.example"}
    )
    assert (foreign.status, foreign.error_code) == (403, "origin_mismatch")
    own = api.call("POST", "/auth/ws-ticket", headers={**cookie, "Origin": "http://127.0.0.1:8000"})
    assert own.status == 201


def test_a_tickets_session_lists_no_ticket(api):
    token = api.signup()
    api.call("POST", "/auth/ws-ticket", token=token)
    sessions = api.call("GET", "/auth/sessions", token=token).json["sessions"]
    assert len(sessions) == 1


# ---- the store ----


@pytest.fixture(
    params=["memory", "moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)]
)
def store(request: pytest.FixtureRequest) -> Iterator[ConnectTicketStore]:
    prefix = f"tickets-{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        yield InMemoryConnectTicketStore()
        return
    endpoint = (
        None if request.param == "moto" else request.getfixturevalue("dynamodb_local").endpoint
    )
    with mock_aws() if endpoint is None else contextlib.nullcontext():
        settings = Settings(table_prefix=prefix, dynamodb_endpoint=endpoint)
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=settings.region)
        create_tables(client, shared_tables(settings))
        yield DynamoConnectTicketStore(shared_table(settings, SESSIONS_SUFFIX))


def test_a_ticket_is_taken_once(store):
    store.add("h1", "session-key", 1_800_000_060)
    taken = store.take("h1")
    assert taken is not None and (taken.session_key, taken.expires) == (
        "session-key",
        1_800_000_060,
    )
    assert store.take("h1") is None
    assert store.take("never-issued") is None


def test_of_twenty_concurrent_takes_one_gets_the_ticket(store, request):
    if "moto" in request.node.name:
        pytest.skip("moto does not serialise concurrent conditional writes (FACTS.md)")
    store.add("h1", "session-key", 1_800_000_060)
    barrier = threading.Barrier(20)
    got: list[Any] = []

    def take() -> None:
        barrier.wait()
        got.append(store.take("h1"))

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for g in got if g is not None) == 1
