"""Accounts: sign up, log in, profile, deletion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.dal.accounts import AccountStore
from chalicelib.errors import InvalidCredentialsError, UnauthorizedError
from chalicelib.logic.clock import Clock, epoch_ms
from chalicelib.logic.login_throttle import LoginThrottle
from chalicelib.logic.passwords import PasswordHasher
from chalicelib.logic.sessions import ClientInfo, SessionService
from chalicelib.logic.tokens import new_id
from chalicelib.models.accounts import Account, LoginRequest, SignupRequest, UpdateProfileRequest
from chalicelib.models.identities import ProviderIdentity
from chalicelib.observability import logger


class TenantLifecycle(Protocol):
    """Where an account's data lives (logic/tenants.py): made with it, removed with it."""

    def provision(self, tenant_id: str) -> None: ...

    def release(self, tenant_id: str) -> None: ...


class TenantRecords(Protocol):
    """A store outside the tenant's data that keeps items under its id (pk = tenant id)."""

    def delete_all(self, tenant_id: str) -> int: ...


@dataclass(frozen=True)
class SignedIn:
    """A sign-in's outcome: the account, its new session's token and the device's token."""

    account: Account
    token: str = field(repr=False)
    device_token: str | None = field(default=None, repr=False)


class AccountService:
    """The account rules; storage, hashing, sessions and time are injected."""

    def __init__(
        self,
        accounts: AccountStore,
        sessions: SessionService,
        passwords: PasswordHasher,
        throttle: LoginThrottle,
        clock: Clock,
        *,
        tenants: TenantLifecycle,
        tenant_records: Sequence[TenantRecords],
    ) -> None:
        self._tenants = tenants
        self._tenant_records = tuple(tenant_records)
        self._accounts = accounts
        self._sessions = sessions
        self._passwords = passwords
        self._throttle = throttle
        self._clock = clock

    def sign_up(self, request: SignupRequest, client: ClientInfo) -> SignedIn:
        """Create an account with a password and start its first session; the device
        that created it is trusted with it (login_throttle.py).

        EmailTakenError (409) if the email is taken, also when two sign-ups race.
        """
        account = self.create_account(
            email=request.email,
            name=request.name,
            password_hash=self._passwords.hash(request.password),
        )
        token, _ = self._sessions.start(account.id, client)
        return SignedIn(account, token, self._throttle.trust_new_device(request.email))

    def create_account(
        self,
        *,
        email: str | None,
        name: str,
        email_verified: bool = False,
        image: str | None = None,
        password_hash: str | None = None,
        identity: ProviderIdentity | None = None,
    ) -> Account:
        """The one way accounts are born (password sign-up and OAuth alike): store the
        account, then provision its tenant's data.

        `identity`, if given, is linked in the same write, so the account always has a
        way to sign in. EmailTakenError / IdentityInUseError if another account holds them.
        A provisioning failure does not undo the account: the tenant's first data
        request finishes provisioning (and answers 503 until it is ready).
        """
        now = epoch_ms(self._clock)
        account = Account(
            id=new_id("usr"),
            email=email,
            email_verified=email_verified,
            name=name,
            image=image,
            created=now,
            updated=now,
        )
        linked = identity.for_user(account.id, now) if identity is not None else None
        self._accounts.create(account, password_hash, linked)
        try:
            self._tenants.provision(account.id)
        except Exception:
            logger.exception("tenant provisioning failed; the first data request retries it")
        return account

    def log_in(
        self, request: LoginRequest, client: ClientInfo, device_token: str | None = None
    ) -> SignedIn:
        """Check the password and start a session; one answer for unknown email and bad password.

        The attempt is counted before the password is verified (TooManyAttemptsError
        when its counters are full); `device_token`, from an earlier sign-in to this
        email, puts it on that device's own counter. Unknown emails do the same work.
        """
        attempt = self._throttle.begin(request.email, client.ip, device_token)
        credentials = self._accounts.get_credentials(request.email)
        if credentials is None or credentials.password_hash is None:
            self._passwords.verify_decoy(request.password)
            verified = False
        else:
            verified = self._passwords.verify(credentials.password_hash, request.password)
        self._throttle.finish(attempt, succeeded=verified)
        if credentials is None or credentials.password_hash is None or not verified:
            raise InvalidCredentialsError()
        if self._passwords.needs_rehash(credentials.password_hash):
            self._accounts.set_password_hash(
                credentials.account.id, self._passwords.hash(request.password)
            )
        token, _ = self._sessions.start(credentials.account.id, client)
        return SignedIn(
            credentials.account, token, self._throttle.device_token_after_success(attempt)
        )

    def get(self, user_id: str) -> Account:
        """The account of a validated session; Unauthorized if it was deleted meanwhile."""
        account = self._accounts.get(user_id)
        if account is None:
            raise UnauthorizedError()
        return account

    def update_profile(self, user_id: str, request: UpdateProfileRequest) -> Account:
        return self._accounts.update_profile(
            user_id,
            name=request.name,
            image=str(request.image) if request.image is not None else None,
            updated=epoch_ms(self._clock),
        )

    def delete(self, user_id: str) -> None:
        """Delete the account and everything of it: sessions, data, connections and other
        records kept under its id.

        Sessions end first so nothing new starts; the account item goes last, so
        a deletion that fails half-way can be retried by signing in again.
        """
        self._sessions.end_all(user_id)
        self._tenants.release(user_id)
        for records in self._tenant_records:
            records.delete_all(user_id)
        self._accounts.delete(user_id)
