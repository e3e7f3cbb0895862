"""Provider settings are checked at cold start: a half-configured provider stops it."""

import os

import pytest
from pydantic import ValidationError

from chalicelib.settings import OAuthSettings

API = {"USERDB_API_URL": "https://api.example.com/prod"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("USERDB_OAUTH_") or name in ("USERDB_API_URL", "USERDB_WEB_URL"):
            monkeypatch.delenv(name)


def settings(monkeypatch, **environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return OAuthSettings()


def test_no_provider_needs_nothing(monkeypatch):
    assert settings(monkeypatch).google_client_id is None


def test_a_complete_provider_is_accepted_and_its_secret_is_not_printed(monkeypatch):
    configured = settings(
        monkeypatch,
        **API,
        USERDB_OAUTH_GOOGLE_CLIENT_ID="id",
        USERDB_OAUTH_GOOGLE_CLIENT_SECRET="s3cret-value",
        USERDB_OAUTH_OIDC_CLIENT_ID="public-client",
        USERDB_OAUTH_OIDC_ISSUER="https://login.example.com",
    )
    assert configured.google_client_secret is not None
    assert "s3cret-value" not in repr(configured)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"USERDB_OAUTH_GITHUB_CLIENT_ID": "id", **API},
            "github: a client id needs a client secret",
        ),
        (
            {
                "USERDB_OAUTH_GOOGLE_CLIENT_ID": "id",
                "USERDB_OAUTH_GOOGLE_CLIENT_SECRET": "s",
                "USERDB_OAUTH_GOOGLE_CLIENT_SECRET_NAME": "ssm:/x",
                **API,
            },
            "not both",
        ),
        ({"USERDB_OAUTH_OIDC_CLIENT_ID": "id", **API}, "USERDB_OAUTH_OIDC_ISSUER"),
        (
            {"USERDB_OAUTH_GOOGLE_CLIENT_ID": "id", "USERDB_OAUTH_GOOGLE_CLIENT_SECRET": "s"},
            "USERDB_API_URL",
        ),
    ],
)
def test_a_half_configured_provider_stops_the_cold_start(monkeypatch, environment, message):
    with pytest.raises(ValidationError, match=message):
        settings(monkeypatch, **environment)
