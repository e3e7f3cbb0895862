"""OAuth identities linked to accounts, in `{prefix}-accounts`.

An identity is an item `oauth#{provider}#{subject}` holding the user id, so a
callback finds its account in one GetItem; the account item lists its
identities' keys (`identity_keys`), so "my identities", unlinking and account
deletion need no index. Both sides change together, in one transaction.
"""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition, size
from pynamodb.transactions import TransactWrite

from chalicelib.dal.items import AccountItem, IdentityItem
from chalicelib.dal.tables import TableBinding
from chalicelib.errors import (
    IdentityInUseError,
    LastSignInMethodError,
    NotFoundError,
)
from chalicelib.models.identities import Identity


class IdentityStore(Protocol):
    def get(self, provider: str, subject: str) -> Identity | None:
        """The identity of `subject` at `provider`, read consistently."""
        ...

    def for_user(self, user_id: str) -> list[Identity]:
        """Every identity linked to the account, oldest first."""
        ...

    def link(self, identity: Identity) -> None:
        """Link `identity` to its existing account.

        IdentityInUseError if the identity is linked already (also when two links race);
        NotFoundError if the account is gone.
        """
        ...

    def unlink(self, user_id: str, identities: list[Identity]) -> None:
        """Remove `identities` from the account unless that leaves no way to sign in.

        LastSignInMethodError if the account would keep neither a password nor an
        identity (checked atomically with the removal).
        """
        ...


def identity_pk(key: str) -> str:
    """The item key of an identity from its `{provider}#{subject}` key."""
    return f"oauth#{key}"


def new_identity_item(items: type[IdentityItem], identity: Identity) -> IdentityItem:
    return items(
        identity_pk(identity.key),
        user_id=identity.user_id,
        provider=identity.provider,
        subject=identity.subject,
        email=identity.email,
        email_verified=identity.email_verified,
        created=identity.created,
    )


def _to_identity(item: IdentityItem) -> Identity:
    return Identity(
        provider=item.provider,
        subject=item.subject,
        user_id=item.user_id,
        email=item.email,
        email_verified=bool(item.email_verified),
        created=int(item.created),
    )


def _cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Why each item failed, in PynamoDB's order: condition checks, deletes, puts, updates."""
    return [r.code if r else None for r in (error.cancellation_reasons or [])]


class DynamoIdentityStore:
    """IdentityStore on DynamoDB: identity items plus the account item's `identity_keys` set."""

    def __init__(self, table: TableBinding) -> None:
        self._table = table
        self._accounts = table.model(AccountItem)
        self._identities = table.model(IdentityItem)

    def get(self, provider: str, subject: str) -> Identity | None:
        key = identity_pk(f"{provider}#{subject}")
        try:
            return _to_identity(self._identities.get(key, consistent_read=True))
        except DoesNotExist:
            return None

    def for_user(self, user_id: str) -> list[Identity]:
        try:
            account = self._accounts.get(
                user_id, consistent_read=True, attributes_to_get=["identity_keys"]
            )
        except DoesNotExist:
            return []
        keys = sorted(account.identity_keys or ())
        if not keys:
            return []
        found = self._identities.batch_get([identity_pk(key) for key in keys])
        # An identity item whose user id differs is a half-finished race: not this user's.
        identities = [_to_identity(item) for item in found if item.user_id == user_id]
        return sorted(identities, key=lambda identity: (identity.created, identity.key))

    def link(self, identity: Identity) -> None:
        account = self._accounts(identity.user_id)
        try:
            with TransactWrite(connection=self._table.connection()) as transaction:
                transaction.save(
                    new_identity_item(self._identities, identity),
                    condition=self._identities.pk.does_not_exist(),
                )
                transaction.update(
                    account,
                    actions=[self._accounts.identity_keys.add({identity.key})],
                    condition=self._accounts.pk.exists(),
                )
        except TransactWriteError as error:
            codes = _cancellation_codes(error)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise IdentityInUseError() from error
            if codes[1:2] == ["ConditionalCheckFailed"]:
                raise NotFoundError("No such account.") from error
            raise

    def unlink(self, user_id: str, identities: list[Identity]) -> None:
        if not identities:
            return
        keys = {identity.key for identity in identities}
        still_listed: list[Condition] = [self._accounts.identity_keys.contains(k) for k in keys]
        another_way_in = self._accounts.password_hash.exists() | (
            size(self._accounts.identity_keys) > len(keys)  # type: ignore[no-untyped-call]
        )
        condition = another_way_in
        for listed in still_listed:
            condition = condition & listed
        try:
            with TransactWrite(connection=self._table.connection()) as transaction:
                transaction.update(
                    self._accounts(user_id),
                    actions=[self._accounts.identity_keys.delete(keys)],
                    condition=condition,
                )
                for identity in identities:
                    transaction.delete(
                        self._identities(identity_pk(identity.key)),
                        condition=self._identities.user_id == user_id,
                    )
        except TransactWriteError as error:
            # PynamoDB sends deletes before updates: the account's update is the last item.
            if _cancellation_codes(error)[-1:] == ["ConditionalCheckFailed"]:
                raise LastSignInMethodError() from error
            raise


def identity_items_of(account: Any, items: type[IdentityItem]) -> list[IdentityItem]:
    """The identity items an account item lists (for deleting them with the account)."""
    return [items(identity_pk(key)) for key in sorted(account.identity_keys or ())]
