"""The test provider: its life cycle, the settings it gives the app, and its endpoints
(discovery, JWKS, authorize, token, UserInfo, and the GitHub-shaped API)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.oauth2 import OAuth2Error
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc.jwk import KeySet, RSAKey

from infra.local.oidc_provider.faults import FAULTS, ID_TOKEN_FAULTS, faulty_id_token
from infra.local.oidc_provider.http import Reply, handler_class
from infra.local.oidc_provider.models import (
    SCOPES,
    Client,
    HttpRequest,
    Login,
    ProviderState,
    RequestAdapter,
    TestUser,
)
from infra.local.oidc_provider.pages import login_form, page
from infra.local.oidc_provider.server import TOKEN_AUTH_METHODS, build_server

JSON = [("Content-Type", "application/json")]


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
        self.slow_seconds = slow_seconds
        self._httpd = ThreadingHTTPServer(
            (host, port), handler_class(self.route, lambda: self.issuer)
        )
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.issuer = f"http://{host}:{self._httpd.server_address[1]}"
        self.state = ProviderState(
            issuer=self.issuer,
            client=Client(client_id, client_secret or secrets.token_urlsafe(24), redirect_uris),
            key=RSAKey.generate_key(2048, parameters={"kid": generate_token(12)}),
        )
        self._server, self._protector = build_server(self.state)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def client(self) -> Client:
        return self.state.client

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

    # ---- discovery ----

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
                "token_endpoint_auth_methods_supported": TOKEN_AUTH_METHODS,
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
        return dict(KeySet([self.state.key]).as_dict(private=False))

    # ---- endpoints ----

    def _authorize(self, request: HttpRequest) -> Reply:
        fields = {**request.args, **request.form}
        try:
            grant = self._server.get_consent_grant(request)
        except OAuth2Error as error:
            return page(400, f"Invalid authorization request: {error.description}")
        decision = fields.get("login")
        if decision is None:
            return page(200, login_form(fields), raw=True)
        login = None
        if decision == "allow":
            user = TestUser(
                sub=fields.get("sub") or "alice",
                email=fields.get("email") or None,
                email_verified=fields.get("email_verified", "").lower() in ("true", "on", "1"),
                name=fields.get("name") or None,
            )
            fault = fields.get("fault") or None
            login = Login(user, fault if fault in FAULTS else None)
        response: Reply = self._server.create_authorization_response(
            request, grant_user=login, grant=grant
        )
        return response

    def _token(self, request: HttpRequest) -> Reply:
        pending = self.state.codes.get(request.form.get("code", ""))
        fault = pending.login.fault if pending else None
        if fault == "token_error":
            body = {"error": "invalid_grant", "error_description": "refused (test fault)"}
            return 400, body, JSON
        if fault == "slow_token":
            time.sleep(self.slow_seconds)
        status, body, headers = self._server.create_token_response(request)
        if status == 200 and fault in ID_TOKEN_FAULTS and "id_token" in body:
            body["id_token"] = faulty_id_token(
                body["id_token"], str(fault), self.state.key, self.client.client_id
            )
        return status, body, headers

    def _userinfo(self, request: HttpRequest) -> Reply:
        self.state.current.request = request
        try:
            response: Reply = self._server.create_endpoint_response("userinfo", request)
        finally:
            self.state.current.request = None
        return response

    def _github(self, request: HttpRequest, path: str) -> Reply:
        try:
            token = self._protector.validate_request(None, RequestAdapter(request))
        except OAuth2Error as error:
            return error.status_code, {"message": "Bad credentials"}, []
        user: TestUser = token.get_user().user
        if path == "user":
            body: Any = {"id": user.sub, "login": user.sub, "name": user.name, "avatar_url": None}
        else:
            body = []
            if user.email is not None:
                body.append({"email": user.email, "primary": True, "verified": user.email_verified})
        return 200, body, JSON

    def route(self, request: HttpRequest) -> Reply:
        """The reply to one request, by method and path."""
        routes: dict[tuple[str, str], Callable[[], Reply]] = {
            ("GET", "/.well-known/openid-configuration"): lambda: (
                200,
                dict(self.metadata()),
                JSON,
            ),
            ("GET", "/jwks"): lambda: (200, self.jwks(), JSON),
            ("GET", "/authorize"): lambda: self._authorize(request),
            ("POST", "/authorize"): lambda: self._authorize(request),
            ("POST", "/token"): lambda: self._token(request),
            ("GET", "/userinfo"): lambda: self._userinfo(request),
            ("GET", "/github/user"): lambda: self._github(request, "user"),
            ("GET", "/github/user/emails"): lambda: self._github(request, "emails"),
        }
        handler = routes.get((request.method, urlsplit(request.url).path))
        if handler is None:
            return 404, {"error": "not_found"}, JSON
        return handler()
