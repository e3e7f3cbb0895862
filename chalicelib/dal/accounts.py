"""Accounts, their email claims and login counters, in `{prefix}-accounts`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.dal.identities import identity_items_of, new_identity_item
from chalicelib.dal.items import AccountItem, EmailClaimItem, IdentityItem, LoginAttemptsItem
from chalicelib.dal.tables import TableBinding
from chalicelib.errors import ConflictError, EmailTakenError, IdentityInUseError, NotFoundError
from chalicelib.models.accounts import Account
from chalicelib.models.identities import Identity


@dataclass(frozen=True)
class Credentials:
    account: Account
    password_hash: str | None


@dataclass(frozen=True)
class LoginAttempts:
    """Failed sign-ins of one email: the state of its throttle."""

    failures: int = 0
    window_started: int = 0
    lockouts: int = 0
    locked_until: int = 0
    revision: int = 0
    expires: int = 0


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
        """Remove the account, its email claim and identities; absent accounts are not an error."""
        ...


class LoginAttemptsStore(Protocol):
    def get(self, email: str) -> LoginAttempts | None: ...

    def save(self, email: str, attempts: LoginAttempts, expected_revision: int) -> bool:
        """Write `attempts` if nobody wrote since `expected_revision` (0: absent); False if lost."""
        ...


def _email_key(email: str) -> str:
    return f"email#{email}"


def _login_key(email: str) -> str:
    return f"login#{email}"


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
                    for identity in identities:
                        transaction.delete(identity)
                return
            except TransactWriteError as error:
                reasons = [r.code if r else None for r in (error.cancellation_reasons or [])]
                if reasons[:1] != ["ConditionalCheckFailed"]:
                    raise
        raise ConflictError("The account changed while it was being deleted; try again.")


class DynamoLoginAttemptsStore:
    """LoginAttemptsStore on DynamoDB, with optimistic concurrency on `revision`."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(LoginAttemptsItem)

    def get(self, email: str) -> LoginAttempts | None:
        try:
            item = self._items.get(_login_key(email), consistent_read=True)
        except DoesNotExist:
            return None
        return LoginAttempts(
            failures=int(item.failures),
            window_started=int(item.window_started),
            lockouts=int(item.lockouts),
            locked_until=int(item.locked_until),
            revision=int(item.revision),
            expires=int(item.expires),
        )

    def save(self, email: str, attempts: LoginAttempts, expected_revision: int) -> bool:
        item = self._items(
            _login_key(email),
            failures=attempts.failures,
            window_started=attempts.window_started,
            lockouts=attempts.lockouts,
            locked_until=attempts.locked_until,
            revision=expected_revision + 1,
            expires=attempts.expires,
        )
        condition = (
            self._items.pk.does_not_exist()
            if expected_revision == 0
            else self._items.revision == expected_revision
        )
        try:
            item.save(condition=condition)
        except PutError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True


def _is_condition_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"
