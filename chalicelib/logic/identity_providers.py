"""Sign-in providers, through Authlib's OAuth 2 / OpenID Connect client.

Google and any OpenID Connect provider are found by their discovery document;
Authlib verifies the ID token (signature against the provider's JWKS, issuer,
audience, expiry, nonce, at_hash). GitHub speaks plain OAuth 2: the identity
comes from its REST API, the email from the verified primary address.
Every authorization uses PKCE (S256). Provider failures become the domain
errors of chalicelib.errors, so each reaches the web client with its own code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pydantic
import requests
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)

from chalicelib.errors import (
    IdTokenExpiredError,
    IdTokenInvalidError,
    IdTokenSignatureError,
    NonceMismatchError,
    ProviderError,
    ProviderUnavailableError,
    TokenExchangeError,
)
from chalicelib.models.accounts import EMAIL_MAX, normalise_email
from chalicelib.models.identities import ProviderIdentity
from chalicelib.settings import OAuthSettings

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
GITHUB_API_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
}


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and the secrets the callback will need."""

    url: str
    code_verifier: str
    nonce: str | None


class IdentityProvider(Protocol):
    """One configured provider: builds authorization URLs, turns codes into identities."""

    id: str
    name: str

    def authorization(self, redirect_uri: str, state: str) -> AuthorizationRequest:
        """The authorization URL for `state`, with a fresh PKCE verifier (and nonce for OIDC)."""
        ...

    def identity(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str | None
    ) -> ProviderIdentity:
        """Exchange `code` and return the identity the provider vouches for."""
        ...


class _OAuth2Client(OAuth2Mixin, BaseApp):  # type: ignore[misc]
    client_cls = OAuth2Session


class _OpenIDClient(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    client_cls = OAuth2Session


@contextlib.contextmanager
def provider_errors() -> Iterator[None]:
    """Turn what Authlib, joserfc and requests raise into our errors, each with its code."""
    try:
        yield
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 503
        if status >= 500 or status == 429:
            raise ProviderUnavailableError() from error
        raise ProviderError(f"The provider answered HTTP {status}.") from error
    except requests.RequestException as error:  # refused, reset, timed out, not JSON
        raise ProviderUnavailableError() from error
    except OAuthError as error:
        raise TokenExchangeError(
            f"The provider did not accept the authorization code ({error.error})."
        ) from error
    except (BadSignatureError, InvalidKeyIdError) as error:
        raise IdTokenSignatureError() from error
    except ExpiredTokenError as error:
        raise IdTokenExpiredError() from error
    except ClaimError as error:
        if error.claim == "nonce":
            raise NonceMismatchError() from error
        raise IdTokenInvalidError(f"The ID token's {error.claim!r} claim is not valid.") from error
    except JoseError as error:
        raise IdTokenInvalidError() from error
    except (ValueError, KeyError, TypeError, RuntimeError) as error:
        # A discovery document, token or profile without the fields the protocols require.
        raise ProviderError("The provider's reply is not what the protocol requires.") from error


def _email(value: object) -> str | None:
    if not isinstance(value, str) or "@" not in value or len(value) > EMAIL_MAX:
        return None
    return normalise_email(value)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _vouched(provider: str, claims: dict[str, Any], email_verified: bool) -> ProviderIdentity:
    email = _email(claims.get("email"))
    try:
        return ProviderIdentity(
            provider=provider,
            subject=str(claims["sub"]),
            email=email,
            email_verified=email is not None and email_verified,
            name=_text(claims.get("name")),
            picture=_text(claims.get("picture")),
        )
    except pydantic.ValidationError as error:
        raise ProviderError("The provider's subject identifier is not valid.") from error


def _is_true(value: object) -> bool:
    # Some providers send the JSON string "true" rather than the boolean.
    return value is True or value == "true"


class OpenIDConnectProvider:
    """Google, or any OpenID Connect provider found by its discovery document."""

    def __init__(
        self,
        provider_id: str,
        name: str,
        *,
        client_id: str,
        client_secret: str | None,
        discovery_url: str,
        scopes: str,
        timeout: float,
        leeway: int,
        issuer: str | None = None,
        issuer_aliases: tuple[str, ...] = (),
    ) -> None:
        self.id = provider_id
        self.name = name
        self._client_id = client_id
        self._issuer = issuer
        self._issuer_aliases = issuer_aliases
        self._leeway = leeway
        self._client = _OpenIDClient(
            None,
            name=provider_id,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=discovery_url,
            client_kwargs={
                "scope": scopes,
                "code_challenge_method": "S256",
                "default_timeout": timeout,
                # A public client (no secret) authenticates by PKCE alone.
                "token_endpoint_auth_method": None if client_secret else "none",
            },
        )

    def _metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self._client.load_server_metadata()
        issuer = str(metadata.get("issuer") or "")
        # OIDC Discovery §4.3: the document must name the issuer we were configured with.
        if self._issuer is not None and issuer.rstrip("/") != self._issuer.rstrip("/"):
            raise ProviderError("The discovery document names another issuer.")
        return metadata

    def authorization(self, redirect_uri: str, state: str) -> AuthorizationRequest:
        with provider_errors():
            self._metadata()
            request = self._client.create_authorization_url(redirect_uri, state=state)
        return AuthorizationRequest(
            url=request["url"], code_verifier=request["code_verifier"], nonce=request["nonce"]
        )

    def identity(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str | None
    ) -> ProviderIdentity:
        with provider_errors():
            metadata = self._metadata()
            token = self._client.fetch_access_token(
                redirect_uri, code=code, code_verifier=code_verifier
            )
            if "id_token" not in token:
                raise IdTokenInvalidError("The provider returned no ID token.")
            issuers = [metadata["issuer"], *self._issuer_aliases]
            claims = dict(
                self._client.parse_id_token(
                    token,
                    nonce=nonce,
                    claims_options={
                        "iss": {"essential": True, "values": issuers},
                        # Authlib checks azp; the audience must name this client too.
                        "aud": {"essential": True, "value": self._client_id},
                    },
                    leeway=self._leeway,
                )
            )
            if claims.get("email") is None and metadata.get("userinfo_endpoint"):
                userinfo = dict(self._client.userinfo(token=token))
                # OIDC Core §5.3.2: userinfo about another subject must not be used.
                if str(userinfo.get("sub")) == str(claims["sub"]):
                    for claim in ("email", "email_verified", "name", "picture"):
                        if claims.get(claim) is None:
                            claims[claim] = userinfo.get(claim)
        return _vouched(self.id, claims, _is_true(claims.get("email_verified")))


class GitHubProvider:
    """GitHub OAuth apps: the subject is the numeric user id, the email the verified primary."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        scopes: str,
        authorize_url: str,
        token_url: str,
        api_url: str,
        timeout: float,
    ) -> None:
        self.id = "github"
        self.name = "GitHub"
        self._client = _OAuth2Client(
            None,
            name="github",
            client_id=client_id,
            client_secret=client_secret,
            authorize_url=authorize_url,
            access_token_url=token_url,
            api_base_url=api_url if api_url.endswith("/") else api_url + "/",
            client_kwargs={
                "scope": scopes,
                "code_challenge_method": "S256",
                "default_timeout": timeout,
            },
        )

    def authorization(self, redirect_uri: str, state: str) -> AuthorizationRequest:
        with provider_errors():
            request = self._client.create_authorization_url(redirect_uri, state=state)
        return AuthorizationRequest(
            url=request["url"], code_verifier=request["code_verifier"], nonce=None
        )

    def _api(self, path: str, token: dict[str, Any]) -> Any:
        response = self._client.get(path, token=token, headers=GITHUB_API_HEADERS)
        response.raise_for_status()
        return response.json()

    def identity(
        self, code: str, redirect_uri: str, code_verifier: str, nonce: str | None
    ) -> ProviderIdentity:
        with provider_errors():
            token = self._client.fetch_access_token(
                redirect_uri, code=code, code_verifier=code_verifier
            )
            user = self._api("user", token)
            emails = self._api("user/emails", token)
            primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), {})
            claims = {
                "sub": str(user["id"]),
                "email": primary.get("email"),
                "name": user.get("name") or user.get("login"),
                "picture": user.get("avatar_url"),
            }
        return _vouched(self.id, claims, _is_true(primary.get("verified")))


SecretResolver = Callable[[str], str]


def _secret(settings: OAuthSettings, provider: str, resolve: SecretResolver) -> str | None:
    literal = getattr(settings, f"{provider}_client_secret")
    if literal is not None:
        return str(literal.get_secret_value())
    name = getattr(settings, f"{provider}_client_secret_name")
    return resolve(name) if name is not None else None


def configured_providers(
    settings: OAuthSettings, resolve_secret: SecretResolver
) -> dict[str, IdentityProvider]:
    """The providers this stage configures, by id, in the order the web client lists them.

    Secrets named in settings are resolved here, at cold start.
    """
    providers: dict[str, IdentityProvider] = {}
    timeout, leeway = settings.http_timeout_seconds, settings.id_token_leeway_seconds
    if settings.google_client_id:
        providers["google"] = OpenIDConnectProvider(
            "google",
            "Google",
            client_id=settings.google_client_id,
            client_secret=_secret(settings, "google", resolve_secret),
            discovery_url=settings.google_discovery_url,
            scopes=settings.google_scopes,
            timeout=timeout,
            leeway=leeway,
            issuer_aliases=GOOGLE_ISSUERS,
        )
    if settings.github_client_id:
        secret = _secret(settings, "github", resolve_secret)
        assert secret is not None  # settings validation requires one
        providers["github"] = GitHubProvider(
            client_id=settings.github_client_id,
            client_secret=secret,
            scopes=settings.github_scopes,
            authorize_url=settings.github_authorize_url,
            token_url=settings.github_token_url,
            api_url=settings.github_api_url,
            timeout=timeout,
        )
    if settings.oidc_client_id:
        issuer = settings.oidc_issuer.rstrip("/") if settings.oidc_issuer else None
        providers["oidc"] = OpenIDConnectProvider(
            "oidc",
            settings.oidc_name,
            client_id=settings.oidc_client_id,
            client_secret=_secret(settings, "oidc", resolve_secret),
            discovery_url=settings.oidc_discovery_url
            or f"{issuer}/.well-known/openid-configuration",
            scopes=settings.oidc_scopes,
            timeout=timeout,
            leeway=leeway,
            issuer=issuer,
        )
    return providers
