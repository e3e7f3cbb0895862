"""Functional tests: the Chalice app through chalice.test.Client, DynamoDB by moto in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.dal.schema import create_tables
from chalicelib.services import build_services, use_services
from chalicelib.settings import Settings, get_settings
from infra.tables import shared_tables
from tests.support.fakes import FakeClock, RecordingSubscriptions


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)  # each Set-Cookie header

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        return str(self.json["error"]["code"])


class Api:
    """JSON calls against the app, the way a client makes them."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
        content_type: str | None = "application/json",
    ) -> Reply:
        # content_type=None sends the body with no Content-Type at all.
        typed = {"Content-Type": content_type} if content_type is not None else {}
        sent = {**typed, **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else b"")
        if isinstance(payload, str):
            payload = payload.encode()
        response = self._client.http.request(method, path, headers=sent, body=payload)
        received: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in response.headers.items():
            values = value if isinstance(value, list) else [value]
            received[name.lower()] = ", ".join(values)
            if name.lower() == "set-cookie":
                cookies += values
        return Reply(response.status_code, received, response.body, cookies)

    def create_note(self, token: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
        """POST /notes (201 expected); the note as the API returns it."""
        reply = self.call("POST", "/notes", {"text": text, **extra}, token=token)
        assert reply.status == 201, reply.body
        note: dict[str, Any] = reply.json["note"]
        return note

    def user_id(self, token: str) -> str:
        """The id of the account the token signs in (its tenant id)."""
        return str(self.call("GET", "/me", token=token).json["user"]["id"])

    def signup(self, email: str | None = None, password: str = "correct horse battery") -> str:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        reply = self.call(
            "POST", "/auth/signup", {"email": email, "password": password, "name": "T"}
        )
        assert reply.status == 201, reply.body
        return str(reply.json["token"])


@pytest.fixture
def tenancy() -> str:
    """Where tenant data lives; a module runs in both modes with
    `pytestmark = pytest.mark.parametrize("tenancy", ["silo", "pool"])`."""
    return "silo"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tenancy: str) -> Iterator[Settings]:
    monkeypatch.setenv("USERDB_TENANCY", tenancy)
    monkeypatch.setenv("USERDB_TABLE_PREFIX", f"test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("USERDB_STAGE", "local")
    monkeypatch.delenv("USERDB_DYNAMODB_ENDPOINT", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def dynamodb(aws: None, settings: Settings) -> Any:
    client = boto3.client("dynamodb", region_name=settings.region)
    create_tables(client, shared_tables(settings))
    return client


@pytest.fixture
def subscriptions() -> RecordingSubscriptions:
    # moto's Lambda runs mapped functions through Docker: these tests record the mappings
    # instead (tests/functional/test_stream_mappings.py exercises the Lambda API calls).
    return RecordingSubscriptions()


@pytest.fixture
def services(
    dynamodb: Any, settings: Settings, clock: FakeClock, subscriptions: RecordingSubscriptions
) -> Iterator[Any]:
    services = build_services(settings, clock, subscriptions)
    use_services(services)
    yield services
    use_services(None)


@pytest.fixture
def api(services: Any) -> Iterator[Api]:
    from app import app

    with Client(app) as client:
        yield Api(client)
