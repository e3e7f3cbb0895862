"""Accounts, their email claims and login counters, in `{prefix}-accounts`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.dal.items import AccountItem, EmailClaimItem, LoginAttemptsItem
from chalicelib.dal.tables import TableBinding
from chalicelib.errors import EmailTakenError, NotFoundError
from chalicelib.models.accounts import Account


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
    def create(self, account: Account, password_hash: str | None) -> None:
        """Store a new account; EmailTakenError if its email belongs to another."""
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
        """Remove the account and its email claim; absent accounts are not an error."""
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

    def create(self, account: Account, password_hash: str | None) -> None:
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
        )
        try:
            with TransactWrite(connection=self._table.connection()) as transaction:
                transaction.save(item, condition=self._accounts.pk.does_not_exist())
                if account.email is not None:
                    claim = self._claims(_email_key(account.email), user_id=account.id)
                    transaction.save(claim, condition=self._claims.pk.does_not_exist())
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in (error.cancellation_reasons or [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise EmailTakenError() from error
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
        account = self.get(user_id)
        if account is None:
            return
        with TransactWrite(connection=self._table.connection()) as transaction:
            transaction.delete(self._accounts(user_id))
            if account.email is not None:
                transaction.delete(self._claims(_email_key(account.email)))


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
