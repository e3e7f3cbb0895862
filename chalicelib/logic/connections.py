"""The WebSocket side of sync: connect, the client's actions, disconnect, revocation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pydantic

from chalicelib.dal.connection_push import ConnectionGoneError
from chalicelib.dal.connections import ConnectionStore
from chalicelib.errors import (
    RateLimitedError,
    UserdbError,
    ValidationError,
    to_websocket_message,
)
from chalicelib.logic.change_feed import ChangeFeed
from chalicelib.logic.clock import Clock, epoch_ms, epoch_s
from chalicelib.logic.connect_tickets import ConnectTickets
from chalicelib.logic.instance_cache import InstanceCache
from chalicelib.logic.message_guard import MessageGuard, Verdict
from chalicelib.logic.message_split import split_changes
from chalicelib.logic.posting import ConnectionPusher
from chalicelib.logic.pushed_marks import marks_after, needs_writing
from chalicelib.logic.sessions import SessionService
from chalicelib.models.accounts import Session
from chalicelib.models.connections import Connection, TenantConnections
from chalicelib.models.protocol import (
    AckAction,
    ClientAction,
    HelloAction,
    PingAction,
    Pong,
    SyncAction,
    Welcome,
    client_action,
    encode,
)

# API Gateway closes every connection after 2 hours; items outlive that a little.
CONNECTION_TTL_SECONDS = 2 * 3600 + 600
# A connection's message budget when settings give none (Settings.ws_messages_*).
DEFAULT_MESSAGES_PER_SECOND, DEFAULT_MESSAGE_BURST = 10.0, 40


def _client_id(raw: str | None) -> str:
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        raise ValidationError("clientId must be a UUID.") from None


class ConnectionService:
    """Connections of signed-in users and the protocol of DESIGN §5."""

    def __init__(
        self,
        sessions: SessionService,
        connections: ConnectionStore,
        feed: ChangeFeed,
        clock: Clock,
        push: ConnectionPusher | None = None,
        *,
        tickets: ConnectTickets | None = None,
        guard: MessageGuard | None = None,
    ) -> None:
        self._sessions = sessions
        self._tickets = tickets
        self._guard = guard or MessageGuard(
            clock, DEFAULT_MESSAGES_PER_SECOND, DEFAULT_MESSAGE_BURST
        )
        self._connections = connections
        self._feed = feed
        self._clock = clock
        # The stage's @connections API, when settings name it (always on AWS and locally).
        self._push = push
        # Each recently seen connection's tenant: fixed for the connection's life, so an
        # entry is never wrong while it lives; once it is gone the ack's write says so.
        self._tenants: InstanceCache[str, str] = InstanceCache(10_000)

    def connect(
        self,
        connection_id: str,
        token: str | None,
        client_id: str | None,
        ticket: str | None = None,
    ) -> Connection:
        """Validate the session and remember the connection (401/400 reject the upgrade).

        The session comes from a connect ticket (used up here), or, deprecated, from the
        session token itself in the URL.
        """
        if ticket is not None and self._tickets is not None:
            session = self._tickets.redeem(ticket)
        else:
            session = self._sessions.validate(token or "")
        connection = Connection(
            tenant_id=session.user_id,
            connection_id=connection_id,
            client_id=_client_id(client_id),
            session_id=session.id,
            connected_at=epoch_ms(self._clock),
        )
        self._connections.add(connection, epoch_s(self._clock) + CONNECTION_TTL_SECONDS)
        return connection

    def disconnect(self, connection_id: str) -> None:
        self._guard.forget(connection_id)
        connection = self._connections.get(connection_id)
        if connection is not None:
            self._connections.remove(connection.tenant_id, connection_id)

    def receive(
        self, connection_id: str, body: str | bytes | None, push: ConnectionPusher | None = None
    ) -> None:
        """Answer one client message; anything malformed gets an `error` message, nothing else.

        A connection the server no longer knows is closed instead: it was forgotten
        because its session ended, or because a post to it was answered 410 while the
        client stayed. Either way the client reconnects, and `$connect` checks its
        session again (401 if it ended).

        `push` is the @connections API of the event's own stage when settings name none.
        """
        push = push or self._push
        if push is None:
            raise RuntimeError("no @connections endpoint: set USERDB_WEBSOCKET_ENDPOINT")
        verdict = self._guard.admit(connection_id)
        if verdict is not Verdict.ADMIT:
            # Dropped before any DynamoDB call; the client hears it once per episode.
            if verdict is Verdict.REFUSE_AND_TELL:
                self._post(push, connection_id, encode_error(RateLimitedError()))
            return
        action: ClientAction | ValidationError
        try:
            action = client_action.validate_json(body or b"")
        except pydantic.ValidationError as error:
            action = ValidationError(_describe(error))
        try:
            if isinstance(action, AckAction):
                self._ack(connection_id, action.version, push)
                return
            connection = self._connections.get(connection_id)
            if connection is None:
                push.close(connection_id)
                return
            if isinstance(action, ValidationError):
                raise action
            self._answer(connection, action, push)
        except UserdbError as error:
            self._post(push, connection_id, encode_error(error))

    def _ack(self, connection_id: str, version: int, push: ConnectionPusher) -> None:
        """An ack, the most frequent message, in one write: the connection's tenant never
        changes, so a warm instance knows it, and the conditional update tells us if the
        connection is gone."""
        if not self._guard.ack_is_news(connection_id, version):
            return  # acks are cumulative: one at or below the last says nothing new
        tenant_id = self._tenants.get(connection_id)
        if tenant_id is None:
            tenant_id = self._connections.tenant_of(connection_id)
        if tenant_id is not None and self._connections.raise_ack(tenant_id, connection_id, version):
            self._tenants.put(connection_id, tenant_id)
            self._guard.record_ack(connection_id, version)
            return
        self._tenants.forget(connection_id)
        self._guard.forget(connection_id)
        push.close(connection_id)

    def _answer(self, connection: Connection, action: ClientAction, push: ConnectionPusher) -> None:
        tenant_id = connection.tenant_id
        if isinstance(action, HelloAction):
            connection = self._follow(connection, action.collections)
            listed = self._close_older(connection, push)
            version = self._feed.current_version(tenant_id)
            welcome = Welcome(
                clientId=connection.client_id,
                connectionId=connection.connection_id,
                version=version,
            )
            self._post(push, connection.connection_id, encode(welcome))
            self._acknowledge(connection, _at_most(action.since, version))
            caught_up = self._catch_up(connection, action.since, push)
            if caught_up is not None:
                self._mark_pushed(listed, connection, caught_up)
        elif isinstance(action, PingAction):
            version = self._feed.current_version(tenant_id)
            self._post(push, connection.connection_id, encode(Pong(version=version)))
            self._acknowledge(connection, _at_most(action.version, version))
            # Behind: the missing range; ahead (a cursor from the future): a snapshot.
            if action.version is not None and action.version != version:
                self._catch_up(connection, action.version, push)
        elif isinstance(action, SyncAction):
            collections = connection.collections
            if action.collections is not None:
                collections = self._feed.followed(action.collections, "collections")
            self._catch_up(connection, action.since, push, collections)

    def _follow(self, connection: Connection, names: list[str] | None) -> Connection:
        """Record the collections a `hello` follows (only when they change: one write)."""
        collections = self._feed.followed(names, "collections")
        if collections != connection.collections:
            self._connections.follow(connection.tenant_id, connection.connection_id, collections)
            connection = connection.model_copy(update={"collections": collections})
        return connection

    def _acknowledge(self, connection: Connection, version: int | None) -> None:
        if version:
            self._connections.raise_ack(connection.tenant_id, connection.connection_id, version)
            self._guard.record_ack(connection.connection_id, version)

    def _catch_up(
        self,
        connection: Connection,
        since: int | None,
        push: ConnectionPusher,
        collections: frozenset[str] | None = None,
    ) -> int | None:
        """Post what the connection lacks after `since`, of `collections` (default: those it
        follows). A range without items for it is posted all the same when it moves the
        client's cursor on (its items were of collections it does not follow).

        Returns the version the connection now holds everything up to, when every part
        was posted; None when nothing was posted or a post failed."""
        followed = collections if collections is not None else connection.collections
        changes = self._feed.changes_since(connection.tenant_id, since, followed)
        if since is not None and not changes.snapshot and not changes.items and changes.to <= since:
            return None
        delivered = True
        for part in split_changes(changes):
            delivered = self._post(push, connection.connection_id, encode(part)) and delivered
        return changes.to if delivered and not changes.more else None

    def _mark_pushed(self, listed: TenantConnections, connection: Connection, through: int) -> None:
        """Record that a catch-up gave the connection everything up to `through` (one write),
        so the stream's fan-out does not post it a range it already holds."""
        if all(c.connection_id != connection.connection_id for c in listed.connections):
            listed = listed.model_copy(update={"connections": [*listed.connections, connection]})
        marks = marks_after(listed, {connection.connection_id: through})
        if not needs_writing(listed, marks):
            return
        self._connections.record_pushed(
            connection.tenant_id,
            marks,
            epoch_s(self._clock) + CONNECTION_TTL_SECONDS,
            listed.settled,
        )

    def _close_older(self, connection: Connection, push: ConnectionPusher) -> TenantConnections:
        """A client id has one live connection: a reconnecting client replaces its old ones.
        Returns the tenant's connections (those closed left out) and its pushed marks."""
        listed = self._connections.listing(connection.tenant_id)
        kept = []
        for other in listed.connections:
            if (
                other.client_id == connection.client_id
                and other.connection_id != connection.connection_id
            ):
                push.close(other.connection_id)
                self._connections.remove(other.tenant_id, other.connection_id)
            else:
                kept.append(other)
        return listed.model_copy(update={"connections": kept})

    def close_session(self, session: Session) -> int:
        """Close the connections opened with one session (logout, revocation)."""
        return self._close(session.user_id, lambda c: c.session_id == session.id)

    def delete_all(self, tenant_id: str) -> int:
        """Close and forget every connection of the tenant (account deletion)."""
        return self._close(tenant_id, lambda _: True)

    def _close(self, tenant_id: str, chosen: Callable[[Connection], bool]) -> int:
        closed = 0
        for connection in self._connections.for_tenant(tenant_id):
            if chosen(connection):
                if self._push is not None:
                    self._push.close(connection.connection_id)
                self._connections.remove(tenant_id, connection.connection_id)
                closed += 1
        return closed

    @staticmethod
    def _post(push: ConnectionPusher, connection_id: str, data: bytes) -> bool:
        """Post one message; False if the client left meanwhile (its $disconnect cleans up)."""
        try:
            push.post(connection_id, data)
        except ConnectionGoneError:
            return False
        return True


def _at_most(claimed: int | None, version: int) -> int | None:
    """A cursor the client claims, as an ack: never beyond the tenant's version.

    A cursor from the future (data restored from a backup, a store reset) gets a
    snapshot; taken as an ack it would make the fan-out skip this connection
    until the tenant caught up with it (acks never go down).
    """
    return None if claimed is None else min(claimed, version)


def encode_error(error: UserdbError) -> bytes:
    return json.dumps(to_websocket_message(error)).encode()


def _describe(error: pydantic.ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return f"Invalid message ({where}: {first['msg']}). Send a JSON object with a known action."
