"""Typed settings, read once from the environment.

The stages in `.chalice/config.json` set these variables; nothing else in
`chalicelib` reads `os.environ`. The local runtime sets the same variables to
loopback endpoints, so the code is the same locally and on AWS.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Tenancy(StrEnum):
    """Where tenant data lives: a table per tenant, or one shared table."""

    SILO = "silo"
    POOL = "pool"


class OAuthSettings(BaseSettings):
    """Sign-in providers of the stage (docs/oauth.md). A provider is on when its client id is set.

    A client secret comes from `*_CLIENT_SECRET`, or from `*_CLIENT_SECRET_NAME`: an
    `ssm:/parameter/name` or `secretsmanager:secret-id[#json-key]`, resolved at cold start.
    """

    model_config = SettingsConfigDict(env_prefix="USERDB_OAUTH_", frozen=True, extra="ignore")

    # The public URL of this REST API (callbacks are {api_url}/auth/oauth/{provider}/callback).
    api_url: str | None = Field(default=None, validation_alias="USERDB_API_URL")
    # Where a sign-in lands when the client names no page (default: the first allowed origin).
    web_url: str | None = Field(default=None, validation_alias="USERDB_WEB_URL")
    http_timeout_seconds: float = Field(default=5.0, gt=0, le=25)
    id_token_leeway_seconds: int = Field(default=60, ge=0, le=300)

    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_client_secret_name: str | None = None
    google_scopes: str = "openid email profile"
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"

    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    github_client_secret_name: str | None = None
    github_scopes: str = "read:user user:email"
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"  # noqa: S105 - a URL
    github_api_url: str = "https://api.github.com/"

    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_client_secret_name: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_issuer: str | None = None
    oidc_discovery_url: str | None = None
    oidc_name: str = Field(default="OpenID Connect", min_length=1, max_length=60)

    @model_validator(mode="after")
    def _complete(self) -> OAuthSettings:
        for provider in ("google", "github", "oidc"):
            if getattr(self, f"{provider}_client_id") is None:
                continue
            has_secret = getattr(self, f"{provider}_client_secret") is not None
            has_name = getattr(self, f"{provider}_client_secret_name") is not None
            if has_secret and has_name:
                raise ValueError(f"{provider}: set its client secret or its secret name, not both")
            # The generic provider may be a public client (PKCE only); the others need a secret.
            if provider != "oidc" and not (has_secret or has_name):
                raise ValueError(f"{provider}: a client id needs a client secret or secret name")
            if self.api_url is None:
                raise ValueError("USERDB_API_URL is needed to build OAuth callback URLs")
        if self.oidc_client_id and not (self.oidc_issuer or self.oidc_discovery_url):
            raise ValueError(
                "oidc: set USERDB_OAUTH_OIDC_ISSUER or USERDB_OAUTH_OIDC_DISCOVERY_URL"
            )
        return self


class Settings(BaseSettings):
    """Everything the app can be told by its stage."""

    model_config = SettingsConfigDict(env_prefix="USERDB_", frozen=True, extra="ignore")

    stage: str = "local"
    table_prefix: str = Field(default="userdb-local", pattern=r"^[A-Za-z0-9_.-]{1,180}$")
    tenancy: Tenancy = Tenancy.SILO
    region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("USERDB_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    )

    # Endpoints: unset on AWS (the SDK's defaults), loopback under the local runtime.
    dynamodb_endpoint: str | None = None
    lambda_endpoint: str | None = None
    # The @connections management API, e.g. https://{api}.execute-api.{region}.amazonaws.com/{stage}.
    websocket_endpoint: str | None = None
    # The function tenant streams are mapped to; Chalice names it `{app}-{stage}-fan_out`.
    fanout_function: str | None = None

    # Sessions.
    session_days: int = Field(default=7, ge=1, le=90)
    session_renew_after_seconds: int = Field(default=86_400, ge=60)
    session_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    session_cache_size: int = Field(default=10_000, ge=1)
    cookie_secure: bool | None = None  # None: secure everywhere but the local stage
    # Strict-Transport-Security on every reply; None: on every stage but `local` (HTTPS).
    hsts: bool | None = None
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = (
        "http://127.0.0.1:8000",
        "http://localhost:8000",
    )

    # Passwords: argon2id, at least OWASP's minimum (19 MiB, 2 passes, 1 lane).
    argon2_memory_kib: int = Field(default=19_456, ge=19_456)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)

    # Login throttling (docs/security.md): per email for untrusted devices, and per
    # trusted device, `login_max_failures` in a window; per client address, across emails,
    # `login_address_max_failures`. The same window and lockouts for all.
    login_max_failures: int = Field(default=5, ge=1)
    login_address_max_failures: int = Field(default=20, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    login_lockout_max_seconds: int = Field(default=86_400, ge=1)
    # How long a device that signed in stays trusted with that account.
    login_device_days: int = Field(default=180, ge=1, le=400)

    # WebSocket messages per connection and Lambda instance: `ws_message_burst` at once,
    # then `ws_messages_per_second`; beyond, frames are dropped (`error` rate_limited).
    ws_messages_per_second: float = Field(default=10.0, gt=0)
    ws_message_burst: int = Field(default=40, ge=1)

    # The collections the app declares (docs/collections.md): a JSON file; a relative path is
    # looked up in the working directory, then in the app's own folder (Lambda's /var/task).
    collections: str = Field(default="chalicelib/collections.json", min_length=1)

    # Tenant data.
    tombstone_days: int = Field(default=7, ge=1)
    # How long account creation waits for a new silo table to become ACTIVE.
    tenant_wait_seconds: float = Field(default=10.0, ge=0, le=25)
    # Retry-After of the 503 `tenant_provisioning` while a tenant table is CREATING.
    tenant_retry_after_seconds: int = Field(default=2, ge=1, le=60)
    # How long an Idempotency-Key's result is kept and replayed.
    idempotency_seconds: int = Field(default=86_400, ge=60)

    # The fast path (docs/protocol.md): a write posts its change to the tenant's connections
    # itself when it has at most this many (0: off, every change goes through the stream).
    fast_path_max_connections: int = Field(default=10, ge=0, le=1000)
    # The most a write waits for those posts (they go out in parallel, never retried).
    fast_path_wait_ms: int = Field(default=1000, ge=50, le=10_000)

    # Sign-in with OAuth / OpenID Connect providers.
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()
            )
        return value

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry Secure on every stage but `local` unless told otherwise."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.stage != "local"

    @property
    def strict_transport_security(self) -> bool:
        """HSTS on every stage but `local` (served over HTTPS) unless told otherwise."""
        if self.hsts is not None:
            return self.hsts
        return self.stage != "local"

    @property
    def fanout_function_name(self) -> str:
        return self.fanout_function or f"userdb-{self.stage}-fan_out"

    @property
    def collections_file(self) -> Path:
        """The collections file, resolved (see `collections`)."""
        path = Path(self.collections)
        if path.is_absolute() or path.exists():
            return path
        return Path(__file__).resolve().parent.parent / path

    def table_name(self, suffix: str) -> str:
        """The stage's name for one of its tables, e.g. `userdb-local-accounts`."""
        return f"{self.table_prefix}-{suffix}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, validated once (at cold start)."""
    return Settings()
