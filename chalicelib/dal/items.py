"""PynamoDB item classes: the storage layout of every table.

These classes are unbound: `bind` gives each a subclass for one table name and
endpoint, so one definition serves every stage and every tenant table. They
are also the schema of record: `schema.create_table_request` derives CreateTable
requests (and, through infra/tables.py, templates) from them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar, cast

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

# Every table expires items through this attribute (epoch seconds).
TTL_ATTRIBUTE = "expires"


class _Unbound:
    table_name = "unbound"


# ---- {prefix}-accounts: accounts, email claims, OAuth identities, login counters ----


class EmailIndex(GlobalSecondaryIndex["AccountItem"]):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class AccountItem(Model):
    """An account: pk is the user id."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="account")
    email = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    name = UnicodeAttribute()
    image = UnicodeAttribute(null=True)
    role = UnicodeAttribute(default="user")
    password_hash = UnicodeAttribute(null=True)
    created = NumberAttribute()
    updated = NumberAttribute()
    # `{provider}#{subject}` of the OAuth identities linked to this account.
    identity_keys = UnicodeSetAttribute(null=True)
    by_email = EmailIndex()


class EmailClaimItem(Model):
    """`email#{normalised email}` -> user id; written with the account so emails stay unique."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="email")
    user_id = UnicodeAttribute()


class IdentityItem(Model):
    """`oauth#{provider}#{subject}` -> user id: (provider, subject) resolves in one GetItem."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="identity")
    user_id = UnicodeAttribute()
    provider = UnicodeAttribute()
    subject = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    created = NumberAttribute()


class OAuthStateItem(Model):
    """`oauthstate#{sha256(state)}`: one sign-in in flight; single use, expiring by TTL."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="oauth_state")
    provider = UnicodeAttribute()
    code_verifier = UnicodeAttribute()
    nonce = UnicodeAttribute(null=True)
    redirect = UnicodeAttribute()
    link_user_id = UnicodeAttribute(null=True)
    created = NumberAttribute()
    expires = NumberAttribute()


class LoginAttemptsItem(Model):
    """`login#{normalised email}`, `login#address#{ip}` or `login#device#{hash}`: failed
    sign-ins and lockouts of that key, expiring by TTL."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="login")
    failures = NumberAttribute(default=0)
    window_started = NumberAttribute(default=0)
    lockouts = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    revision = NumberAttribute(default=0)
    expires = NumberAttribute()


class TrustedDeviceItem(Model):
    """`device#{sha256(email, sha256(device token))}`: a device that signed in to an email,
    expiring by TTL. The key alone says it; nothing in it names the email or the account."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="device")
    expires = NumberAttribute()


# ---- {prefix}-sessions ----


class SessionsByUserIndex(GlobalSecondaryIndex["SessionItem"]):
    class Meta:
        index_name = "user-index"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)


class SessionItem(Model):
    """A session: pk is the SHA-256 of its token; the token itself is never stored."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    session_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    created = NumberAttribute()
    renewed = NumberAttribute()
    expires = NumberAttribute()
    last_seen = NumberAttribute()
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    by_user = SessionsByUserIndex()


class ConnectTicketItem(Model):
    """`ticket#{sha256(ticket)}`: a single-use WebSocket connect ticket of a session.

    No `user_id`: the item must stay out of the sessions' `user-index`.
    """

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="connect_ticket")
    # The session's own key (the SHA-256 of its token).
    session_key = UnicodeAttribute()
    expires = NumberAttribute()


# ---- {prefix}-connections ----


class ConnectionItem(Model):
    """A live WebSocket connection of a tenant: pk tenant id, sk connection id."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    client_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    acked_version = NumberAttribute(default=0)
    connected_at = NumberAttribute()
    expires = NumberAttribute()
    # The collections the connection follows; absent: all.
    collections = UnicodeSetAttribute(null=True)


# The sort key of a tenant's pushed marks: after every connection id (ids are URL-safe
# base64 and similar), so it never collides with one.
PUSHED_MARKS_SORT_KEY = "~pushed"


class PushedMarksItem(Model):
    """`~pushed` in a tenant's partition: per connection id, the highest version a write's own
    push posted to it contiguously (docs/protocol.md, The fast path). Read with the
    tenant's connections, in the same Query."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=PUSHED_MARKS_SORT_KEY)
    # connection id -> version (a raw map: its keys are connection ids).
    pushed: MapAttribute[str, Any] = MapAttribute(default=dict)
    # The highest version whose writer finished its push (posted, or gave up).
    settled = NumberAttribute(default=0)
    expires = NumberAttribute()


class ConnectionPointerItem(Model):
    """`connection#{id}` -> tenant id: message events carry only the connection id."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="connection")
    tenant_id = UnicodeAttribute()
    expires = NumberAttribute()


# ---- tenant data: {prefix}-tenant-{id} (silo) or {prefix}-tenants (pool) ----


class VersionIndex(LocalSecondaryIndex["TenantItem"]):
    class Meta:
        index_name = "version-index"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)


class TenantItem(Model):
    """A tenant's item: a document or tombstone (`note#{id}`, `doc#{collection}#{id}`), or
    `meta` (the version counter)."""

    class Meta(_Unbound):
        stream_view_type = "NEW_AND_OLD_IMAGES"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    # A document's data as JSON text (exact round trip; DynamoDB numbers are not doubles).
    data = UnicodeAttribute(null=True)
    # Notes written before collections existed: their text (read as data {"text": ...}).
    text = UnicodeAttribute(null=True)
    created = NumberAttribute(null=True)
    updated = NumberAttribute(null=True)
    deleted = BooleanAttribute(null=True)
    expires = NumberAttribute(null=True)
    # On `meta` only: the tombstone ledger behind the sync horizon (docs/sync.md).
    tombstone_floor = NumberAttribute(null=True)
    tombstone_buckets: MapAttribute[str, Any] = MapAttribute(null=True)
    # On `meta` only: the last fast-path claim (epoch ms; docs/protocol.md, The fast path).
    push_claim = NumberAttribute(null=True)
    by_version = VersionIndex()


# ---- {prefix}-idempotency: Powertools' idempotency records ----

IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


class IdempotencyRecordItem(Model):
    """A record of Powertools' DynamoDB persistence layer: pk tenant id, sk operation#hash."""

    class Meta(_Unbound):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute(null=True)
    expiration = NumberAttribute(null=True)
    in_progress_expiration = NumberAttribute(null=True)
    data = UnicodeAttribute(null=True)
    validation = UnicodeAttribute(null=True)


M = TypeVar("M", bound=Model)


@lru_cache(maxsize=16)
def shared_connection(region: str, endpoint: str | None) -> Connection:
    """One PynamoDB connection (one botocore client) per endpoint, for every bound class."""
    return Connection(region=region, host=endpoint)


@lru_cache(maxsize=4096)
def bind(model: type[M], table_name: str, endpoint: str | None, region: str) -> type[M]:
    """`model` bound to one table and endpoint (cached per table name).

    PynamoDB gives every class its own connection, and so its own botocore
    client (tens of ms to build, per tenant table in silo mode); the bound
    class's connection is given the endpoint's one shared client instead.
    """
    meta = type(
        "Meta",
        (cast(type, model.Meta),),
        {"table_name": table_name, "host": endpoint, "region": region},
    )
    bound: type[M] = type(model.__name__, (model,), {"Meta": meta, "__module__": __name__})
    bound._get_connection().connection._client = shared_connection(region, endpoint).client
    return bound
