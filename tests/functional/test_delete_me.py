"""DELETE /me removes the account and everything of it, in silo and pool mode."""

from __future__ import annotations

import json

import pytest

from chalicelib.dal.connections import DynamoConnectionStore
from chalicelib.dal.tables import CONNECTIONS_SUFFIX, shared_table
from chalicelib.models.connections import Connection

pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])


def _everything(dynamodb):
    """Every table of this test's backend and every item in it, as JSON text per table."""
    found = {}
    for name in dynamodb.list_tables()["TableNames"]:
        items = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            items += page["Items"]
        found[name] = json.dumps(items)
    return found


def _put_connection(dynamodb, settings, tenant_id, connection_id):
    """A live WebSocket connection, stored as the realtime code stores it (with its pointer)."""
    store = DynamoConnectionStore(shared_table(settings, CONNECTIONS_SUFFIX))
    connection = Connection(
        tenant_id=tenant_id,
        connection_id=connection_id,
        client_id="c-1",
        session_id="ses_x",
        connected_at=1,
    )
    store.add(connection, expires=9_999_999_999)


def test_delete_me_leaves_nothing_of_the_account_in_any_table(api, dynamodb, settings):
    # Given A with notes, a tombstone, an idempotency record, two sessions and a connection,
    # and B, who stays
    email = "leaving@example.com"
    a = api.signup(email)
    api.call("POST", "/auth/login", {"email": email, "password": "correct horse battery"})
    a_id = api.user_id(a)
    notes = [
        api.call("POST", "/notes", {"text": f"private {i}"}, token=a).json["note"] for i in range(3)
    ]
    api.call("DELETE", f"/notes/{notes[0]['id']}", token=a)
    api.call("POST", "/notes", {"text": "keyed"}, token=a, headers={"Idempotency-Key": "k-1"})
    _put_connection(dynamodb, settings, a_id, "conn-a")
    b = api.signup()
    b_id = api.user_id(b)
    b_note = api.call("POST", "/notes", {"text": "b stays"}, token=b).json["note"]
    _put_connection(dynamodb, settings, b_id, "conn-b")
    before = _everything(dynamodb)
    assert any(a_id in items for items in before.values())
    # When A deletes their account
    reply = api.call("DELETE", "/me", token=a)
    # Then no table holds anything of A: no table named for A, no item naming A,
    # no note text, no email
    assert reply.status == 204
    after = _everything(dynamodb)
    assert not [name for name in after if a_id in name]
    for name, items in after.items():
        assert a_id not in items, name
        assert "private" not in items and "keyed" not in items, name
        assert email not in items, name
    # And B's data is all there
    assert any(b_id in items for items in after.values())
    assert api.call("GET", "/notes", token=b).json["notes"] == [b_note]
    assert "conn-b" in after[settings.table_name(CONNECTIONS_SUFFIX)]


def test_after_delete_me_the_account_is_gone_for_good(api):
    # Given an account that deleted itself
    email = "gone@example.com"
    token = api.signup(email)
    api.call("POST", "/notes", {"text": "x"}, token=token)
    assert api.call("DELETE", "/me", token=token).status == 204
    # Then its token no longer works, its password no longer signs in
    assert api.call("GET", "/notes", token=token).status == 401
    login = api.call("POST", "/auth/login", {"email": email, "password": "correct horse battery"})
    assert login.status == 401
    # And the email can start a new, empty account
    fresh = api.signup(email)
    assert api.call("GET", "/notes", token=fresh).json == {
        "notes": [],
        "cursor": None,
        "version": 0,
    }
