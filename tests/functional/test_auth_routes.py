"""/auth routes through chalice.test.Client against moto, every error named by the issue."""

import argon2
import pytest

from chalicelib.dal.items import AccountItem
from chalicelib.dal.tables import ACCOUNTS_SUFFIX, shared_table
from chalicelib.services import build_services, use_services

PASSWORD = "correct horse battery"


def signup_body(email="ann@example.com", password=PASSWORD, name="Ann"):
    return {"email": email, "password": password, "name": name}


def test_signup_returns_the_user_a_token_and_a_session_cookie(api):
    # When a new user signs up
    reply = api.call("POST", "/auth/signup", signup_body(email="  Ann@Example.COM "))
    # Then 201 with the normalised email, a 43-character token and an HttpOnly cookie
    assert reply.status == 201
    assert reply.json["user"]["email"] == "ann@example.com"
    assert reply.json["user"]["id"].startswith("usr_")
    assert len(reply.json["token"]) == 43
    cookie = reply.cookies[0]
    assert cookie.startswith(f"userdb_session={reply.json['token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the local stage serves plain http


def test_cookie_is_secure_outside_the_local_stage(api, settings, clock, subscriptions):
    use_services(build_services(settings.model_copy(update={"stage": "dev"}), clock, subscriptions))
    reply = api.call("POST", "/auth/signup", signup_body())
    assert "Secure" in reply.headers["set-cookie"]


def test_the_same_email_in_another_case_is_taken(api):
    assert api.call("POST", "/auth/signup", signup_body()).status == 201
    reply = api.call("POST", "/auth/signup", signup_body(email="ANN@example.com"))
    assert reply.status == 409
    assert reply.error_code == "email_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (signup_body(email="not-an-email"), "email"),
        (signup_body(password="short"), "password"),
        (signup_body(password="x" * 129), "password"),
        (signup_body(name=""), "name"),
        (signup_body(name="n" * 101), "name"),
        ({**signup_body(), "role": "admin"}, "role"),
        ({"email": "a@example.com", "password": PASSWORD}, "name"),
        ({**signup_body(), "password": 12345678}, "password"),
    ],
)
def test_invalid_signups_are_400_with_the_field_named(api, body, field):
    reply = api.call("POST", "/auth/signup", body)
    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert field in [detail["field"] for detail in reply.json["error"]["details"]]


def test_password_limits_are_inclusive(api):
    assert api.call("POST", "/auth/signup", signup_body("a@x.io", "p" * 8)).status == 201
    assert api.call("POST", "/auth/signup", signup_body("b@x.io", "p" * 128)).status == 201


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "malformed_json"),
        ("[1, 2]", 400, "validation_error"),
        ('"a string"', 400, "validation_error"),
        ("", 400, "validation_error"),
    ],
)
def test_bodies_that_are_not_json_objects_get_stable_codes(api, raw, status, code):
    reply = api.call("POST", "/auth/signup", raw=raw)
    assert (reply.status, reply.error_code) == (status, code)


def test_oversize_body_is_413_and_creates_nothing(api):
    huge = {**signup_body(), "name": "n" * (257 * 1024)}
    reply = api.call("POST", "/auth/signup", huge)
    assert reply.status == 413
    assert reply.error_code == "payload_too_large"
    assert (
        api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).status
        == 401
    )


def test_non_json_content_type_is_415(api):
    reply = api.call("POST", "/auth/signup", signup_body(), headers={"Content-Type": "text/plain"})
    assert (reply.status, reply.error_code) == (415, "unsupported_media_type")


def test_wrong_method_gets_our_error_shape(api):
    reply = api.call("PUT", "/auth/login", signup_body())
    assert reply.status == 405
    assert reply.error_code == "method_not_allowed"


def test_login_returns_a_new_session(api):
    first = api.signup("ann@example.com", PASSWORD)
    reply = api.call("POST", "/auth/login", {"email": "ANN@example.com", "password": PASSWORD})
    assert reply.status == 200
    assert reply.json["token"] != first
    assert api.call("GET", "/me", token=reply.json["token"]).status == 200


def test_unknown_email_and_wrong_password_get_the_same_answer(api):
    api.signup("ann@example.com", PASSWORD)
    wrong = api.call("POST", "/auth/login", {"email": "ann@example.com", "password": "nope nope"})
    unknown = api.call("POST", "/auth/login", {"email": "bob@example.com", "password": PASSWORD})
    assert wrong.status == unknown.status == 401
    assert wrong.json == unknown.json
    assert wrong.error_code == "invalid_credentials"


def test_five_failures_lock_the_account_with_a_growing_retry_after(api, clock):
    api.signup("ann@example.com", PASSWORD)
    bad = {"email": "ann@example.com", "password": "wrong password"}
    good = {"email": "ann@example.com", "password": PASSWORD}
    for _ in range(5):
        assert api.call("POST", "/auth/login", bad).status == 401
    # Locked: even the right password is refused, with Retry-After
    locked = api.call("POST", "/auth/login", good)
    assert locked.status == 429
    assert locked.error_code == "too_many_attempts"
    first_wait = int(locked.headers["retry-after"])
    assert first_wait == 900
    # After the lockout, five more failures lock for longer
    clock.advance(first_wait)
    for _ in range(5):
        assert api.call("POST", "/auth/login", bad).status == 401
    second = api.call("POST", "/auth/login", good)
    assert int(second.headers["retry-after"]) > first_wait
    # Unknown emails are throttled the same way (no way to tell them apart)
    for _ in range(5):
        api.call("POST", "/auth/login", {"email": "ghost@example.com", "password": "x" * 8})
    assert (
        api.call("POST", "/auth/login", {"email": "ghost@example.com", "password": "x" * 8}).status
        == 429
    )


def test_login_rehashes_when_the_cost_grows(api, settings, clock, services, subscriptions):
    api.signup("ann@example.com", PASSWORD)
    accounts = shared_table(settings, ACCOUNTS_SUFFIX).model(AccountItem)

    def stored_time_cost():
        item = next(i for i in accounts.scan() if i.pk.startswith("usr_"))
        return argon2.extract_parameters(item.password_hash).time_cost

    assert stored_time_cost() == 2
    # Given the stage now asks for three passes
    stronger = settings.model_copy(update={"argon2_time_cost": 3})
    use_services(build_services(stronger, clock, subscriptions))
    # When the user logs in
    reply = api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD})
    # Then the stored hash was upgraded and still verifies
    assert reply.status == 200
    assert stored_time_cost() == 3
    assert (
        api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).status
        == 200
    )


def test_session_and_logout(api):
    token = api.signup("ann@example.com")
    reply = api.call("GET", "/auth/session", token=token)
    assert reply.status == 200
    assert reply.json["user"]["email"] == "ann@example.com"
    assert reply.json["session"]["current"] is True
    # When logging out
    out = api.call("POST", "/auth/logout", token=token)
    assert out.status == 204
    assert "Max-Age=0" in out.headers["set-cookie"]
    # Then the token is rejected everywhere
    assert api.call("GET", "/auth/session", token=token).status == 401
    assert api.call("GET", "/me", token=token).error_code == "unauthorized"


def test_expired_session_is_rejected(api, clock):
    token = api.signup()
    clock.advance(7 * 86_400 + 1)
    assert api.call("GET", "/auth/session", token=token).status == 401


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer nope", "Basic abc", "Bearer " + "x" * 5000]
)
def test_missing_or_bad_credentials_are_401(api, authorization):
    reply = api.call("GET", "/me", headers={"Authorization": authorization})
    assert (reply.status, reply.error_code) == (401, "unauthorized")


def test_list_and_revoke_sessions(api):
    first = api.signup("ann@example.com", PASSWORD)
    second = api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD})
    second_token = second.json["token"]
    sessions = api.call("GET", "/auth/sessions", token=first).json["sessions"]
    assert len(sessions) == 2
    current = [s for s in sessions if s["current"]]
    other = [s for s in sessions if not s["current"]]
    assert len(current) == len(other) == 1
    assert "token" not in str(sessions)
    # When the other session is revoked
    assert api.call("DELETE", f"/auth/sessions/{other[0]['id']}", token=first).status == 204
    # Then its token stops working and this one does not
    assert api.call("GET", "/me", token=second_token).status == 401
    assert api.call("GET", "/me", token=first).status == 200
    assert api.call("DELETE", "/auth/sessions/ses_doesnotexist0000", token=first).status == 404


def test_a_user_cannot_revoke_another_users_session(api):
    ann = api.signup("ann@example.com")
    bob = api.signup("bob@example.com")
    bob_session = api.call("GET", "/auth/session", token=bob).json["session"]["id"]
    reply = api.call("DELETE", f"/auth/sessions/{bob_session}", token=ann)
    assert reply.status == 404
    assert api.call("GET", "/me", token=bob).status == 200
