"""In-memory fakes of our interfaces (preferred over mock.patch)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.dal.accounts import LoginAttempts
from chalicelib.dal.connection_push import ConnectionGoneError, PushFailedError
from chalicelib.models.accounts import Session
from chalicelib.models.connections import Connection
from chalicelib.models.protocol import Changes


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


class InMemorySessionStore:
    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.reads = 0

    def put(self, session: Session) -> None:
        self.sessions[session.token_hash] = session

    def get(self, token_hash: str) -> Session | None:
        self.reads += 1
        return self.sessions.get(token_hash)

    def renew(self, session: Session) -> bool:
        if session.token_hash not in self.sessions:
            return False
        self.sessions[session.token_hash] = session
        return True

    def delete(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    def list_for_user(self, user_id: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.user_id == user_id]


class InMemoryLoginAttemptsStore:
    def __init__(self) -> None:
        self.attempts: dict[str, LoginAttempts] = {}

    def get(self, email: str) -> LoginAttempts | None:
        return self.attempts.get(email)

    def save(self, email: str, attempts: LoginAttempts, expected_revision: int) -> bool:
        current = self.attempts.get(email)
        if (current.revision if current else 0) != expected_revision:
            return False
        self.attempts[email] = LoginAttempts(
            failures=attempts.failures,
            window_started=attempts.window_started,
            lockouts=attempts.lockouts,
            locked_until=attempts.locked_until,
            revision=expected_revision + 1,
            expires=attempts.expires,
        )
        return True


class InMemoryConnectionStore:
    def __init__(self) -> None:
        self.connections: dict[str, Connection] = {}

    def add(self, connection: Connection, expires: int) -> None:
        self.connections[connection.connection_id] = connection

    def get(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def for_tenant(self, tenant_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.tenant_id == tenant_id]

    def raise_ack(self, tenant_id: str, connection_id: str, version: int) -> None:
        current = self.connections.get(connection_id)
        if current is not None and current.acked_version < version:
            self.connections[connection_id] = current.model_copy(update={"acked_version": version})

    def remove(self, tenant_id: str, connection_id: str) -> None:
        self.connections.pop(connection_id, None)


class FakeChangeFeed:
    """Notes with versions per tenant, answering `changes_since` like the real store."""

    def __init__(self) -> None:
        self.version: dict[str, int] = {}
        self.items: dict[str, dict[str, dict[str, Any]]] = {}
        self.reads = 0

    def write(self, tenant_id: str, note_id: str, text: str | None) -> int:
        version = self.version.get(tenant_id, 0) + 1
        self.version[tenant_id] = version
        item: dict[str, Any] = {"id": note_id, "version": version}
        item.update({"deleted": True} if text is None else {"text": text})
        self.items.setdefault(tenant_id, {})[note_id] = item
        return version

    def current_version(self, tenant_id: str) -> int:
        return self.version.get(tenant_id, 0)

    def changes_since(self, tenant_id: str, since: int | None) -> Changes:
        self.reads += 1
        items = sorted(self.items.get(tenant_id, {}).values(), key=lambda i: i["version"])
        if since is None:
            live = [i for i in items if not i.get("deleted")]
            return Changes(from_=0, to=self.current_version(tenant_id), snapshot=True, items=live)
        newer = [i for i in items if i["version"] > since]
        return Changes(from_=since, to=self.current_version(tenant_id), items=newer)


class RecordingPush:
    """Records what would be posted; can answer Gone or fail for chosen connections."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.closed: list[str] = []
        self.gone: set[str] = set()
        self.failing: dict[str, int] = {}

    def post(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.gone:
            raise ConnectionGoneError(connection_id)
        if self.failing.get(connection_id, 0) > 0:
            self.failing[connection_id] -= 1
            raise PushFailedError(connection_id)
        self.posts.append((connection_id, json.loads(data)))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def messages_to(self, connection_id: str) -> list[dict[str, Any]]:
        return [message for target, message in self.posts if target == connection_id]
