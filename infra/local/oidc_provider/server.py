"""Authlib's server components, each given the provider's state: the authorization
server, the code grant with PKCE required, ID tokens, UserInfo and the bearer-token
protector of the UserInfo and GitHub-shaped endpoints."""

from __future__ import annotations

import time
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey

from infra.local.oidc_provider.models import (
    CODE_LIFETIME_SECONDS,
    SCOPES,
    AuthorizationCode,
    Client,
    Login,
    ProviderState,
    RequestAdapter,
    Token,
)

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class Server(AuthorizationServer):  # type: ignore[misc]
    """The authorization server, over the provider's one client and its stored tokens."""

    def __init__(self, state: ProviderState) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.state = state

    def query_client(self, client_id: str) -> Client | None:
        return self.state.client if client_id == self.state.client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        with self.state.lock:
            self.state.tokens[token["access_token"]] = Token(
                access_token=token["access_token"],
                client=request.client,
                login=request.user,
                scope=token.get("scope", ""),
                issued_at=time.time(),
                expires_in=int(token["expires_in"]),
            )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return RequestAdapter(request)

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    """Authorization codes kept in the provider's state, for ten minutes, used once."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    @property
    def state(self) -> ProviderState:
        return self.server.state  # type: ignore[no-any-return]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        with self.state.lock:
            self.state.codes[code] = AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.client.get_allowed_scope(request.payload.scope),
                login=request.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
                expires_at=time.time() + CODE_LIFETIME_SECONDS,
            )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.state.codes.get(code)
        if found and found.client_id == client.client_id and found.expires_at > time.time():
            return found
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        with self.state.lock:
            self.state.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Login:
        return authorization_code.login


class RequirePkce(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 on every authorization request: a client without it is refused."""

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with S256 is required.")
        super().validate_code_challenge(grant, redirect_uri)


class IdTokens(OpenIDCode):  # type: ignore[misc]
    """ID tokens signed RS256 with the provider's key, for ten minutes."""

    def __init__(self, state: ProviderState) -> None:
        super().__init__(require_nonce=False)
        self.state = state

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.state.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": str(self.state.key.kid)}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.state.issuer, "aud": [client.client_id], "exp": now + 600}

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return any(code.nonce == nonce for code in self.state.codes.values())

    def generate_user_info(self, user: Login, scope: str) -> UserInfo:
        return user.user.claims().filter(scope)


class UserInfoOfToken(UserInfoEndpoint):  # type: ignore[misc]
    def __init__(self, state: ProviderState, protector: ResourceProtector) -> None:
        super().__init__(resource_protector=protector)
        self.state = state

    def generate_user_info(self, user: Login, scope: str) -> UserInfo:
        return user.user.claims().filter(scope)

    def get_issuer(self) -> str:
        return self.state.issuer


class TokenOfRequest(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, state: ProviderState) -> None:
        super().__init__()
        self.state = state

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.state.tokens.get(token_string)


class Protector(ResourceProtector):  # type: ignore[misc]
    """Bearer tokens the provider issued, for UserInfo and the GitHub-shaped API."""

    def __init__(self, state: ProviderState) -> None:
        super().__init__()
        self.state = state
        self.register_token_validator(TokenOfRequest(state))

    # Authlib's UserInfoEndpoint asks for the token without passing the request.
    def acquire_token(self, scopes: Any = None) -> Token:
        request = self.state.current.request
        scope_list = [scopes] if isinstance(scopes, str) else scopes
        token: Token = self.validate_request(scope_list, RequestAdapter(request))
        return token


def build_server(state: ProviderState) -> tuple[Server, Protector]:
    """The authorization server with its grant, extensions and UserInfo endpoint."""
    protector = Protector(state)
    server = Server(state)
    server.register_token_generator("default", BearerTokenGenerator(lambda **_: generate_token(42)))
    server.register_grant(CodeGrant, [RequirePkce(required=True), IdTokens(state)])
    server.register_endpoint(UserInfoOfToken(state, protector))
    return server, protector
