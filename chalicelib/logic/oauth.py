"""Sign-in with OAuth / OpenID Connect: the flow, the linking rules, identities.

`start` sends the browser to the provider; `finish` handles the callback and
always sends the browser back to the web client: with a session token in the
URL fragment, or with an error code there. Nothing here answers with an error
page: a sign-in that goes wrong ends on the web client with a stable code.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from chalicelib.dal.accounts import AccountStore
from chalicelib.dal.identities import IdentityStore
from chalicelib.dal.oauth_states import OAuthStateStore, PendingSignIn
from chalicelib.errors import (
    AccessDeniedError,
    AccountExistsError,
    ConflictError,
    EmailTakenError,
    IdentityInUseError,
    IdentityNotFoundError,
    InvalidCallbackError,
    InvalidRedirectError,
    InvalidStateError,
    ProviderError,
    UnauthorizedError,
    UnknownProviderError,
    UserdbError,
)
from chalicelib.logic.accounts import AccountService
from chalicelib.logic.clock import Clock, epoch_ms, epoch_s
from chalicelib.logic.identity_providers import IdentityProvider
from chalicelib.logic.sessions import ClientInfo, SessionService
from chalicelib.models.accounts import IMAGE_URL_MAX, NAME_MAX, Account
from chalicelib.models.identities import Identity, ProviderIdentity, ProviderOut

# RFC 6749 §10.12 / OIDC: the round trip through the provider must finish within this.
STATE_TTL_SECONDS = 600
STATE_BYTES = 32
# How often a sign-in decides again after losing a race with a concurrent one.
SETTLE_ATTEMPTS = 3

Result = Literal["signed_in", "created", "linked"]


# ---- pure rules ----


def _origin(scheme: str, host: str, port: int | None) -> str:
    default_port = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default_port) else "")


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]`, lower case, default port dropped, as browsers send Origin."""
    parts = urlsplit(origin.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return origin.strip().rstrip("/").lower()
    return _origin(parts.scheme, parts.hostname.lower(), parts.port)


def safe_redirect(candidate: str | None, allowed_origins: Sequence[str], default: str) -> str:
    """The page to land on: `candidate` if it is an absolute URL on an allowed origin.

    No open redirects: anything else (other hosts, credentials in the URL,
    scheme-relative or malformed URLs) is refused with InvalidRedirectError.
    A fragment is dropped: the landing fragment carries the result.
    """
    if not candidate:
        return default
    if any(ch <= " " or ch in "\\\x7f" for ch in candidate):
        raise InvalidRedirectError()
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError:
        raise InvalidRedirectError() from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRedirectError()
    if parts.username is not None or parts.password is not None:
        raise InvalidRedirectError()
    origin = _origin(parts.scheme, parts.hostname.lower(), port)
    if origin not in {normalise_origin(o) for o in allowed_origins}:
        raise InvalidRedirectError()
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def landing_url(target: str, fields: Mapping[str, str]) -> str:
    """`target` with `fields` in its fragment (never the query: fragments stay in the browser)."""
    parts = urlsplit(target)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, urlencode(fields)))


@dataclass(frozen=True)
class Decision:
    """What a verified identity leads to."""

    action: Literal["sign_in", "link", "create", "refuse"]
    user_id: str | None = None
    claim_email: bool = False
    refusal: UserdbError | None = None


def decide_sign_in(  # noqa: PLR0911 - one return per rule reads best
    vouched: ProviderIdentity,
    *,
    owner: str | None,
    link_user_id: str | None,
    email_account: Account | None,
) -> Decision:
    """The linking rules (docs/oauth.md, "Accounts").

    - a known identity signs in to its account (or, when connecting, must be the caller's);
    - connecting from a signed-in account links a new identity to it;
    - a verified email that belongs to an account with a verified email links to it;
      an account whose email was never proven (password sign-up) is not taken over:
      its owner signs in with the password and connects the provider;
    - otherwise a new account is created, claiming the email only if it is verified:
      an unverified email never links and never claims.
    """
    if owner is not None:
        if link_user_id is not None and owner != link_user_id:
            return Decision("refuse", refusal=IdentityInUseError())
        return Decision("sign_in", user_id=owner)
    if link_user_id is not None:
        return Decision("link", user_id=link_user_id)
    if vouched.email is not None and vouched.email_verified:
        if email_account is None:
            return Decision("create", claim_email=True)
        if email_account.email_verified:
            return Decision("link", user_id=email_account.id)
        return Decision("refuse", refusal=AccountExistsError())
    return Decision("create")


def display_name(vouched: ProviderIdentity, provider_name: str) -> str:
    """A name for a new account: the provider's, else the email's local part."""
    for candidate in (vouched.name, (vouched.email or "").partition("@")[0]):
        if candidate and candidate.strip():
            return candidate.strip()[:NAME_MAX]
    return f"{provider_name} user"[:NAME_MAX]


def profile_image(vouched: ProviderIdentity) -> str | None:
    picture = vouched.picture
    if picture and len(picture) <= IMAGE_URL_MAX and picture.startswith(("https://", "http://")):
        return picture
    return None


# ---- the flow ----


@dataclass(frozen=True)
class BrowserRedirect:
    """A 302: where the browser goes, and the cookies the reply sets."""

    location: str
    session_token: str | None = None
    # The browser-binding cookie: a value to set at start, "" to clear it at the callback.
    state_cookie: str | None = None
    # For the log: "redirected", the result, or the error code.
    outcome: str = "redirected"


@dataclass(frozen=True)
class Settled:
    user_id: str
    result: Result


class OAuthService:
    """Sign-in with the configured providers; stores, providers, sessions and time are injected."""

    def __init__(
        self,
        providers: Mapping[str, IdentityProvider],
        states: OAuthStateStore,
        identities: IdentityStore,
        *,
        account_store: AccountStore,
        accounts: AccountService,
        sessions: SessionService,
        clock: Clock,
        api_url: str,
        web_url: str,
        allowed_origins: Sequence[str],
    ) -> None:
        self._providers = dict(providers)
        self._states = states
        self._identities = identities
        self._account_store = account_store
        self._accounts = accounts
        self._sessions = sessions
        self._clock = clock
        self._api_url = api_url.rstrip("/")
        self._web_url = web_url
        self._allowed_origins = tuple(allowed_origins)

    def providers(self) -> list[ProviderOut]:
        """The configured providers and the URL that starts a sign-in with each."""
        return [
            ProviderOut(id=p.id, name=p.name, start_url=self._url(p.id, "start"))
            for p in self._providers.values()
        ]

    def _url(self, provider_id: str, step: str) -> str:
        return f"{self._api_url}/auth/oauth/{provider_id}/{step}"

    def _provider(self, provider_id: str) -> IdentityProvider:
        provider = self._providers.get(provider_id)
        if provider is None:
            raise UnknownProviderError()
        return provider

    def refused(
        self, error: UserdbError, provider_id: str, target: str | None = None
    ) -> BrowserRedirect:
        """Back to the web client with the error's code (and the state cookie cleared)."""
        fields = {"error": error.code, "error_description": error.message}
        if provider_id in self._providers:
            fields["provider"] = provider_id
        return BrowserRedirect(
            landing_url(target or self._web_url, fields), state_cookie="", outcome=error.code
        )

    def start(
        self,
        provider_id: str,
        redirect: str | None,
        *,
        link: bool = False,
        signed_in_user: str | None = None,
    ) -> BrowserRedirect:
        """Send the browser to the provider; remember the attempt for its callback.

        `redirect` is the web page to land on afterwards (an allowed origin only);
        `link` connects the provider to `signed_in_user` instead of signing in.
        """
        target = self._web_url
        try:
            target = safe_redirect(redirect, self._allowed_origins, self._web_url)
            provider = self._provider(provider_id)
            if link and signed_in_user is None:
                raise UnauthorizedError("Sign in first, then connect a provider.")
            state = secrets.token_urlsafe(STATE_BYTES)
            request = provider.authorization(self._url(provider_id, "callback"), state)
            now = epoch_s(self._clock)
            self._states.put(
                state,
                PendingSignIn(
                    provider=provider_id,
                    code_verifier=request.code_verifier,
                    nonce=request.nonce,
                    redirect=target,
                    link_user_id=signed_in_user if link else None,
                    created=now,
                    expires=now + STATE_TTL_SECONDS,
                ),
            )
        except UserdbError as error:
            return self.refused(error, provider_id, target)
        return BrowserRedirect(request.url, state_cookie=state)

    def finish(
        self,
        provider_id: str,
        *,
        code: str | None,
        state: str | None,
        error: str | None,
        browser_state: str | None,
        client: ClientInfo,
    ) -> BrowserRedirect:
        """Handle the provider's callback: check the state, verify, settle the account, sign in.

        `browser_state` is the cookie set by `start`: a callback from another
        browser (login CSRF) does not match it.
        """
        target = self._web_url
        try:
            provider = self._provider(provider_id)
            pending = self._take_state(provider_id, state, browser_state)
            target = pending.redirect
            if error is not None:
                if error == "access_denied":
                    raise AccessDeniedError()
                # The provider's code, reduced to RFC 6749's error-code characters we show.
                shown = "".join(
                    ch for ch in error[:64] if ch.isascii() and (ch.isalnum() or ch == "_")
                )
                raise ProviderError(f"The provider refused the sign-in ({shown}).")
            if not code:
                raise InvalidCallbackError()
            vouched = provider.identity(
                code, self._url(provider_id, "callback"), pending.code_verifier, pending.nonce
            )
            settled = self._settle(vouched, provider.name, pending.link_user_id)
        except UserdbError as failure:
            return self.refused(failure, provider_id, target)
        fields = {"result": settled.result, "provider": provider_id}
        if pending.link_user_id is not None:
            # Connecting from a signed-in account: its session goes on; no new one.
            return BrowserRedirect(
                landing_url(target, fields), state_cookie="", outcome=settled.result
            )
        token, _ = self._sessions.start(settled.user_id, client)
        return BrowserRedirect(
            landing_url(target, {"token": token, **fields}),
            session_token=token,
            state_cookie="",
            outcome=settled.result,
        )

    def _take_state(
        self, provider_id: str, state: str | None, browser_state: str | None
    ) -> PendingSignIn:
        if not state:
            raise InvalidStateError()
        # Taken first, whatever follows: a state is good for one callback only.
        pending = self._states.take(state)
        if pending is None or pending.expires <= self._clock.now():
            raise InvalidStateError()
        if pending.provider != provider_id:
            raise InvalidStateError()
        if browser_state is None or not hmac.compare_digest(browser_state.encode(), state.encode()):
            raise InvalidStateError("This sign-in was started in another browser; start again.")
        return pending

    def _settle(
        self, vouched: ProviderIdentity, provider_name: str, link_user_id: str | None
    ) -> Settled:
        for _ in range(SETTLE_ATTEMPTS):
            decision = self._decide(vouched, link_user_id)
            if decision.refusal is not None:
                raise decision.refusal
            try:
                return self._apply(decision, vouched, provider_name)
            except (IdentityInUseError, EmailTakenError):
                continue  # a concurrent sign-in took the identity or email: decide again
        raise ConflictError("Another sign-in with this identity is in progress; try again.")

    def _decide(self, vouched: ProviderIdentity, link_user_id: str | None) -> Decision:
        known = self._identities.get(vouched.provider, vouched.subject)
        email_account = None
        if known is None and link_user_id is None and vouched.email and vouched.email_verified:
            credentials = self._account_store.get_credentials(vouched.email)
            email_account = credentials.account if credentials else None
        return decide_sign_in(
            vouched,
            owner=known.user_id if known else None,
            link_user_id=link_user_id,
            email_account=email_account,
        )

    def _apply(self, decision: Decision, vouched: ProviderIdentity, provider_name: str) -> Settled:
        if decision.action == "sign_in":
            assert decision.user_id is not None
            return Settled(decision.user_id, "signed_in")
        if decision.action == "link":
            assert decision.user_id is not None
            self._identities.link(vouched.for_user(decision.user_id, epoch_ms(self._clock)))
            return Settled(decision.user_id, "linked")
        account = self._accounts.create_account(
            email=vouched.email if decision.claim_email else None,
            email_verified=decision.claim_email,
            name=display_name(vouched, provider_name),
            image=profile_image(vouched),
            identity=vouched,
        )
        return Settled(account.id, "created")

    # ---- identities of an account ----

    def identities(self, user_id: str) -> list[Identity]:
        """The identities that sign in to the account, oldest first."""
        return self._identities.for_user(user_id)

    def unlink(self, user_id: str, provider_id: str, subject: str | None = None) -> None:
        """Disconnect the account's identities of `provider_id` (or only `subject`).

        LastSignInMethodError (409) if the account would be left with no way to sign in.
        """
        mine = [
            identity
            for identity in self._identities.for_user(user_id)
            if identity.provider == provider_id and subject in (None, identity.subject)
        ]
        if not mine:
            if provider_id not in self._providers:
                raise UnknownProviderError()
            raise IdentityNotFoundError()
        self._identities.unlink(user_id, mine)
