"""Attacks on sign-in through the REST API (docs/security.md): login CSRF, non-JSON bodies,
password spraying from one address, lock-outs of the owner, security headers, and what
the timing of a login could tell."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest

from chalicelib.dal.items import shared_connection
from chalicelib.services import build_services, use_services

PASSWORD = "correct horse battery"
WEB_ORIGIN = "http://127.0.0.1:8000"


def login_body(email: str = "ann@example.com", password: str = PASSWORD) -> dict[str, str]:
    return {"email": email, "password": password}


def cookies_of(reply: Any) -> dict[str, str]:
    jar: dict[str, str] = {}
    for header in reply.cookies:
        jar.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})
    return jar


# ---- login CSRF: the body's type and the page's origin ----


def test_a_login_with_no_content_type_is_415_and_signs_nobody_in(api):
    # Given an account
    api.signup("ann@example.com", PASSWORD)
    # When a page of another site posts the login as a body with no type (no preflight)
    reply = api.call(
        "POST",
        "/auth/login",
        raw=json.dumps(login_body()),
        content_type=None,
        headers={"Origin": "https://evil.example"},
    )
    # Then it is refused as not JSON, and no session cookie is set
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")
    assert reply.cookies == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "text/json", "application/jsonx"],
)
def test_bodies_of_other_types_are_415(api, content_type):
    api.signup("ann@example.com", PASSWORD)
    reply = api.call(
        "POST", "/auth/login", raw=json.dumps(login_body()), headers={"Content-Type": content_type}
    )
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")


def test_json_with_a_charset_is_json(api):
    api.signup("ann@example.com", PASSWORD)
    reply = api.call(
        "POST",
        "/auth/login",
        login_body(),
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert reply.status == 200


def test_a_route_that_ignores_its_body_still_refuses_a_non_json_one(api):
    token = api.signup()
    reply = api.call(
        "POST", "/auth/logout", raw="x=1", token=token, headers={"Content-Type": "text/plain"}
    )
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")
    # Still signed in: the route did not run
    assert api.call("GET", "/auth/session", token=token).status == 200


@pytest.mark.parametrize("path", ["/auth/signup", "/auth/login"])
@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://127.0.0.1:8000.evil.io"]
)
def test_sign_up_and_login_refuse_a_foreign_origin(api, path, origin):
    body = {**login_body(), "name": "Ann"} if path == "/auth/signup" else login_body()
    if path == "/auth/login":
        api.signup("ann@example.com", PASSWORD)
    reply = api.call("POST", path, body, headers={"Origin": origin})
    assert (reply.status, reply.error_code) == (403, "origin_mismatch")
    assert reply.cookies == []


def test_a_refused_sign_up_creates_nothing(api):
    body = {**login_body(), "name": "Ann"}
    assert (
        api.call("POST", "/auth/signup", body, headers={"Origin": "https://evil.example"}).status
        == 403
    )
    assert api.call("POST", "/auth/signup", body).status == 201


@pytest.mark.parametrize("origin", [WEB_ORIGIN, None])
def test_the_apps_own_origin_and_clients_without_one_sign_in(api, origin):
    api.signup("ann@example.com", PASSWORD)
    headers = {"Origin": origin} if origin else {}
    assert api.call("POST", "/auth/login", login_body(), headers=headers).status == 200


# ---- throttling: per address, and trusted devices ----


def test_spraying_many_accounts_from_one_address_is_limited(api):
    # Given 21 accounts (every request of the test client comes from 127.0.0.1)
    emails = [f"user{n}@example.com" for n in range(21)]
    for email in emails:
        api.signup(email, PASSWORD)
    # When one wrong password is tried on each
    statuses = [
        api.call("POST", "/auth/login", login_body(e, "Winter2026!")).status for e in emails
    ]
    # Then the address gets 20 answers, then 429
    assert statuses == [401] * 20 + [429]


def test_sign_up_and_login_give_the_device_a_token_cookie_and_body(api):
    reply = api.call("POST", "/auth/signup", {**login_body(), "name": "Ann"})
    device = cookies_of(reply)["userdb_device"]
    assert device == reply.json["device_token"]
    (header,) = [c for c in reply.cookies if c.startswith("userdb_device=")]
    assert "HttpOnly" in header and "SameSite=Strict" in header
    # A login from that device keeps its token; one from a new device gets another
    again = api.call(
        "POST", "/auth/login", login_body(), headers={"Cookie": f"userdb_device={device}"}
    )
    assert again.json["device_token"] == device
    fresh = api.call("POST", "/auth/login", login_body())
    assert fresh.json["device_token"] not in (None, device)


@pytest.mark.parametrize("carrier", ["cookie", "body"])
def test_the_owners_device_signs_in_while_others_locked_the_email(api, carrier):
    # Given Ann's device token, and five wrong passwords from someone else
    device = api.call("POST", "/auth/signup", {**login_body(), "name": "Ann"}).json["device_token"]
    for _ in range(5):
        api.call("POST", "/auth/login", login_body(password="guessing"))
    assert api.call("POST", "/auth/login", login_body()).status == 429
    # When Ann signs in from her device
    if carrier == "cookie":
        reply = api.call(
            "POST", "/auth/login", login_body(), headers={"Cookie": f"userdb_device={device}"}
        )
    else:
        reply = api.call("POST", "/auth/login", {**login_body(), "device_token": device})
    # Then she is in
    assert reply.status == 200


def test_a_forged_device_token_is_no_trust(api):
    api.signup("ann@example.com", PASSWORD)
    for _ in range(5):
        api.call("POST", "/auth/login", login_body(password="guessing"))
    reply = api.call("POST", "/auth/login", {**login_body(), "device_token": "x" * 43})
    assert reply.status == 429


# ---- security headers on API replies ----

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/me", 401),
        ("PUT", "/auth/login", 405),
        ("POST", "/auth/login", 415),
    ],
)
def test_every_reply_carries_the_security_headers(api, method, path, status):
    headers = {"Content-Type": "text/plain"} if status == 415 else {}
    reply = api.call(method, path, raw="{}", headers=headers)
    assert reply.status == status
    for name, value in SECURITY_HEADERS.items():
        assert reply.headers[name] == value
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    assert "strict-transport-security" not in reply.headers  # the local stage is plain http


def test_hsts_outside_the_local_stage(api, settings, clock, subscriptions):
    use_services(build_services(settings.model_copy(update={"stage": "dev"}), clock, subscriptions))
    reply = api.call("GET", "/health")
    assert reply.headers["strict-transport-security"].startswith("max-age=")


# ---- timing: an unknown email does the work of a known one ----


def test_an_unknown_email_makes_the_same_dynamodb_calls_as_a_wrong_password(api, settings):
    api.signup("ann@example.com", PASSWORD)
    # (one failure first, so that the address's counter is in the same state for both)
    api.call("POST", "/auth/login", login_body("first@example.com", "wrong password"))
    client = shared_connection(settings.region, settings.dynamodb_endpoint).client
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", record)
    try:
        api.call("POST", "/auth/login", login_body(password="wrong password"))
        known, calls[:] = list(calls), []
        api.call("POST", "/auth/login", login_body("nobody@example.com", "wrong password"))
        unknown = list(calls)
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)
    assert known == unknown
    assert known.count("GetItem") >= 2


# ---- emails: look-alikes are the same email ----


@pytest.mark.parametrize(
    "look_alike",
    [
        "\uff41nn@example.com",  # full-width a
        "ann@\uff45xample.com",  # full-width e in the domain
        "ANN@EXAMPLE.COM",
        "ann@EXAMPLE.com ",
    ],
)
def test_an_email_that_only_looks_different_is_taken(api, look_alike):
    assert api.call("POST", "/auth/signup", {**login_body(), "name": "Ann"}).status == 201
    reply = api.call("POST", "/auth/signup", {**login_body(look_alike), "name": "Eve"})
    assert (reply.status, reply.error_code) == (409, "email_taken")
    # And it signs in to the same account
    assert api.call("POST", "/auth/login", login_body(look_alike)).status == 200


def test_the_full_width_form_is_stored_as_plain_ascii(api):
    reply = api.call(
        "POST", "/auth/signup", {**login_body("\uff44\uff41\uff4e@example.com"), "name": "Dan"}
    )
    assert reply.json["user"]["email"] == "dan@example.com"


@pytest.mark.parametrize(
    "domain",
    ["ab\u05d0.com", "a\u00b7b.com", "\u30fb.com", "xn--a.com", "ex\u200dample.com"],
)
def test_a_domain_that_is_not_valid_idna_is_refused(api, domain):
    reply = api.call("POST", "/auth/signup", {**login_body(f"ann@{domain}"), "name": "Ann"})
    assert (reply.status, reply.error_code) == (400, "validation_error")


def test_a_valid_international_domain_is_one_account_in_either_form(api):
    assert (
        api.call("POST", "/auth/signup", {**login_body("ann@bücher.de"), "name": "A"}).status == 201
    )
    again = api.call("POST", "/auth/signup", {**login_body("ann@xn--bcher-kva.de"), "name": "A"})
    assert again.status == 409
