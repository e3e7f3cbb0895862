"""/me and cookie authentication through chalice.test.Client against moto."""

import pytest

PASSWORD = "correct horse battery"


def test_get_and_patch_me(api):
    token = api.signup("ann@example.com")
    reply = api.call(
        "PATCH", "/me", {"name": "  Ann B ", "image": "https://img.example.com/a.png"}, token=token
    )
    assert reply.status == 200
    user = reply.json["user"]
    assert user["name"] == "Ann B"
    assert user["image"] == "https://img.example.com/a.png"
    assert user["updated"] >= user["created"]
    assert api.call("GET", "/me", token=token).json["user"] == user


@pytest.mark.parametrize(
    "body",
    [
        {"image": "javascript:alert(1)"},
        {"image": "https://x.io/" + "a" * 2100},
        {"name": ""},
        {"name": "n" * 101},
        {"email": "new@example.com"},
        {"role": "admin"},
    ],
)
def test_invalid_profile_changes_are_400_and_change_nothing(api, body):
    token = api.signup("ann@example.com")
    before = api.call("GET", "/me", token=token).json
    reply = api.call("PATCH", "/me", body, token=token)
    assert reply.status == 400
    assert reply.error_code == "validation_error"
    assert api.call("GET", "/me", token=token).json == before


def test_delete_me_removes_the_account_and_its_sessions(api):
    token = api.signup("ann@example.com", PASSWORD)
    other = api.call(
        "POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}
    ).json["token"]
    # When the account is deleted
    assert api.call("DELETE", "/me", token=token).status == 204
    # Then every session is gone and the email can sign up again
    assert api.call("GET", "/me", token=token).status == 401
    assert api.call("GET", "/me", token=other).status == 401
    assert (
        api.call("POST", "/auth/login", {"email": "ann@example.com", "password": PASSWORD}).status
        == 401
    )
    assert (
        api.call(
            "POST", "/auth/signup", {"email": "ann@example.com", "password": PASSWORD, "name": "A"}
        ).status
        == 201
    )


def cookie(token):
    return {"Cookie": f"userdb_session={token}"}


def test_cookie_authenticates_reads(api):
    token = api.signup("ann@example.com")
    assert api.call("GET", "/me", headers=cookie(token)).status == 200


@pytest.mark.parametrize(
    "origin", [None, "https://evil.example.com", "http://127.0.0.1:8000.evil.io"]
)
def test_cookie_writes_need_a_trusted_origin(api, origin):
    token = api.signup("ann@example.com")
    headers = cookie(token) | ({"Origin": origin} if origin else {})
    reply = api.call("PATCH", "/me", {"name": "Mallory"}, headers=headers)
    assert (reply.status, reply.error_code) == (403, "origin_mismatch")
    assert api.call("GET", "/me", token=token).json["user"]["name"] != "Mallory"


def test_cookie_writes_from_the_web_client_origin_pass(api):
    token = api.signup("ann@example.com")
    headers = cookie(token) | {"Origin": "http://127.0.0.1:8000"}
    assert api.call("PATCH", "/me", {"name": "Ann"}, headers=headers).status == 200
    assert api.call("POST", "/auth/logout", headers=headers).status == 204


def test_bearer_writes_need_no_origin(api):
    token = api.signup("ann@example.com")
    assert api.call("PATCH", "/me", {"name": "Ann"}, token=token).status == 200


def test_health(api):
    reply = api.call("GET", "/health")
    assert reply.status == 200
    assert reply.json["status"] == "ok"
