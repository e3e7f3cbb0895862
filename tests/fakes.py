"""In-memory fakes of our interfaces (preferred over mock.patch)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.dal.accounts import Credentials, LoginAttempts
from chalicelib.dal.connection_push import ConnectionGoneError, PushFailedError
from chalicelib.dal.oauth_states import PendingSignIn
from chalicelib.errors import (
    EmailTakenError,
    IdentityInUseError,
    LastSignInMethodError,
    NotFoundError,
)
from chalicelib.logic.identity_providers import AuthorizationRequest
from chalicelib.models.accounts import Account, Session
from chalicelib.models.connections import Connection
from chalicelib.models.identities import Identity, ProviderIdentity
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


# ---- accounts table and OAuth (in memory, with the same conditions as DynamoDB) ----


class InMemoryAccountsTable:
    """What `{prefix}-accounts` holds: accounts, password hashes, email claims, identities."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.password_hashes: dict[str, str | None] = {}
        self.claims: dict[str, str] = {}
        self.identities: dict[str, Identity] = {}
        self.identity_keys: dict[str, set[str]] = {}


class InMemoryAccountStore:
    def __init__(self, table: InMemoryAccountsTable) -> None:
        self.table = table

    def create(
        self, account: Account, password_hash: str | None, identity: Identity | None = None
    ) -> None:
        t = self.table
        if account.email is not None and account.email in t.claims:
            raise EmailTakenError()
        if identity is not None and identity.key in t.identities:
            raise IdentityInUseError()
        t.accounts[account.id] = account
        t.password_hashes[account.id] = password_hash
        t.identity_keys[account.id] = set()
        if account.email is not None:
            t.claims[account.email] = account.id
        if identity is not None:
            t.identities[identity.key] = identity
            t.identity_keys[account.id].add(identity.key)

    def get(self, user_id: str) -> Account | None:
        return self.table.accounts.get(user_id)

    def get_credentials(self, email: str) -> Credentials | None:
        user_id = self.table.claims.get(email)
        if user_id is None:
            return None
        return Credentials(self.table.accounts[user_id], self.table.password_hashes[user_id])

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.table.password_hashes[user_id] = password_hash

    def update_profile(
        self, user_id: str, *, name: str | None, image: str | None, updated: int
    ) -> Account:
        account = self.table.accounts[user_id]
        changes: dict[str, object] = {"updated": updated}
        if name is not None:
            changes["name"] = name
        if image is not None:
            changes["image"] = image
        self.table.accounts[user_id] = account.model_copy(update=changes)
        return self.table.accounts[user_id]

    def delete(self, user_id: str) -> None:
        t = self.table
        account = t.accounts.pop(user_id, None)
        if account is None:
            return
        t.password_hashes.pop(user_id, None)
        if account.email is not None:
            t.claims.pop(account.email, None)
        for key in t.identity_keys.pop(user_id, set()):
            t.identities.pop(key, None)


class InMemoryIdentityStore:
    def __init__(self, table: InMemoryAccountsTable) -> None:
        self.table = table

    def get(self, provider: str, subject: str) -> Identity | None:
        return self.table.identities.get(f"{provider}#{subject}")

    def for_user(self, user_id: str) -> list[Identity]:
        keys = self.table.identity_keys.get(user_id, set())
        found = [self.table.identities[k] for k in keys if k in self.table.identities]
        return sorted(found, key=lambda identity: (identity.created, identity.key))

    def link(self, identity: Identity) -> None:
        if identity.key in self.table.identities:
            raise IdentityInUseError()
        if identity.user_id not in self.table.accounts:
            raise NotFoundError("No such account.")
        self.table.identities[identity.key] = identity
        self.table.identity_keys[identity.user_id].add(identity.key)

    def unlink(self, user_id: str, identities: list[Identity]) -> None:
        keys = {identity.key for identity in identities}
        listed = self.table.identity_keys.get(user_id, set())
        has_password = self.table.password_hashes.get(user_id) is not None
        if not keys <= listed or not (has_password or len(listed) > len(keys)):
            raise LastSignInMethodError()
        listed -= keys
        for key in keys:
            self.table.identities.pop(key, None)


class InMemoryOAuthStateStore:
    def __init__(self) -> None:
        self.pending: dict[str, PendingSignIn] = {}

    def put(self, state: str, pending: PendingSignIn) -> None:
        self.pending[state] = pending

    def take(self, state: str) -> PendingSignIn | None:
        return self.pending.pop(state, None)


class FakeIdentityProvider:
    """A provider that vouches for whatever the test says (no HTTP): for the service's rules."""

    def __init__(self, provider_id: str = "test", name: str = "Test") -> None:
        self.id = provider_id
        self.name = name
        self.outcome: ProviderIdentity | Exception = ProviderIdentity(
            provider=provider_id, subject="subject-1", email="ann@example.com", email_verified=True
        )
        self.exchanges: list[tuple[str, str, str | None]] = []

    def vouch(self, subject: str, email: str | None = None, verified: bool = True) -> None:
        self.outcome = ProviderIdentity(
            provider=self.id, subject=subject, email=email, email_verified=verified
        )

    def authorization(self, redirect_uri: str, state: str) -> AuthorizationRequest:
        return AuthorizationRequest(
            url=f"https://provider.test/authorize?state={state}",
            code_verifier=f"verifier-{state}",
            nonce=f"nonce-{state}",
        )

    def identity(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str | None
    ) -> ProviderIdentity:
        self.exchanges.append((code, code_verifier, nonce))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


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
