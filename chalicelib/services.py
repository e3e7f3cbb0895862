"""The composition root: builds the object graph from the settings, once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalicelib.dal.accounts import (
    DynamoAccountStore,
    DynamoLoginAttemptsStore,
    DynamoTrustedDeviceStore,
)
from chalicelib.dal.connect_tickets import DynamoConnectTicketStore
from chalicelib.dal.connection_push import ConnectionPush, PushFailedError
from chalicelib.dal.connections import DynamoConnectionStore
from chalicelib.dal.event_sources import StreamMappings
from chalicelib.dal.idempotency import PowertoolsIdempotency
from chalicelib.dal.identities import DynamoIdentityStore
from chalicelib.dal.oauth_states import DynamoOAuthStateStore
from chalicelib.dal.secrets import resolve_secret
from chalicelib.dal.sessions import DynamoSessionStore
from chalicelib.dal.tables import (
    ACCOUNTS_SUFFIX,
    CONNECTIONS_SUFFIX,
    IDEMPOTENCY_SUFFIX,
    SESSIONS_SUFFIX,
    shared_table,
)
from chalicelib.dal.tenant_tables import tenant_tables
from chalicelib.logic.accounts import AccountService
from chalicelib.logic.clock import Clock, SystemClock
from chalicelib.logic.collections import Collections, load_declarations
from chalicelib.logic.connect_tickets import ConnectTickets
from chalicelib.logic.connections import ConnectionService
from chalicelib.logic.documents import DocumentService
from chalicelib.logic.fanout import FanOut
from chalicelib.logic.fanout_subscription import FanOutSubscription, StreamSubscriptions
from chalicelib.logic.fast_path import FastPath, FastPathPolicy
from chalicelib.logic.feed import DocumentFeed
from chalicelib.logic.identity_providers import configured_providers
from chalicelib.logic.login_throttle import LoginThrottle, ThrottlePolicy
from chalicelib.logic.message_guard import MessageGuard
from chalicelib.logic.notes import NoteService
from chalicelib.logic.oauth import OAuthService
from chalicelib.logic.passwords import PasswordHasher
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.sessions import SessionService
from chalicelib.logic.tenant_writes import TenantWriter
from chalicelib.logic.tenants import TenantService
from chalicelib.logic.trusted_devices import TrustedDevices
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: SessionService
    tickets: ConnectTickets
    accounts: AccountService
    oauth: OAuthService
    tenants: TenantService
    documents: DocumentService
    feed: DocumentFeed
    notes: NoteService
    connections: ConnectionService
    fan_out: FanOut
    push_for: Callable[[str | None], ConnectionPush | None]


def build_services(
    settings: Settings,
    clock: Clock,
    stream_subscriptions: StreamSubscriptions | None = None,
    collections: Collections | None = None,
) -> Services:
    """Wire stores, rules and clock for `settings`.

    Tests pass their own clock, and may pass `stream_subscriptions` where the
    Lambda API is not served (moto's mappings invoke functions through Docker),
    and `collections` instead of the stage's declaration file.
    """
    sessions = _sessions(settings, clock)
    tenants, account_store = _tenants(settings, stream_subscriptions)
    idempotency = PowertoolsIdempotency(shared_table(settings, IDEMPOTENCY_SUFFIX), settings)
    connection_store = DynamoConnectionStore(shared_table(settings, CONNECTIONS_SUFFIX))
    push_for = _push_factory(settings)
    default_push = push_for(None)
    declared = collections or declared_collections(settings)
    writer = TenantWriter(tenants)
    documents = DocumentService(
        writer,
        declared,
        idempotency,
        clock,
        tombstone_days=settings.tombstone_days,
        fast_path=_fast_path(settings, connection_store, clock),
    )
    feed = DocumentFeed(writer, declared, clock, tombstone_days=settings.tombstone_days)
    tickets = ConnectTickets(
        DynamoConnectTicketStore(shared_table(settings, SESSIONS_SUFFIX)), sessions, clock
    )
    connections = ConnectionService(
        sessions,
        connection_store,
        feed,
        clock,
        default_push,
        tickets=tickets,
        guard=MessageGuard(clock, settings.ws_messages_per_second, settings.ws_message_burst),
    )
    sessions.on_end(connections.close_session)
    accounts = AccountService(
        account_store,
        sessions,
        _passwords(settings),
        _login_throttle(settings, clock),
        clock,
        tenants=tenants,
        tenant_records=[connections, idempotency],
    )
    return Services(
        settings=settings,
        sessions=sessions,
        tickets=tickets,
        accounts=accounts,
        oauth=_oauth(settings, clock, account_store, accounts, sessions),
        tenants=tenants,
        documents=documents,
        feed=feed,
        notes=NoteService(documents),
        connections=connections,
        fan_out=FanOut(
            feed,
            connection_store,
            default_push or _MissingPush(),
            fast_path_max_connections=settings.fast_path_max_connections,
        ),
        push_for=push_for,
    )


def _sessions(settings: Settings, clock: Clock) -> SessionService:
    return SessionService(
        DynamoSessionStore(shared_table(settings, SESSIONS_SUFFIX)),
        SessionCache(settings.session_cache_size, settings.session_cache_seconds, clock),
        clock,
        lifetime_seconds=settings.session_days * 86_400,
        renew_after_seconds=settings.session_renew_after_seconds,
    )


def _passwords(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )


def _login_throttle(settings: Settings, clock: Clock) -> LoginThrottle:
    accounts_table = shared_table(settings, ACCOUNTS_SUFFIX)
    return LoginThrottle(
        DynamoLoginAttemptsStore(accounts_table),
        clock,
        _throttle_policy(settings, settings.login_max_failures),
        address_policy=_throttle_policy(settings, settings.login_address_max_failures),
        devices=TrustedDevices(
            DynamoTrustedDeviceStore(accounts_table), clock, settings.login_device_days * 86_400
        ),
    )


def _tenants(
    settings: Settings, stream_subscriptions: StreamSubscriptions | None
) -> tuple[TenantService, DynamoAccountStore]:
    """Tenant provisioning (and the account store it checks), with the fan-out's mapping step."""
    account_store = DynamoAccountStore(shared_table(settings, ACCOUNTS_SUFFIX))
    subscriptions = stream_subscriptions or StreamMappings(
        settings.fanout_function_name, settings.lambda_endpoint, settings.region
    )
    tenants = TenantService(
        tenant_tables(settings),
        account_store,
        wait_seconds=settings.tenant_wait_seconds,
        retry_after_seconds=settings.tenant_retry_after_seconds,
        steps=[FanOutSubscription(subscriptions)],
    )
    return tenants, account_store


def _oauth(
    settings: Settings,
    clock: Clock,
    account_store: DynamoAccountStore,
    accounts: AccountService,
    sessions: SessionService,
) -> OAuthService:
    accounts_table = shared_table(settings, ACCOUNTS_SUFFIX)
    return OAuthService(
        configured_providers(settings.oauth, lambda name: resolve_secret(name, settings.region)),
        DynamoOAuthStateStore(accounts_table),
        DynamoIdentityStore(accounts_table),
        account_store=account_store,
        accounts=accounts,
        sessions=sessions,
        clock=clock,
        api_url=settings.oauth.api_url or "",
        web_url=settings.oauth.web_url or f"{settings.allowed_origins[0]}/",
        allowed_origins=settings.allowed_origins,
    )


def _throttle_policy(settings: Settings, max_failures: int) -> ThrottlePolicy:
    return ThrottlePolicy(
        max_failures=max_failures,
        window_seconds=settings.login_window_seconds,
        lockout_seconds=settings.login_lockout_seconds,
        lockout_max_seconds=settings.login_lockout_max_seconds,
    )


@lru_cache(maxsize=4)
def _declarations(path: Path) -> Collections:
    return load_declarations(path)


def declared_collections(settings: Settings) -> Collections:
    """The collections the stage's file declares (read and checked once per process);
    CollectionDeclarationError names the file and the problem."""
    return _declarations(settings.collections_file)


def _push_factory(settings: Settings) -> Callable[[str | None], ConnectionPush | None]:
    """The @connections API: the stage's setting, else the endpoint an event names.

    On AWS the template sets USERDB_WEBSOCKET_ENDPOINT (the stream-triggered
    fan-out has no event to learn it from); websocket handlers can fall back to
    their event's domain and stage. One client per endpoint.
    """
    clients: dict[str, ConnectionPush] = {}

    def push_for(event_endpoint: str | None) -> ConnectionPush | None:
        endpoint = settings.websocket_endpoint or event_endpoint
        if endpoint is None:
            return None
        if endpoint not in clients:
            clients[endpoint] = ConnectionPush(endpoint, settings.region)
        return clients[endpoint]

    return push_for


# The fast path's posts: short timeouts and no retries, since the write waits for them
# and the stream's fan-out delivers whatever they miss.
FAST_POST_CONNECT_TIMEOUT_S = 0.25
FAST_POST_READ_TIMEOUT_S = 0.5


def _fast_path(
    settings: Settings, connections: DynamoConnectionStore, clock: Clock
) -> FastPath | None:
    """The writes' own push to their tenant's connections, when the stage names its
    @connections endpoint (REST handlers have no event that would name it)."""
    if settings.websocket_endpoint is None or settings.fast_path_max_connections == 0:
        return None
    push = ConnectionPush(
        settings.websocket_endpoint,
        settings.region,
        attempts=1,
        connect_timeout_s=FAST_POST_CONNECT_TIMEOUT_S,
        read_timeout_s=FAST_POST_READ_TIMEOUT_S,
    )
    policy = FastPathPolicy(
        max_connections=settings.fast_path_max_connections,
        wait_s=settings.fast_path_wait_ms / 1000,
        claim_s=settings.fast_path_wait_ms / 1000,
    )
    return FastPath(connections, push, clock, policy)


class _MissingPush:
    """Fan-out without USERDB_WEBSOCKET_ENDPOINT: fail loudly, batch retried once it is set."""

    def post(self, connection_id: str, data: bytes) -> None:
        raise PushFailedError("USERDB_WEBSOCKET_ENDPOINT is not set: cannot reach connections")

    def close(self, connection_id: str) -> None:
        raise PushFailedError("USERDB_WEBSOCKET_ENDPOINT is not set: cannot reach connections")


_current: Services | None = None


def get_services() -> Services:
    """This process's services (built on first use, then kept while the Lambda is warm)."""
    global _current  # noqa: PLW0603 - one graph per process, like a warm Lambda's
    if _current is None:
        _current = build_services(get_settings(), SystemClock())
    return _current


def use_services(services: Services | None) -> None:
    """Replace this process's services (tests inject a clock); None rebuilds on next use."""
    global _current  # noqa: PLW0603
    _current = services
