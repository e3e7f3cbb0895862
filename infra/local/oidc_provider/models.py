"""What Authlib's server stores and asks for, as small classes: the one client, the
authorization codes, the access tokens, the request adapter, and the provider's state."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oidc.core import UserInfo
from joserfc.jwk import RSAKey

SCOPES = ("openid", "email", "profile", "read:user", "user:email")
CODE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class TestUser:
    """Someone the provider signs in, as chosen on its login page."""

    __test__ = False  # not a pytest test class

    sub: str
    email: str | None = None
    email_verified: bool = True
    name: str | None = None

    def claims(self) -> UserInfo:
        claims: dict[str, Any] = {"sub": self.sub, "name": self.name or self.sub}
        if self.email is not None:
            claims["email"] = self.email
            claims["email_verified"] = self.email_verified
        return UserInfo(claims)


@dataclass(frozen=True)
class Login:
    """One sign-in: who, and the fault (if any) the provider makes in it."""

    user: TestUser
    fault: str | None = None


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    client_metadata: dict[str, Any] = field(default_factory=dict)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    login: Login
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    access_token: str
    client: Client
    login: Login
    scope: str
    issued_at: float
    expires_in: int

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> Login:
        return self.login

    def get_client(self) -> Client:
        return self.client


@dataclass
class HttpRequest:
    """What Authlib needs of an HTTP request: method, URL, headers, query and form fields."""

    method: str
    url: str
    headers: Any
    args: dict[str, str]
    form: dict[str, str]


class RequestAdapter(OAuth2Request):  # type: ignore[misc]
    """An `HttpRequest` as Authlib's OAuth2Request."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.method, request.url, headers=request.headers)
        self._request = request
        self.payload = BasicOAuth2Payload({**request.args, **request.form})

    @property
    def args(self) -> dict[str, str]:
        return self._request.args

    @property
    def form(self) -> dict[str, str]:
        return self._request.form


@dataclass
class ProviderState:
    """What the server's classes share: the issuer, the client, the signing key, and the
    codes and tokens issued (behind one lock: requests run on several threads)."""

    issuer: str
    client: Client
    key: RSAKey
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The request the UserInfo endpoint is answering (Authlib does not pass it down).
    current: threading.local = field(default_factory=threading.local)
