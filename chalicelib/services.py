"""The composition root: builds the object graph from the settings, once per process."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.dal.accounts import DynamoAccountStore, DynamoLoginAttemptsStore
from chalicelib.dal.identities import DynamoIdentityStore
from chalicelib.dal.oauth_states import DynamoOAuthStateStore
from chalicelib.dal.secrets import resolve_secret
from chalicelib.dal.sessions import DynamoSessionStore
from chalicelib.dal.tables import ACCOUNTS_SUFFIX, SESSIONS_SUFFIX, shared_table
from chalicelib.logic.accounts import AccountService
from chalicelib.logic.clock import Clock, SystemClock
from chalicelib.logic.identity_providers import configured_providers
from chalicelib.logic.login_throttle import LoginThrottle, ThrottlePolicy
from chalicelib.logic.oauth import OAuthService
from chalicelib.logic.passwords import PasswordHasher
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.sessions import SessionService
from chalicelib.settings import Settings, get_settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: SessionService
    accounts: AccountService
    oauth: OAuthService


def build_services(settings: Settings, clock: Clock) -> Services:
    """Wire stores, rules and clock for `settings` (tests pass their own clock)."""
    accounts_table = shared_table(settings, ACCOUNTS_SUFFIX)
    sessions = SessionService(
        DynamoSessionStore(shared_table(settings, SESSIONS_SUFFIX)),
        SessionCache(settings.session_cache_size, settings.session_cache_seconds, clock),
        clock,
        lifetime_seconds=settings.session_days * 86_400,
        renew_after_seconds=settings.session_renew_after_seconds,
    )
    throttle = LoginThrottle(
        DynamoLoginAttemptsStore(accounts_table),
        clock,
        ThrottlePolicy(
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_window_seconds,
            lockout_seconds=settings.login_lockout_seconds,
            lockout_max_seconds=settings.login_lockout_max_seconds,
        ),
    )
    passwords = PasswordHasher(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )
    account_store = DynamoAccountStore(accounts_table)
    accounts = AccountService(account_store, sessions, passwords, throttle, clock)
    oauth = OAuthService(
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
    return Services(settings=settings, sessions=sessions, accounts=accounts, oauth=oauth)


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
