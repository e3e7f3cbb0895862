"""The OAuth sign-in flow's rules, with in-memory stores, a fake provider and a fake clock.

The provider is a fake here (no HTTP): the real protocol runs in
tests/functional/test_oauth_flow.py against a real OIDC provider.
"""

from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.errors import LastSignInMethodError, ProviderUnavailableError
from chalicelib.logic.accounts import AccountService
from chalicelib.logic.login_throttle import LoginThrottle, ThrottlePolicy
from chalicelib.logic.oauth import STATE_TTL_SECONDS, OAuthService
from chalicelib.logic.passwords import PasswordHasher
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.sessions import ClientInfo, SessionService
from chalicelib.models.accounts import SignupRequest
from tests.support.fakes import (
    FakeClock,
    FakeIdentityProvider,
    InMemoryAccountsTable,
    InMemoryAccountStore,
    InMemoryIdentityStore,
    InMemoryLoginAttemptsStore,
    InMemoryOAuthStateStore,
    InMemorySessionStore,
    RecordingTenants,
)

WEB = "https://app.example.com/"


class World:
    """The service wired to fakes, and what a browser would hold."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.table = InMemoryAccountsTable()
        self.states = InMemoryOAuthStateStore()
        self.provider = FakeIdentityProvider("test", "Test")
        self.session_store = InMemorySessionStore()
        sessions = SessionService(
            self.session_store,
            SessionCache(100, 0, self.clock),
            self.clock,
            lifetime_seconds=3600,
            renew_after_seconds=600,
        )
        throttle = LoginThrottle(
            InMemoryLoginAttemptsStore(),
            self.clock,
            ThrottlePolicy(
                max_failures=5, window_seconds=60, lockout_seconds=60, lockout_max_seconds=600
            ),
        )
        self.accounts = AccountService(
            InMemoryAccountStore(self.table),
            sessions,
            PasswordHasher(19_456, 2, 1),
            throttle,
            self.clock,
            tenants=RecordingTenants(),
            tenant_records=[],
        )
        self.oauth = OAuthService(
            {"test": self.provider},
            self.states,
            InMemoryIdentityStore(self.table),
            account_store=InMemoryAccountStore(self.table),
            accounts=self.accounts,
            sessions=sessions,
            clock=self.clock,
            api_url="https://api.example.com/prod",
            web_url=WEB,
            allowed_origins=("https://app.example.com",),
        )

    def start(self, redirect=None, link=False, user=None):
        return self.oauth.start("test", redirect, link=link, signed_in_user=user)

    def finish(self, started, code="code-1", cookie=None, error=None, provider="test"):
        state = parse_qs(urlsplit(started.location).query)["state"][0]
        return self.oauth.finish(
            provider,
            code=code,
            state=state,
            error=error,
            browser_state=started.state_cookie if cookie is None else cookie,
            client=ClientInfo(),
        )

    def sign_in(self, subject, email=None, verified=True):
        self.provider.vouch(subject, email, verified)
        return landing(self.finish(self.start()))


def landing(redirect):
    parts = urlsplit(redirect.location)
    return {k: v[0] for k, v in parse_qs(parts.fragment).items()}


@pytest.fixture
def world():
    return World()


def test_start_remembers_the_attempt_for_ten_minutes_and_binds_it_to_the_browser(world):
    # When a sign-in starts
    started = world.start("https://app.example.com/notes")
    # Then the browser goes to the provider with a state that is also set as its cookie
    assert started.location.startswith("https://provider.test/authorize")
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    assert started.state_cookie == state
    assert len(state) >= 43
    # And the attempt is stored with its PKCE verifier, nonce, page, and a 10-minute expiry
    pending = world.states.pending[state]
    assert (pending.code_verifier, pending.nonce) == (f"verifier-{state}", f"nonce-{state}")
    assert pending.redirect == "https://app.example.com/notes"
    assert pending.expires - pending.created == STATE_TTL_SECONDS == 600


def test_a_callback_signs_in_with_the_token_in_the_fragment_and_a_session(world):
    started = world.start()
    world.provider.vouch("s-1", "ann@example.com")
    # When the provider calls back
    finished = world.finish(started)
    fields = landing(finished)
    # Then the browser lands on the web client with a new account's session token
    assert finished.location.startswith(WEB + "#")
    assert fields["result"] == "created"
    assert finished.session_token == fields["token"]
    assert finished.state_cookie == ""  # cleared
    # And the code was exchanged with the attempt's verifier and nonce
    state = started.state_cookie
    assert world.provider.exchanges == [("code-1", f"verifier-{state}", f"nonce-{state}")]


def test_a_state_is_good_for_one_callback_only(world):
    started = world.start()
    assert landing(world.finish(started))["result"] == "created"
    # When the same callback is replayed
    replay = landing(world.finish(started))
    # Then it is refused
    assert replay["error"] == "invalid_state"
    assert "token" not in replay


def test_a_state_expires_after_ten_minutes(world):
    started = world.start()
    # When the callback comes 10 minutes later
    world.clock.advance(STATE_TTL_SECONDS)
    # Then it is refused, even though the store still held it (TTL deletes late)
    assert landing(world.finish(started))["error"] == "invalid_state"


def test_a_callback_in_another_browser_is_refused_and_burns_the_state(world):
    started = world.start()
    # When the callback arrives without the browser's cookie (login CSRF)
    assert landing(world.finish(started, cookie=""))["error"] == "invalid_state"
    # Then even the right browser cannot use that state any more
    assert landing(world.finish(started))["error"] == "invalid_state"


def test_a_state_from_another_provider_is_refused(world):
    world.oauth._providers["other"] = FakeIdentityProvider("other", "Other")
    started = world.start()
    assert landing(world.finish(started, provider="other"))["error"] == "invalid_state"


def test_errors_land_on_the_page_that_started_the_sign_in(world):
    started = world.start("https://app.example.com/settings")
    # When the user refuses at the provider
    finished = world.finish(started, code=None, error="access_denied")
    # Then they land on that page with the code, and nothing was exchanged
    assert finished.location.startswith("https://app.example.com/settings#")
    assert landing(finished)["error"] == "access_denied"
    assert world.provider.exchanges == []


def test_provider_failures_land_with_their_code(world):
    started = world.start()
    world.provider.outcome = ProviderUnavailableError()
    fields = landing(world.finish(started))
    assert fields["error"] == "provider_unavailable"
    assert fields["provider"] == "test"


def test_an_unknown_provider_or_a_foreign_redirect_lands_on_the_default_page(world):
    unknown = world.oauth.start("nope", None)
    assert landing(unknown)["error"] == "unknown_provider"
    assert "provider" not in landing(unknown)  # not echoed back
    foreign = world.start("https://evil.example.com/")
    assert foreign.location.startswith(WEB + "#")
    assert landing(foreign)["error"] == "invalid_redirect"
    assert world.states.pending == {}


def test_the_same_identity_signs_in_to_the_same_account(world):
    first = world.sign_in("s-1", "ann@example.com")
    again = world.sign_in("s-1", "ann@example.com")
    assert again["result"] == "signed_in"
    token_user = {s.user_id for s in world.session_store.sessions.values()}
    assert len(token_user) == 1
    assert first["token"] != again["token"]


def test_verified_email_links_and_unverified_email_does_not(world):
    # Given an account made by one identity with a verified email
    world.sign_in("s-1", "ann@example.com")
    # When another identity with the same verified email signs in, it links to that account
    assert world.sign_in("s-2", "ann@example.com")["result"] == "linked"
    # When a third one with the same email, unverified, signs in, a separate account is made
    assert world.sign_in("s-3", "ann@example.com", verified=False)["result"] == "created"
    owners = {i.key: i.user_id for i in world.table.identities.values()}
    assert owners["test#s-1"] == owners["test#s-2"] != owners["test#s-3"]
    separate = world.table.accounts[owners["test#s-3"]]
    assert separate.email is None
    assert world.table.claims["ann@example.com"] == owners["test#s-1"]


def test_a_password_account_is_not_taken_over_by_a_provider_email(world):
    # Given a password account (email never verified)
    world.accounts.sign_up(
        SignupRequest(email="ann@example.com", password="correct horse 1", name="Ann"), ClientInfo()
    )
    # When an identity with that email, verified, signs in
    fields = world.sign_in("s-1", "ann@example.com")
    # Then it is refused with a code telling the user to sign in with the password
    assert fields["error"] == "account_exists"
    assert world.table.identities == {}


def test_connecting_links_to_the_signed_in_account_without_a_new_session(world):
    account = world.accounts.sign_up(
        SignupRequest(email="ann@example.com", password="correct horse 1", name="Ann"), ClientInfo()
    ).account
    sessions_before = len(world.session_store.sessions)
    world.provider.vouch("s-1", "ann@example.com")
    # When the signed-in user connects the provider
    finished = world.finish(world.start(link=True, user=account.id))
    # Then the identity is linked, no new session is made and no token travels
    assert landing(finished) == {"result": "linked", "provider": "test"}
    assert finished.session_token is None
    assert len(world.session_store.sessions) == sessions_before
    assert [i.user_id for i in world.oauth.identities(account.id)] == [account.id]


def test_connecting_needs_a_session(world):
    assert landing(world.start(link=True, user=None))["error"] == "unauthorized"


def test_connecting_an_identity_of_another_account_is_refused(world):
    world.sign_in("s-1", "ann@example.com")
    bob = world.accounts.sign_up(
        SignupRequest(email="bob@example.com", password="correct horse 1", name="Bob"), ClientInfo()
    ).account
    world.provider.vouch("s-1", "ann@example.com")
    finished = world.finish(world.start(link=True, user=bob.id))
    assert landing(finished)["error"] == "identity_in_use"


def test_the_last_way_to_sign_in_cannot_be_unlinked(world):
    world.sign_in("s-1", "ann@example.com")
    user_id = world.table.identities["test#s-1"].user_id
    # When the only identity of an account without a password is unlinked: refused
    with pytest.raises(LastSignInMethodError):
        world.oauth.unlink(user_id, "test")
    # When a second identity is linked, one of them can go
    world.sign_in("s-2", "ann@example.com")
    world.oauth.unlink(user_id, "test", "s-1")
    assert [i.subject for i in world.oauth.identities(user_id)] == ["s-2"]
    with pytest.raises(LastSignInMethodError):
        world.oauth.unlink(user_id, "test")


def test_an_account_with_a_password_can_unlink_every_identity(world):
    account = world.accounts.sign_up(
        SignupRequest(email="ann@example.com", password="correct horse 1", name="Ann"), ClientInfo()
    ).account
    world.provider.vouch("s-1")
    world.finish(world.start(link=True, user=account.id))
    world.oauth.unlink(account.id, "test")
    assert world.oauth.identities(account.id) == []


def test_other_provider_errors_land_as_provider_error_without_echoing_markup(world):
    started = world.start()
    fields = landing(world.finish(started, code=None, error="temporarily_unavailable<b>"))
    assert fields["error"] == "provider_error"
    assert "temporarily_unavailable" in fields["error_description"]
    assert "<" not in fields["error_description"]
