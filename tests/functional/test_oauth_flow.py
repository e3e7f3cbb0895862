"""Sign-in with OAuth, the whole flow: the app through chalice.test.Client on moto, and a
real OpenID Connect provider (Authlib's server components) over real HTTP on 127.0.0.1.

A small browser follows every redirect: the app's to the provider, the provider's
back to the app's callback, the callback's to the web client; it keeps cookies.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
import requests

from chalicelib.observability import logger
from chalicelib.services import build_services, use_services
from chalicelib.settings import get_settings
from infra.local.oidc_provider import OidcTestProvider
from infra.local.ports import free_port
from tests.support.fakes import RecordingSubscriptions

API = "http://api.test/prod"
WEB = "http://127.0.0.1:8000"
CALLBACKS = [f"{API}/auth/oauth/oidc/callback", f"{API}/auth/oauth/github/callback"]


@pytest.fixture(scope="module")
def provider():
    provider = OidcTestProvider(CALLBACKS).start()
    yield provider
    provider.stop()


def _configure(monkeypatch, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def settings(monkeypatch, provider):
    # Overrides conftest's: the stage is configured with the test provider, as OIDC and GitHub.
    monkeypatch.delenv("USERDB_DYNAMODB_ENDPOINT", raising=False)
    yield _configure(
        monkeypatch,
        {
            "USERDB_TABLE_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
            "USERDB_STAGE": "local",
            "USERDB_API_URL": API,
            "USERDB_ALLOWED_ORIGINS": WEB,
            **provider.app_environment(),
            **provider.github_environment(),
        },
    )
    get_settings.cache_clear()


def fragment_fields(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items()}


@dataclass
class Landing:
    """Where a sign-in ended on the web client."""

    url: str
    fields: dict[str, str]
    callback: str | None = None

    @property
    def token(self) -> str:
        return self.fields["token"]

    @property
    def error(self) -> str | None:
        return self.fields.get("error")


@dataclass
class Browser:
    api: Any
    cookies: dict[str, str] = field(default_factory=dict)

    def _keep_cookies(self, headers):
        values = headers.get("set-cookie") or []
        for value in [values] if isinstance(values, str) else values:
            for name, morsel in SimpleCookie(value).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def app(self, url):
        """GET an app URL (under API) as a browser: with its cookies; returns the 302's Location."""
        assert url.startswith(API), url
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reply = self.api.call("GET", url[len(API) :], headers={"Cookie": cookie} if cookie else {})
        assert reply.status == 302, (reply.status, reply.body)
        assert reply.headers["cache-control"] == "no-store"
        self._keep_cookies(reply.headers)
        return reply.headers["location"]

    def start(self, provider="oidc", **query):
        return self.app(f"{API}/auth/oauth/{provider}/start?{urlencode(query)}")

    def log_in_at_provider(self, authorize_url, **login):
        """The user's choice on the provider's login page; returns where the provider redirects."""
        fields = {"login": "allow", **login}
        reply = requests.get(
            f"{authorize_url}&{urlencode(fields)}", allow_redirects=False, timeout=10
        )
        assert reply.status_code == 302, reply.text
        return reply.headers["Location"]

    def finish(self, callback):
        location = self.app(callback)
        return Landing(location, fragment_fields(location), callback)

    def sign_in(self, provider="oidc", start=None, **login):
        authorize = self.start(provider, **(start or {}))
        if authorize.startswith(WEB):  # refused before reaching the provider
            return Landing(authorize, fragment_fields(authorize))
        return self.finish(self.log_in_at_provider(authorize, **login))


@pytest.fixture
def browser(api):
    return Browser(api)


def person(sub=None, email=None, verified=True, **extra):
    sub = sub or f"sub-{uuid.uuid4().hex[:8]}"
    login = {"sub": sub, "name": sub.title(), "email_verified": "true" if verified else "false"}
    if email:
        login["email"] = email
    return {**login, **extra}


def me(api, token):
    reply = api.call("GET", "/me", token=token)
    assert reply.status == 200, reply.body
    return reply.json


def test_configured_providers_are_listed_with_their_start_urls(api):
    reply = api.call("GET", "/auth/providers")
    assert reply.status == 200
    assert reply.json["providers"] == [
        {"id": "github", "name": "GitHub", "start_url": f"{API}/auth/oauth/github/start"},
        {"id": "oidc", "name": "Local test provider", "start_url": f"{API}/auth/oauth/oidc/start"},
    ]


def test_signing_in_creates_an_account_a_session_and_lands_with_the_token_in_the_fragment(
    api, browser, dynamodb, settings
):
    # When a new user signs in with the provider, starting from a page of the web client
    authorize = browser.start(redirect=f"{WEB}/notes.html?x=1")
    # Then the provider was asked for a code with PKCE (S256), a state and a nonce
    sent = parse_qs(urlsplit(authorize).query)
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["redirect_uri"] == [f"{API}/auth/oauth/oidc/callback"]
    assert sent["state"][0] == browser.cookies["userdb_oauth_state"]
    assert len(sent["nonce"][0]) >= 20
    # And the attempt is kept server-side by the hash of its state, with a 10-minute TTL
    items = dynamodb.scan(TableName=settings.table_name("accounts"))["Items"]
    states = [i for i in items if i["pk"]["S"].startswith("oauthstate#")]
    assert len(states) == 1
    assert sent["state"][0] not in states[0]["pk"]["S"]
    assert int(states[0]["expires"]["N"]) - int(states[0]["created"]["N"]) == 600

    landing = browser.finish(
        browser.log_in_at_provider(authorize, **person("ann", "Ann@Example.com"))
    )
    # Then they land on that page, token in the fragment (never the query), signed in by cookie too
    parts = urlsplit(landing.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}?{parts.query}" == f"{WEB}/notes.html?x=1"
    assert landing.fields["result"] == "created"
    assert landing.token not in parts.query
    assert browser.cookies["userdb_session"] == landing.token
    assert "userdb_oauth_state" not in browser.cookies
    # And the state was used up
    items = dynamodb.scan(TableName=settings.table_name("accounts"))["Items"]
    assert not [i for i in items if i["pk"]["S"].startswith("oauthstate#")]
    # And the account holds the verified email and lists the identity
    profile = me(api, landing.token)
    assert profile["user"]["email"] == "ann@example.com"
    assert profile["user"]["name"] == "Ann"
    assert [(i["provider"], i["subject"]) for i in profile["identities"]] == [("oidc", "ann")]


def test_signing_in_again_reaches_the_same_account(api, browser):
    first = browser.sign_in(**person("bob", "bob@example.com"))
    again = browser.sign_in(**person("bob", "bob@example.com"))
    assert again.fields["result"] == "signed_in"
    assert me(api, again.token)["user"]["id"] == me(api, first.token)["user"]["id"]


def test_a_replayed_callback_is_refused(api, browser):
    landing = browser.sign_in(**person(email="cy@example.com"))
    assert landing.fields["result"] == "created"
    # When the same callback (code and state) is sent again from the same browser
    browser.cookies["userdb_oauth_state"] = parse_qs(urlsplit(landing.callback).query)["state"][0]
    replay = browser.finish(landing.callback)
    # Then it lands with invalid_state and no token
    assert replay.error == "invalid_state"
    assert "token" not in replay.fields


def test_a_callback_without_the_browsers_state_cookie_is_refused(browser):
    callback = browser.log_in_at_provider(browser.start(), **person(email="dee@example.com"))
    browser.cookies.clear()  # the callback arrives in another browser (login CSRF)
    assert browser.finish(callback).error == "invalid_state"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("wrong_nonce", "nonce_mismatch"),
        ("expired_id_token", "id_token_expired"),
        ("bad_signature", "id_token_signature_invalid"),
        ("wrong_audience", "id_token_invalid"),
        ("token_error", "token_exchange_failed"),
    ],
)
def test_a_bad_id_token_or_code_is_refused_with_its_code(browser, dynamodb, settings, fault, code):
    # When the provider's answer is wrong in one way
    landing = browser.sign_in(**person(email="eve@example.com", fault=fault))
    # Then the sign-in lands with that way's code, no session and no account
    assert landing.error == code
    assert landing.fields["provider"] == "oidc"
    assert "token" not in landing.fields
    assert "userdb_session" not in browser.cookies
    items = dynamodb.scan(TableName=settings.table_name("accounts"))["Items"]
    assert not [i for i in items if i["pk"]["S"].startswith(("usr_", "oauth#"))]


def test_the_user_refusing_at_the_provider_lands_with_access_denied(browser):
    callback = browser.log_in_at_provider(browser.start(redirect=f"{WEB}/x"), login="deny")
    landing = browser.finish(callback)
    assert landing.error == "access_denied"
    assert landing.url.startswith(f"{WEB}/x#")


def test_a_verified_email_links_and_an_unverified_one_does_not(api, browser):
    # Given an account made by an identity with a verified email
    first = browser.sign_in(**person("fay-1", "fay@example.com"))
    user_id = me(api, first.token)["user"]["id"]
    # When another identity with the same verified email signs in, it reaches the same account
    linked = browser.sign_in(**person("fay-2", "fay@example.com"))
    assert linked.fields["result"] == "linked"
    assert me(api, linked.token)["user"]["id"] == user_id
    assert [i["subject"] for i in me(api, linked.token)["identities"]] == ["fay-1", "fay-2"]
    # When one with that email unverified signs in, it gets a separate account, without the email
    separate = browser.sign_in(**person("fay-3", "fay@example.com", verified=False))
    assert separate.fields["result"] == "created"
    profile = me(api, separate.token)
    assert profile["user"]["id"] != user_id
    assert profile["user"]["email"] is None


def test_a_password_account_is_connected_explicitly_not_by_email(api, browser):
    # Given a password account
    token = api.signup("gus@example.com")
    # When an identity with that email (verified) signs in, it is refused
    refused = browser.sign_in(**person("gus", "gus@example.com"))
    assert refused.error == "account_exists"
    # When the signed-in user connects the provider (session cookie), it links
    browser.cookies["userdb_session"] = token
    connected = browser.sign_in(start={"link": "true"}, **person("gus", "gus@example.com"))
    assert connected.fields == {"result": "linked", "provider": "oidc"}
    assert [i["subject"] for i in me(api, token)["identities"]] == ["gus"]
    # And from then on the identity signs in to that account
    browser.cookies.clear()
    again = browser.sign_in(**person("gus", "gus@example.com"))
    assert me(api, again.token)["user"]["id"] == me(api, token)["user"]["id"]
    # And with a password kept, the identity can be unlinked
    reply = api.call("DELETE", "/me/identities/oidc", token=token)
    assert reply.status == 204
    assert me(api, token)["identities"] == []


def test_connecting_without_a_session_lands_with_unauthorized(browser):
    assert browser.sign_in(start={"link": "true"}).error == "unauthorized"


def test_the_last_way_to_sign_in_cannot_be_unlinked(api, browser):
    token = browser.sign_in(**person("hal-1", "hal@example.com")).token
    # When the only identity of an account without a password is unlinked: 409
    reply = api.call("DELETE", "/me/identities/oidc", token=token)
    assert (reply.status, reply.error_code) == (409, "last_sign_in_method")
    # When it has two, one can go (by subject), but not the last
    browser.sign_in(**person("hal-2", "hal@example.com"))
    assert api.call("DELETE", "/me/identities/oidc?subject=hal-1", token=token).status == 204
    assert [i["subject"] for i in me(api, token)["identities"]] == ["hal-2"]
    reply = api.call("DELETE", "/me/identities/oidc", token=token)
    assert reply.error_code == "last_sign_in_method"
    # And unknown providers or identities are 404 with their codes
    assert api.call("DELETE", "/me/identities/nope", token=token).error_code == "unknown_provider"
    assert (
        api.call("DELETE", "/me/identities/github", token=token).error_code == "identity_not_found"
    )


def test_deleting_the_account_removes_its_identities(api, browser, dynamodb, settings):
    first = browser.sign_in(**person("ida", "ida@example.com"))
    user_id = me(api, first.token)["user"]["id"]
    assert api.call("DELETE", "/me", token=first.token).status == 204
    items = dynamodb.scan(TableName=settings.table_name("accounts"))["Items"]
    assert not [
        i for i in items if i["pk"]["S"].startswith(("oauth#", "email#")) or i["pk"]["S"] == user_id
    ]
    # And the same identity signs up afresh
    again = browser.sign_in(**person("ida", "ida@example.com"))
    assert again.fields["result"] == "created"
    assert me(api, again.token)["user"]["id"] != user_id


def test_github_signs_in_with_the_verified_primary_email(api, browser):
    verified = browser.sign_in("github", **person("4242", "jo@example.com"))
    profile = me(api, verified.token)
    assert profile["user"]["email"] == "jo@example.com"
    assert profile["identities"][0]["provider"] == "github"
    unverified = browser.sign_in("github", **person("4343", "kim@example.com", verified=False))
    assert me(api, unverified.token)["user"]["email"] is None


def test_unknown_providers_and_foreign_redirects_land_on_the_web_client(browser):
    unknown = browser.sign_in("facebook")
    assert unknown.error == "unknown_provider"
    assert unknown.url.startswith(f"{WEB}/#")
    foreign = browser.sign_in(start={"redirect": "https://evil.example.com/"})
    assert foreign.error == "invalid_redirect"
    assert foreign.url.startswith(f"{WEB}/#")


def _rebuild(monkeypatch, clock, environment):
    services = build_services(_configure(monkeypatch, environment), clock, RecordingSubscriptions())
    use_services(services)
    return services


def test_a_provider_that_is_down_lands_with_provider_unavailable(monkeypatch, api, browser, clock):
    # Given the stage's provider on a port nothing listens on
    _rebuild(monkeypatch, clock, {"USERDB_OAUTH_OIDC_ISSUER": f"http://127.0.0.1:{free_port()}"})
    # When a sign-in starts, it lands at once with provider_unavailable
    assert browser.sign_in().error == "provider_unavailable"


def test_a_provider_going_down_mid_sign_in_lands_with_provider_unavailable(
    monkeypatch, api, browser, clock
):
    # Given a provider of its own, which stops after the user logged in
    flaky = OidcTestProvider(CALLBACKS).start()
    try:
        _rebuild(monkeypatch, clock, flaky.app_environment())
        callback = browser.log_in_at_provider(browser.start(), **person(email="lee@example.com"))
    finally:
        flaky.stop()
    # When the callback exchanges the code
    landing = browser.finish(callback)
    # Then it lands with provider_unavailable, not an error page
    assert landing.error == "provider_unavailable"


def test_a_provider_too_slow_to_answer_lands_with_provider_unavailable(
    monkeypatch, api, browser, clock, provider
):
    # Given a 1-second timeout and a token endpoint that answers after 3 seconds
    _rebuild(monkeypatch, clock, {"USERDB_OAUTH_HTTP_TIMEOUT_SECONDS": "1"})
    monkeypatch.setattr(provider, "slow_seconds", 3.0)
    # When the callback exchanges the code
    landing = browser.sign_in(**person(fault="slow_token"))
    # Then the exchange gives up and lands with provider_unavailable
    assert landing.callback is not None  # the provider was reached; the token call timed out
    assert landing.error == "provider_unavailable"


def test_the_client_secret_can_come_from_ssm(monkeypatch, api, browser, clock, provider):
    # Given the secret in an SSM SecureString, named in the settings instead of given
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/userdb/test/oidc-secret", Value=provider.client.client_secret, Type="SecureString"
    )
    monkeypatch.delenv("USERDB_OAUTH_OIDC_CLIENT_SECRET")
    _rebuild(
        monkeypatch, clock, {"USERDB_OAUTH_OIDC_CLIENT_SECRET_NAME": "ssm:/userdb/test/oidc-secret"}
    )
    # When a user signs in, the provider accepts the client (it checks the secret)
    assert browser.sign_in(**person(email="max@example.com")).fields["result"] == "created"


def test_sign_in_logs_carry_the_outcome_and_never_secrets(browser, provider):
    # Given the service's log output captured with its own JSON formatter
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        authorize = browser.start()
        state = parse_qs(urlsplit(authorize).query)["state"][0]
        callback = browser.log_in_at_provider(authorize, **person(email="nia@example.com"))
        code = parse_qs(urlsplit(callback).query)["code"][0]
        landing = browser.finish(callback)
    finally:
        logger._logger.removeHandler(handler)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    # Then the callback's line says how it ended
    assert [line.get("outcome") for line in lines if line["message"] == "oauth redirect"] == [
        "redirected",
        "created",
    ]
    # And no token, code, state or client secret appears anywhere
    for secret in (landing.token, code, state, provider.client.client_secret):
        assert secret not in captured.getvalue()
