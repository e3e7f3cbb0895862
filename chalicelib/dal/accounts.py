"""Accounts, their email claims and login counters, in `{prefix}-accounts`."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.dal.identities import identity_items_of, new_identity_item
from chalicelib.dal.items import (
    AccountItem,
    EmailClaimItem,
    IdentityItem,
    LoginAttemptsItem,
    TrustedDeviceItem,
)
from chalicelib.dal.tables import TableBinding
from chalicelib.errors import ConflictError, EmailTakenError, IdentityInUseError, NotFoundError
from chalicelib.models.accounts import Account
from chalicelib.models.identities import Identity


@dataclass(frozen=True)
class Credentials:
    account: Account
    password_hash: str | None


@dataclass(frozen=True)
class CountedAttempt:
    """A sign-in attempt counted before its password is verified: the key it was counted
    against, the window it counts in, its place in that window, and the lockouts so far."""

    key: str
    window_started: int
    count: int
    lockouts: int


@dataclass(frozen=True)
class AttemptsRefused:
    """No attempt was counted: the key is locked, or its window is full, until `until`."""

    until: int


class AccountStore(Protocol):
    def create(
        self, account: Account, password_hash: str | None, identity: Identity | None = None
    ) -> None:
        """Store a new account, and the identity it signs in with if any.

        EmailTakenError if its email belongs to another; IdentityInUseError if the
        identity is linked already (both also when two creations race).
        """
        ...

    def get(self, user_id: str) -> Account | None: ...

    def get_credentials(self, email: str) -> Credentials | None:
        """The account holding `email` (normalised) and its password hash, read consistently."""
        ...

    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    def update_profile(
        self, user_id: str, *, name: str | None, image: str | None, updated: int
    ) -> Account: ...

    def delete(self, user_id: str) -> None:
        """Remove the account, its email claim, its email's sign-in counter and its
        identities; absent accounts are not an error."""
        ...


class LoginAttemptsStore(Protocol):
    """Failed sign-ins per key (an email, an address, a trusted device), counted atomically."""

    def count(
        self, key: str, now: int, limit: int, window_seconds: int
    ) -> CountedAttempt | AttemptsRefused | None:
        """Count one attempt against `key` if it is not locked and fewer than `limit` are
        counted in its window (a new window starts once the last is `window_seconds` old).

        One conditional write: however many run at once, at most `limit` are counted in a
        window. None when a concurrent write won a race: call again.
        """
        ...

    def lock(self, counted: CountedAttempt, now: int, until: int, expires: int) -> None:
        """Lock the key until `until` and start a new window, if `counted`'s window is
        still the key's and it is not locked (a concurrent failure may have locked it)."""
        ...

    def clear(self, counted: CountedAttempt) -> None:
        """Forget the failures of `counted`'s window (a success), if it is still the key's."""
        ...

    def refund(self, counted: CountedAttempt) -> None:
        """Take `counted` back (it was not a failure), if its window is still the key's."""
        ...


class TrustedDeviceStore(Protocol):
    """Devices (browsers, clients) that signed in to an email, by the hash of their token."""

    def add(self, token_hash: str, email: str, expires: int) -> None: ...

    def signed_in(self, token_hash: str, email: str, now: int) -> bool:
        """True if the device signed in to `email` and that has not expired."""
        ...


def _email_key(email: str) -> str:
    return f"email#{email}"


def _login_key(key: str) -> str:
    return f"login#{key}"


def _device_key(token_hash: str, email: str) -> str:
    # Hashed with the email: the item says which device and email go together, not what
    # the email is, so an account's deletion leaves no trace of it in device items.
    digest = hashlib.sha256(f"{email}\n{token_hash}".encode()).hexdigest()
    return f"device#{digest}"


# Any read of an account id that cannot exist: the decoy read of an unknown email's login.
_DECOY_ACCOUNT_ID = "usr_decoy"


def _to_account(item: AccountItem) -> Account:
    return Account(
        id=item.pk,
        email=item.email,
        email_verified=bool(item.email_verified),
        name=item.name,
        image=item.image,
        role=item.role,
        created=int(item.created),
        updated=int(item.updated),
    )


class DynamoAccountStore:
    """AccountStore on DynamoDB: an account and its email claim are written in one transaction."""

    def __init__(self, table: TableBinding) -> None:
        self._table = table
        self._accounts = table.model(AccountItem)
        self._claims = table.model(EmailClaimItem)
        self._identities = table.model(IdentityItem)
        self._attempts = table.model(LoginAttemptsItem)

    def create(
        self, account: Account, password_hash: str | None, identity: Identity | None = None
    ) -> None:
        item = self._accounts(
            account.id,
            email=account.email,
            email_verified=account.email_verified,
            name=account.name,
            image=account.image,
            role=account.role,
            password_hash=password_hash,
            created=account.created,
            updated=account.updated,
            identity_keys={identity.key} if identity is not None else None,
        )
        # Positions in the transaction, to tell which condition failed.
        email_at = identity_at = -1
        try:
            with TransactWrite(connection=self._table.connection()) as transaction:
                transaction.save(item, condition=self._accounts.pk.does_not_exist())
                position = 1
                if account.email is not None:
                    claim = self._claims(_email_key(account.email), user_id=account.id)
                    transaction.save(claim, condition=self._claims.pk.does_not_exist())
                    email_at, position = position, position + 1
                if identity is not None:
                    transaction.save(
                        new_identity_item(self._identities, identity),
                        condition=self._identities.pk.does_not_exist(),
                    )
                    identity_at = position
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in (error.cancellation_reasons or [])]
            failed = {i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"}
            if email_at in failed:
                raise EmailTakenError() from error
            if identity_at in failed:
                raise IdentityInUseError() from error
            raise

    def get(self, user_id: str) -> Account | None:
        if not user_id.startswith("usr_"):
            return None
        try:
            return _to_account(self._accounts.get(user_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_credentials(self, email: str) -> Credentials | None:
        try:
            claim = self._claims.get(_email_key(email), consistent_read=True)
        except DoesNotExist:
            # As many reads for an unknown email as for a real one: timing tells nothing.
            with contextlib.suppress(DoesNotExist):
                self._accounts.get(_DECOY_ACCOUNT_ID, consistent_read=True)
            return None
        try:
            item = self._accounts.get(claim.user_id, consistent_read=True)
        except DoesNotExist:
            return None
        return Credentials(account=_to_account(item), password_hash=item.password_hash)

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._accounts(user_id).update(
            actions=[self._accounts.password_hash.set(password_hash)],
            condition=self._accounts.pk.exists(),
        )

    def update_profile(
        self, user_id: str, *, name: str | None, image: str | None, updated: int
    ) -> Account:
        actions: list[Action] = [self._accounts.updated.set(updated)]
        if name is not None:
            actions.append(self._accounts.name.set(name))
        if image is not None:
            actions.append(self._accounts.image.set(image))
        item = self._accounts(user_id)
        try:
            item.update(actions=actions, condition=self._accounts.pk.exists())
        except UpdateError as error:
            if _is_condition_failure(error):
                raise NotFoundError("No such account.") from error
            raise
        return _to_account(item)

    def delete(self, user_id: str) -> None:
        if not user_id.startswith("usr_"):
            return
        for _ in range(3):
            try:
                item = self._accounts.get(user_id, consistent_read=True)
            except DoesNotExist:
                return
            identities = identity_items_of(item, self._identities)
            # An identity linked meanwhile would be left behind: the delete then retries.
            unchanged = (
                size(self._accounts.identity_keys) == len(identities)  # type: ignore[no-untyped-call]
                if identities
                else self._accounts.identity_keys.does_not_exist()
            )
            try:
                with TransactWrite(connection=self._table.connection()) as transaction:
                    transaction.delete(self._accounts(user_id), condition=unchanged)
                    if item.email is not None:
                        transaction.delete(self._claims(_email_key(item.email)))
                        # Its sign-in counter names the email too.
                        transaction.delete(self._attempts(_login_key(item.email)))
                    for identity in identities:
                        transaction.delete(identity)
                return
            except TransactWriteError as error:
                reasons = [r.code if r else None for r in (error.cancellation_reasons or [])]
                if reasons[:1] != ["ConditionalCheckFailed"]:
                    raise
        raise ConflictError("The account changed while it was being deleted; try again.")


class DynamoLoginAttemptsStore:
    """LoginAttemptsStore on DynamoDB: an ADD under a condition counts an attempt in one
    write; starting a new window is a put conditioned on the revision every write bumps."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(LoginAttemptsItem)

    def count(
        self, key: str, now: int, limit: int, window_seconds: int
    ) -> CountedAttempt | AttemptsRefused | None:
        items = self._items
        item = items(_login_key(key))
        try:
            item.update(
                actions=[items.failures.add(1), items.revision.add(1)],
                condition=items.pk.exists()
                & (items.expires > now)
                & (items.window_started > now - window_seconds)
                & (items.failures < limit)
                & (items.locked_until <= now),
            )
            return _counted(key, item)
        except UpdateError as error:
            if not _is_condition_failure(error):
                raise
        stored = self._get(_login_key(key))
        # TTL deletes up to days late: an expired item is a forgotten one.
        live = stored if stored is not None and stored.expires > now else None
        if live is not None and live.locked_until > now:
            return AttemptsRefused(int(live.locked_until))
        if live is not None and live.window_started > now - window_seconds:
            if live.failures >= limit:
                return AttemptsRefused(int(live.window_started) + window_seconds)
            return None  # counted by others between our write and our read: try again
        return self._start_window(key, stored, live, now, window_seconds)

    def _get(self, pk: str) -> LoginAttemptsItem | None:
        try:
            return self._items.get(pk, consistent_read=True)
        except DoesNotExist:
            return None

    def _start_window(
        self,
        key: str,
        stored: LoginAttemptsItem | None,
        live: LoginAttemptsItem | None,
        now: int,
        window_seconds: int,
    ) -> CountedAttempt | None:
        items = self._items
        revision = int(stored.revision) if stored is not None else 0
        new = items(
            _login_key(key),
            failures=1,
            window_started=now,
            lockouts=int(live.lockouts) if live is not None else 0,
            locked_until=int(live.locked_until) if live is not None else 0,
            revision=revision + 1,
            expires=max(int(live.expires) if live is not None else 0, now + window_seconds),
        )
        condition = items.pk.does_not_exist() if stored is None else (items.revision == revision)
        try:
            new.save(condition=condition)
        except PutError as error:
            if _is_condition_failure(error):
                return None
            raise
        return _counted(key, new)

    def lock(self, counted: CountedAttempt, now: int, until: int, expires: int) -> None:
        items = self._items
        self._update_window(
            counted,
            [
                items.locked_until.set(until),
                items.lockouts.set(counted.lockouts + 1),
                items.failures.set(0),
                items.window_started.set(now),
                items.expires.set(expires),
                items.revision.add(1),
            ],
            items.locked_until <= now,
        )

    def clear(self, counted: CountedAttempt) -> None:
        items = self._items
        self._update_window(counted, [items.failures.set(0), items.revision.add(1)])

    def refund(self, counted: CountedAttempt) -> None:
        items = self._items
        self._update_window(
            counted, [items.failures.add(-1), items.revision.add(1)], items.failures > 0
        )

    def _update_window(
        self, counted: CountedAttempt, actions: list[Action], extra: Condition | None = None
    ) -> None:
        items = self._items
        condition = items.window_started == counted.window_started
        if extra is not None:
            condition = condition & extra
        try:
            items(_login_key(counted.key)).update(actions=actions, condition=condition)
        except UpdateError as error:
            if not _is_condition_failure(error):
                raise
            # Another window by now (a concurrent failure locked it): nothing to change.


def _counted(key: str, item: LoginAttemptsItem) -> CountedAttempt:
    return CountedAttempt(
        key=key,
        window_started=int(item.window_started),
        count=int(item.failures),
        lockouts=int(item.lockouts),
    )


class DynamoTrustedDeviceStore:
    """TrustedDeviceStore on DynamoDB: one item per device and email, expiring by TTL."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(TrustedDeviceItem)

    def add(self, token_hash: str, email: str, expires: int) -> None:
        self._items(_device_key(token_hash, email), expires=expires).save()

    def signed_in(self, token_hash: str, email: str, now: int) -> bool:
        try:
            item = self._items.get(_device_key(token_hash, email), consistent_read=True)
        except DoesNotExist:
            return False
        return bool(item.expires > now)


def _is_condition_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
