"""A real OpenID Connect provider on 127.0.0.1, for tests and `make run`.

Built from Authlib's server components: an AuthorizationServer with the
authorization code grant, PKCE (S256, required) and OpenID Connect Core (ID
tokens signed RS256 with a key made at start), plus discovery, JWKS and the
UserInfo endpoint. A GitHub-shaped API (`/github/user`, `/github/user/emails`)
serves the same users, so the GitHub provider's code runs against it too.

Who signs in is chosen on the login page, or by query fields on /authorize
(what tests do): `login=allow|deny`, `sub`, `email`, `email_verified`, `name`.
`fault=` makes the provider misbehave for one sign-in, to test that the app
refuses it: expired_id_token, wrong_nonce, bad_signature, wrong_audience,
token_error, slow_token.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, OAuth2Error, ResourceProtector
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidRequestError,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

FAULTS = (
    "expired_id_token",
    "wrong_nonce",
    "bad_signature",
    "wrong_audience",
    "token_error",
    "slow_token",
)
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


@dataclass(frozen=True)
class _Login:
    user: TestUser
    fault: str | None = None


@dataclass
class _Client(ClientMixin):  # type: ignore[misc]
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
class _AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    login: _Login
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
class _Token(TokenMixin):  # type: ignore[misc]
    access_token: str
    client: _Client
    login: _Login
    scope: str
    issued_at: float
    expires_in: int

    def check_client(self, client: _Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> _Login:
        return self.login

    def get_client(self) -> _Client:
        return self.client


@dataclass
class _HttpRequest:
    """What Authlib needs of an HTTP request: method, URL, headers, query and form fields."""

    method: str
    url: str
    headers: Any
    args: dict[str, str]
    form: dict[str, str]


class _OAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: _HttpRequest) -> None:
        super().__init__(request.method, request.url, headers=request.headers)
        self._request = request
        self.payload = BasicOAuth2Payload({**request.args, **request.form})

    @property
    def args(self) -> dict[str, str]:
        return self._request.args

    @property
    def form(self) -> dict[str, str]:
        return self._request.form


def _user_claims(user: TestUser) -> UserInfo:
    claims: dict[str, Any] = {"sub": user.sub, "name": user.name or user.sub}
    if user.email is not None:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    return UserInfo(claims)


class OidcTestProvider:
    """The provider: start() serves it on a free port of `host`; stop() ends it."""

    def __init__(
        self,
        redirect_uris: list[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = "userdb-local",
        client_secret: str | None = None,
        slow_seconds: float = 3.0,
    ) -> None:
        self.client = _Client(client_id, client_secret or secrets.token_urlsafe(24), redirect_uris)
        self.slow_seconds = slow_seconds
        self._key = RSAKey.generate_key(2048, parameters={"kid": generate_token(12)})
        self._codes: dict[str, _AuthorizationCode] = {}
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.issuer = f"http://{host}:{self._httpd.server_address[1]}"
        self._server = self._authorization_server()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    # ---- life cycle ----

    def start(self) -> OidcTestProvider:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="oidc-test-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def app_environment(self, name: str = "Local test provider") -> dict[str, str]:
        """The settings that make the app's generic OIDC provider this one."""
        return {
            "USERDB_OAUTH_OIDC_ISSUER": self.issuer,
            "USERDB_OAUTH_OIDC_CLIENT_ID": self.client.client_id,
            "USERDB_OAUTH_OIDC_CLIENT_SECRET": self.client.client_secret,
            "USERDB_OAUTH_OIDC_NAME": name,
        }

    def github_environment(self) -> dict[str, str]:
        """The settings that make the app's GitHub provider talk to this one's GitHub-shaped API."""
        return {
            "USERDB_OAUTH_GITHUB_CLIENT_ID": self.client.client_id,
            "USERDB_OAUTH_GITHUB_CLIENT_SECRET": self.client.client_secret,
            "USERDB_OAUTH_GITHUB_AUTHORIZE_URL": f"{self.issuer}/authorize",
            "USERDB_OAUTH_GITHUB_TOKEN_URL": f"{self.issuer}/token",
            "USERDB_OAUTH_GITHUB_API_URL": f"{self.issuer}/github/",
        }

    # ---- Authlib server components ----

    def metadata(self) -> OpenIDProviderMetadata:
        metadata = OpenIDProviderMetadata(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": [
                    *("sub", "iss", "aud", "exp", "iat", "nonce"),
                    *("name", "email", "email_verified"),
                ],
            }
        )
        metadata.validate()
        return metadata

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self._key]).as_dict(private=False))

    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> _Client | None:
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                with provider._lock:
                    provider._tokens[token["access_token"]] = _Token(
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
                return _OAuth2Request(request)

            def handle_response(
                self, status: int, body: Any, headers: list[tuple[str, str]]
            ) -> tuple[int, Any, list[tuple[str, str]]]:
                return status, body, list(headers)

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                with provider._lock:
                    provider._codes[code] = _AuthorizationCode(
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

            def query_authorization_code(
                self, code: str, client: _Client
            ) -> _AuthorizationCode | None:
                found = provider._codes.get(code)
                if found and found.client_id == client.client_id and found.expires_at > time.time():
                    return found
                return None

            def delete_authorization_code(self, authorization_code: _AuthorizationCode) -> None:
                with provider._lock:
                    provider._codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: _AuthorizationCode) -> _Login:
                return authorization_code.login

        class RequirePkce(CodeChallenge):  # type: ignore[misc]
            """PKCE with S256 on every authorization request: a client without it is refused."""

            def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
                data = grant.request.payload.data
                if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
                    raise InvalidRequestError("PKCE with S256 is required.")
                super().validate_code_challenge(grant, redirect_uri)

        class IdTokens(OpenIDCode):  # type: ignore[misc]
            def resolve_client_private_key(self, client: _Client) -> RSAKey:
                return provider._key

            def get_client_algorithm(self, client: _Client) -> str:
                return "RS256"

            def get_encode_header(self, client: _Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": str(provider._key.kid)}

            def get_client_claims(self, client: _Client) -> dict[str, Any]:
                now = int(time.time())
                return {"iss": provider.issuer, "aud": [client.client_id], "exp": now + 600}

            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(code.nonce == nonce for code in provider._codes.values())

            def generate_user_info(self, user: _Login, scope: str) -> UserInfo:
                return _user_claims(user.user).filter(scope)

        class UserInfoOfToken(UserInfoEndpoint):  # type: ignore[misc]
            def generate_user_info(self, user: _Login, scope: str) -> UserInfo:
                return _user_claims(user.user).filter(scope)

            def get_issuer(self) -> str:
                return provider.issuer

        server = Server(scopes_supported=list(SCOPES))
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: generate_token(42))
        )
        server.register_grant(
            CodeGrant, [RequirePkce(required=True), IdTokens(require_nonce=False)]
        )
        server.register_endpoint(UserInfoOfToken(resource_protector=self._protector()))
        return server

    def _protector(self) -> ResourceProtector:
        provider = self

        class TokenOfRequest(BearerTokenValidator):  # type: ignore[misc]
            def authenticate_token(self, token_string: str) -> _Token | None:
                return provider._tokens.get(token_string)

        class Protector(ResourceProtector):  # type: ignore[misc]
            # Authlib's UserInfoEndpoint asks for the token without passing the request.
            def acquire_token(self, scopes: Any = None) -> _Token:
                request = provider._local.request
                scope_list = [scopes] if isinstance(scopes, str) else scopes
                token: _Token = self.validate_request(scope_list, _OAuth2Request(request))
                return token

        protector = Protector()
        protector.register_token_validator(TokenOfRequest())
        self._resource_protector = protector
        return protector

    # ---- endpoints ----

    def _authorize(self, request: _HttpRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        fields = {**request.args, **request.form}
        try:
            grant = self._server.get_consent_grant(request)
        except OAuth2Error as error:
            return self._page(400, f"Invalid authorization request: {error.description}")
        decision = fields.get("login")
        if decision is None:
            return self._page(200, self._login_form(fields), raw=True)
        login = None
        if decision == "allow":
            user = TestUser(
                sub=fields.get("sub") or "alice",
                email=fields.get("email") or None,
                email_verified=fields.get("email_verified", "").lower() in ("true", "on", "1"),
                name=fields.get("name") or None,
            )
            fault = fields.get("fault") or None
            login = _Login(user, fault if fault in FAULTS else None)
        response: tuple[int, Any, list[tuple[str, str]]] = (
            self._server.create_authorization_response(request, grant_user=login, grant=grant)
        )
        return response

    def _token(self, request: _HttpRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        pending = self._codes.get(request.form.get("code", ""))
        fault = pending.login.fault if pending else None
        if fault == "token_error":
            body = {"error": "invalid_grant", "error_description": "refused (test fault)"}
            return 400, body, [("Content-Type", "application/json")]
        if fault == "slow_token":
            time.sleep(self.slow_seconds)
        status, body, headers = self._server.create_token_response(request)
        if status == 200 and fault and "id_token" in body:
            body["id_token"] = self._faulty_id_token(body["id_token"], fault)
        return status, body, headers

    def _faulty_id_token(self, id_token: str, fault: str) -> str:
        """The ID token, re-issued wrong in the way `fault` names (test fault injection)."""
        decoded = jwt.decode(id_token, self._key)
        claims, header, key = dict(decoded.claims), dict(decoded.header), self._key
        now = int(time.time())
        if fault == "expired_id_token":
            claims.update(iat=now - 7200, exp=now - 3600)
        elif fault == "wrong_nonce":
            claims["nonce"] = generate_token(20)
        elif fault == "wrong_audience":
            # Issued to another client but naming ours as authorized party: aud must still fail.
            claims.update(aud=["someone-else"], azp=self.client.client_id)
        elif fault == "bad_signature":
            # Another key under the provider's key id: the signature cannot verify.
            claims["email"] = "mallory@example.com"
            key = RSAKey.generate_key(2048, parameters={"kid": str(self._key.kid)})
        return jwt.encode(header, claims, key)

    def _userinfo(self, request: _HttpRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        self._local.request = request
        try:
            response = self._server.create_endpoint_response("userinfo", request)
        finally:
            self._local.request = None
        return response  # type: ignore[no-any-return]

    def _github(self, request: _HttpRequest, path: str) -> tuple[int, Any, list[tuple[str, str]]]:
        try:
            token = self._resource_protector.validate_request(None, _OAuth2Request(request))
        except OAuth2Error as error:
            return error.status_code, {"message": "Bad credentials"}, []
        user: TestUser = token.get_user().user
        if path == "user":
            body: Any = {"id": user.sub, "login": user.sub, "name": user.name, "avatar_url": None}
        else:
            body = []
            if user.email is not None:
                body.append({"email": user.email, "primary": True, "verified": user.email_verified})
        return 200, body, [("Content-Type", "application/json")]

    def route(self, request: _HttpRequest) -> tuple[int, Any, list[tuple[str, str]]]:
        path = urlsplit(request.url).path
        json_headers = [("Content-Type", "application/json")]
        routes: dict[tuple[str, str], Callable[[], tuple[int, Any, list[tuple[str, str]]]]] = {
            ("GET", "/.well-known/openid-configuration"): lambda: (
                200,
                dict(self.metadata()),
                json_headers,
            ),
            ("GET", "/jwks"): lambda: (200, self.jwks(), json_headers),
            ("GET", "/authorize"): lambda: self._authorize(request),
            ("POST", "/authorize"): lambda: self._authorize(request),
            ("POST", "/token"): lambda: self._token(request),
            ("GET", "/userinfo"): lambda: self._userinfo(request),
            ("GET", "/github/user"): lambda: self._github(request, "user"),
            ("GET", "/github/user/emails"): lambda: self._github(request, "emails"),
        }
        handler = routes.get((request.method, path))
        if handler is None:
            return 404, {"error": "not_found"}, json_headers
        return handler()

    # ---- pages ----

    def _page(
        self, status: int, content: str, raw: bool = False
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        body = content if raw else f"<p>{html.escape(content)}</p>"
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            "<title>userdb local OIDC provider</title></head>"
            "<body style='font-family:sans-serif;max-width:32em;margin:2em auto'>"
            f"{body}</body></html>"
        )
        return status, page, [("Content-Type", "text/html; charset=utf-8")]

    def _login_form(self, fields: dict[str, str]) -> str:
        hidden = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in fields.items()
        )
        faults = "".join(f"<option value='{f}'>{f}</option>" for f in FAULTS)
        return (
            "<h1>Local test provider</h1>"
            "<p>Choose who signs in. Nothing here is checked: this provider is for testing.</p>"
            f"<form method='post' action='/authorize'>{hidden}"
            "<p><label>Subject <input name='sub' value='alice' required></label></p>"
            "<p><label>Name <input name='name' value='Alice'></label></p>"
            "<p><label>Email <input name='email' value='alice@example.com'></label></p>"
            "<p><label><input type='checkbox' name='email_verified' value='true' checked>"
            " email verified</label></p>"
            "<p><label>Test fault <select name='fault'><option value=''>none</option>"
            f"{faults}</select></label></p>"
            "<p><button name='login' value='allow'>Sign in</button> "
            "<button name='login' value='deny'>Deny</button></p></form>"
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests and the runtime print their own lines

            def _serve(self) -> None:
                url = f"{provider.issuer}{self.path}"
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                request = _HttpRequest(
                    method=self.command,
                    url=url,
                    headers=self.headers,
                    args=dict(parse_qsl(urlsplit(url).query)),
                    form=dict(parse_qsl(raw)) if self.command == "POST" else {},
                )
                try:
                    status, body, headers = provider.route(request)
                except Exception as error:  # a broken test provider should say why
                    status, body, headers = 500, {"error": repr(error)}, []
                if isinstance(body, (dict, list)):
                    body = json.dumps(body)
                    headers = [*headers, ("Content-Type", "application/json")]
                payload = (body or "").encode("utf-8")
                self.send_response(status)
                sent = set()
                for name, value in headers:
                    if name.lower() not in sent or name.lower() == "set-cookie":
                        self.send_header(name, value)
                        sent.add(name.lower())
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve  # noqa: N815 - http.server's naming
            do_POST = _serve  # noqa: N815

        return Handler
