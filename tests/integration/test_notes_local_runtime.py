"""Two users and their notes through `python -m infra.local up` (moto backend), over real HTTP.

The runtime runs this project's app as a user starts it, in silo mode: each
sign-up creates a tenant table on the backend's DynamoDB endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
import requests

from tests.support.runtime_process import PROJECT_DIR, RuntimeProcess, start_runtime


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    process = start_runtime(PROJECT_DIR)
    yield process
    process.stop()


class User:
    def __init__(self, runtime: RuntimeProcess) -> None:
        self.api = runtime.api_url
        self.http = requests.Session()
        email = f"{uuid.uuid4().hex[:10]}@example.com"
        reply = self.http.post(
            f"{self.api}/auth/signup",
            json={"email": email, "password": "correct horse battery", "name": "U"},
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        self.id = reply.json()["user"]["id"]
        self.http.headers["Authorization"] = f"Bearer {reply.json()['token']}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.api + path, timeout=30, **kwargs)


def test_two_users_each_see_only_their_own_notes_and_sync_is_exact(runtime):
    # Given Ann and Bob, each with notes they create, edit and delete
    ann, bob = User(runtime), User(runtime)
    ann_ids = [
        ann.call("POST", "/notes", json={"text": f"ann {i}"}).json()["note"]["id"] for i in range(3)
    ]
    bob_id = bob.call("POST", "/notes", json={"text": "bob"}).json()["note"]["id"]
    edited = ann.call(
        "PUT", f"/notes/{ann_ids[0]}", json={"text": "ann 0 edited"}, headers={"If-Match": '"1"'}
    )
    assert edited.status_code == 200 and edited.headers["ETag"] == '"4"'
    assert ann.call("DELETE", f"/notes/{ann_ids[1]}").status_code == 204
    # Then each lists only their own live notes
    assert sorted(n["text"] for n in ann.call("GET", "/notes").json()["notes"]) == [
        "ann 0 edited",
        "ann 2",
    ]
    assert [n["id"] for n in bob.call("GET", "/notes").json()["notes"]] == [bob_id]
    # And neither reaches the other's notes by id
    assert bob.call("GET", f"/notes/{ann_ids[0]}").status_code == 404
    assert bob.call("DELETE", f"/notes/{ann_ids[2]}").status_code == 404
    # And Ann's sync since version 3 is exactly the edit and the deletion
    changes = ann.call("GET", "/sync", params={"since": 3}).json()
    assert (changes["from"], changes["to"], changes["snapshot"]) == (3, 5, False)
    assert [(i["id"], i["version"], i.get("deleted", False)) for i in changes["items"]] == [
        (ann_ids[0], 4, False),
        (ann_ids[1], 5, True),
    ]
    # And each has a table of their own on the runtime's DynamoDB
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{runtime.ddb_port}",
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )
    tables = dynamodb.list_tables()["TableNames"]
    assert {f"userdb-local-tenant-{ann.id}", f"userdb-local-tenant-{bob.id}"} <= set(tables)
    # And when Ann deletes her account, her table goes and Bob's stays
    assert ann.call("DELETE", "/me").status_code == 204
    tables = dynamodb.list_tables()["TableNames"]
    assert f"userdb-local-tenant-{ann.id}" not in tables
    assert f"userdb-local-tenant-{bob.id}" in tables
