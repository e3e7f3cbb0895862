"""In-memory fakes of our interfaces (preferred over mock.patch)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.dal.accounts import AttemptsRefused, CountedAttempt, Credentials
from chalicelib.dal.connect_tickets import StoredTicket
from chalicelib.dal.connection_push import ConnectionGoneError, PushFailedError
from chalicelib.dal.oauth_states import PendingSignIn
from chalicelib.dal.tenant_store import (
    Absent,
    Commit,
    CommitOutcome,
    CommitResult,
    DocKey,
    DocWrite,
    StoredDoc,
    TenantGoneError,
    TenantMeta,
)
from chalicelib.errors import (
    EmailTakenError,
    IdentityInUseError,
    LastSignInMethodError,
    NotFoundError,
)
from chalicelib.logic.identity_providers import AuthorizationRequest
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.sessions import SessionService
from chalicelib.models.accounts import Account, Session
from chalicelib.models.connections import Connection, TenantConnections
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


def memory_sessions(clock: FakeClock) -> SessionService:
    """Sessions in memory that last a day, validated through a small 30 s cache."""
    return SessionService(
        InMemorySessionStore(),
        SessionCache(10, 30, clock),
        clock,
        lifetime_seconds=86_400,
        renew_after_seconds=86_400,
    )


class InMemoryConnectTicketStore:
    def __init__(self) -> None:
        self.tickets: dict[str, StoredTicket] = {}
        self._lock = threading.Lock()

    def add(self, ticket_hash: str, session_key: str, expires: int) -> None:
        self.tickets[ticket_hash] = StoredTicket(session_key, expires)

    def take(self, ticket_hash: str) -> StoredTicket | None:
        with self._lock:
            return self.tickets.pop(ticket_hash, None)


@dataclass
class _Attempts:
    failures: int = 0
    window_started: int = 0
    lockouts: int = 0
    locked_until: int = 0
    expires: int = 0


class InMemoryLoginAttemptsStore:
    """LoginAttemptsStore in memory, each operation atomic under one lock as DynamoDB's are."""

    def __init__(self) -> None:
        self.attempts: dict[str, _Attempts] = {}
        self._lock = threading.Lock()

    def count(
        self, key: str, now: int, limit: int, window_seconds: int
    ) -> CountedAttempt | AttemptsRefused | None:
        with self._lock:
            current = self.attempts.get(key)
            if current is None or current.expires <= now:
                current = _Attempts()
            if current.locked_until > now:
                return AttemptsRefused(current.locked_until)
            if current.window_started > now - window_seconds:
                if current.failures >= limit:
                    return AttemptsRefused(current.window_started + window_seconds)
                current.failures += 1
            else:
                current.failures, current.window_started = 1, now
                current.expires = max(current.expires, now + window_seconds)
            self.attempts[key] = current
            return CountedAttempt(key, current.window_started, current.failures, current.lockouts)

    def _same_window(self, counted: CountedAttempt) -> _Attempts | None:
        current = self.attempts.get(counted.key)
        if current is None or current.window_started != counted.window_started:
            return None
        return current

    def lock(self, counted: CountedAttempt, now: int, until: int, expires: int) -> None:
        with self._lock:
            current = self._same_window(counted)
            if current is not None and current.locked_until <= now:
                current.locked_until, current.lockouts = until, counted.lockouts + 1
                current.failures, current.window_started, current.expires = 0, now, expires

    def clear(self, counted: CountedAttempt) -> None:
        with self._lock:
            current = self._same_window(counted)
            if current is not None:
                current.failures = 0

    def refund(self, counted: CountedAttempt) -> None:
        with self._lock:
            current = self._same_window(counted)
            if current is not None and current.failures > 0:
                current.failures -= 1


class InMemoryTrustedDeviceStore:
    def __init__(self) -> None:
        self.devices: dict[tuple[str, str], int] = {}

    def add(self, token_hash: str, email: str, expires: int) -> None:
        self.devices[(token_hash, email)] = expires

    def signed_in(self, token_hash: str, email: str, now: int) -> bool:
        return self.devices.get((token_hash, email), 0) > now


class InMemoryTenantStore:
    """TenantStore in memory, with the same conditions as DynamoDB's transaction (one lock)."""

    def __init__(self, tenant_id: str = "usr_0000000000000000") -> None:
        self._tenant_id = tenant_id
        self.meta: TenantMeta | None = None
        self.docs: dict[DocKey, StoredDoc] = {}
        self._lock = threading.Lock()
        self.last_commit: Commit | None = None
        self.version_reads = 0

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    def read_meta(self) -> TenantMeta:
        with self._lock:
            if self.meta is None:
                raise TenantGoneError("no meta")
            return self.meta

    def initialise(self) -> None:
        with self._lock:
            if self.meta is None:
                self.meta = TenantMeta(version=0)

    def commit(self, commit: Commit, expected_version: int) -> CommitResult:
        with self._lock:
            if self.meta is None:
                raise TenantGoneError("no meta")
            if self.meta.version != expected_version:
                return CommitResult(CommitOutcome.STALE_VERSION)
            for index, write in enumerate(commit.writes):
                if not _holds(write, self.docs.get(write.key)):
                    return CommitResult(CommitOutcome.DOC_CONDITION, refused=index)
            for offset, write in enumerate(commit.writes, start=1):
                self.docs[write.key] = _applied(
                    write, self.docs.get(write.key), expected_version + offset
                )
            self.meta = _moved_meta(self.meta, commit, expected_version + len(commit.writes))
            self.last_commit = commit
            return CommitResult(CommitOutcome.COMMITTED)

    def get_doc(self, key: DocKey) -> StoredDoc | None:
        with self._lock:
            return self.docs.get(key)

    def get_docs(self, keys: Iterable[DocKey]) -> dict[DocKey, StoredDoc]:
        with self._lock:
            return {key: self.docs[key] for key in keys if key in self.docs}

    def live_docs(
        self, collection: str, after_id: str | None, *, page_size: int = 100
    ) -> Iterator[StoredDoc]:
        with self._lock:
            docs = sorted(
                (d for d in self.docs.values() if d.collection == collection), key=lambda d: d.id
            )
        yield from (d for d in docs if not d.deleted and (after_id is None or d.id > after_id))

    def docs_by_version(
        self,
        after_version: int,
        *,
        live_only: bool,
        collections: frozenset[str] | None = None,
        page_size: int = 100,
    ) -> Iterator[StoredDoc]:
        with self._lock:
            self.version_reads += 1
            docs = sorted(self.docs.values(), key=lambda d: d.version)
        yield from (
            d
            for d in docs
            if d.version > after_version
            and not (live_only and d.deleted)
            and (collections is None or d.collection in collections)
        )

    def purge(self) -> int:
        with self._lock:
            count = len(self.docs) + (self.meta is not None)
            self.docs.clear()
            self.meta = None
            return count

    def expire(self, now_s: int) -> int:
        """What DynamoDB's TTL would eventually do: drop tombstones whose expiry has passed."""
        with self._lock:
            gone = [k for k, d in self.docs.items() if d.expires is not None and d.expires <= now_s]
            for key in gone:
                del self.docs[key]
            return len(gone)


def _holds(write: DocWrite, current: StoredDoc | None) -> bool:
    live = current is not None and not current.deleted
    if isinstance(write.expect, Absent):
        return not live and (current is None or write.expect.over_tombstone)
    if current is None or not live:
        return False
    return write.expect.version is None or current.version == write.expect.version


def _applied(write: DocWrite, current: StoredDoc | None, version: int) -> StoredDoc:
    key = write.key
    if write.data is None:
        assert current is not None
        return replace(
            current,
            version=version,
            data=None,
            updated=write.now_ms,
            deleted=True,
            expires=write.expires_s,
        )
    created = (
        write.now_ms if isinstance(write.expect, Absent) or current is None else current.created
    )
    return StoredDoc(key.collection, key.id, version, write.data, created, write.now_ms)


def _moved_meta(meta: TenantMeta, commit: Commit, version: int) -> TenantMeta:
    ledger = commit.ledger
    if ledger is None:
        return replace(meta, version=version)
    buckets = {day: v for day, v in meta.tombstone_buckets.items() if day not in ledger.folded}
    buckets[ledger.bucket] = version
    floor = ledger.floor if ledger.floor is not None else meta.tombstone_floor
    return TenantMeta(version=version, tombstone_floor=floor, tombstone_buckets=buckets)


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
        self.pushed: dict[str, dict[str, int]] = {}
        self.settled: dict[str, int] = {}
        self.listings = 0
        self.marks_written = 0

    def add(self, connection: Connection, expires: int) -> None:
        self.connections[connection.connection_id] = connection

    def get(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def for_tenant(self, tenant_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.tenant_id == tenant_id]

    def listing(self, tenant_id: str) -> TenantConnections:
        self.listings += 1
        return TenantConnections(
            connections=self.for_tenant(tenant_id),
            pushed=dict(self.pushed.get(tenant_id, {})),
            settled=self.settled.get(tenant_id, 0),
        )

    def record_pushed(
        self, tenant_id: str, pushed: Mapping[str, int], expires: int, settled: int = 0
    ) -> None:
        self.marks_written += 1
        self.pushed[tenant_id] = dict(pushed)
        self.settled[tenant_id] = settled

    def record_settled(self, tenant_id: str, settled: int, expires: int) -> None:
        self.settled[tenant_id] = max(self.settled.get(tenant_id, 0), settled)

    def tenant_of(self, connection_id: str) -> str | None:
        found = self.connections.get(connection_id)
        return None if found is None else found.tenant_id

    def follow(
        self, tenant_id: str, connection_id: str, collections: frozenset[str] | None
    ) -> None:
        current = self.connections.get(connection_id)
        if current is not None and current.tenant_id == tenant_id:
            self.connections[connection_id] = current.model_copy(
                update={"collections": collections}
            )

    def raise_ack(self, tenant_id: str, connection_id: str, version: int) -> bool:
        current = self.connections.get(connection_id)
        if current is None or current.tenant_id != tenant_id:
            return False
        if current.acked_version < version:
            self.connections[connection_id] = current.model_copy(update={"acked_version": version})
        return True

    def remove(self, tenant_id: str, connection_id: str) -> None:
        self.connections.pop(connection_id, None)

    def delete_all(self, tenant_id: str) -> int:
        gone = self.for_tenant(tenant_id)
        for connection in gone:
            self.remove(tenant_id, connection.connection_id)
        self.pushed.pop(tenant_id, None)
        self.settled.pop(tenant_id, None)
        return len(gone)


class FakeChangeFeed:
    """Documents with versions per tenant, answering `changes_since` like the real store."""

    def __init__(self) -> None:
        self.version: dict[str, int] = {}
        self.items: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.reads = 0

    def write(
        self, tenant_id: str, doc_id: str, text: str | None, collection: str = "notes"
    ) -> int:
        version = self.version.get(tenant_id, 0) + 1
        self.version[tenant_id] = version
        item: dict[str, Any] = {"collection": collection, "id": doc_id, "version": version}
        item.update({"deleted": True} if text is None else {"data": {"text": text}})
        self.items.setdefault(tenant_id, {})[(collection, doc_id)] = item
        return version

    def current_version(self, tenant_id: str) -> int:
        return self.version.get(tenant_id, 0)

    def followed(self, names: list[str] | None, field: str) -> frozenset[str] | None:
        return None if names is None else frozenset(names)

    def committed_changes(self, tenant_id: str, after: int, through: int) -> Changes:
        self.reads += 1
        items = sorted(self.items.get(tenant_id, {}).values(), key=lambda i: i["version"])
        chosen = [i for i in items if after < i["version"] <= through]
        return Changes(from_=after, to=through, items=chosen)

    def changes_since(
        self, tenant_id: str, since: int | None, collections: frozenset[str] | None = None
    ) -> Changes:
        self.reads += 1
        items = sorted(
            (
                i
                for i in self.items.get(tenant_id, {}).values()
                if collections is None or i["collection"] in collections
            ),
            key=lambda i: i["version"],
        )
        if since is None or since > self.current_version(tenant_id):
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


class RecordingTenants:
    """TenantLifecycle that records which tenants were provisioned and released."""

    def __init__(self) -> None:
        self.provisioned: list[str] = []
        self.released: list[str] = []

    def provision(self, tenant_id: str) -> None:
        self.provisioned.append(tenant_id)

    def release(self, tenant_id: str) -> None:
        self.released.append(tenant_id)


class RecordingSubscriptions:
    """Stream subscriptions that remember what they were asked to map (no Lambda API)."""

    def __init__(self) -> None:
        self.mapped: set[str] = set()
        self.removed: list[str] = []

    def ensure(self, stream_arn: str) -> None:
        self.mapped.add(stream_arn)

    def remove(self, stream_arn: str) -> None:
        self.mapped.discard(stream_arn)
        self.removed.append(stream_arn)
