"""The pure rules of OAuth sign-in: redirect validation, the landing URL, linking decisions."""

from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.errors import AccountExistsError, IdentityInUseError, InvalidRedirectError
from chalicelib.logic.oauth import (
    decide_sign_in,
    display_name,
    landing_url,
    normalise_origin,
    profile_image,
    safe_redirect,
)
from chalicelib.models.accounts import Account
from chalicelib.models.identities import ProviderIdentity

ALLOWED = ("https://app.example.com", "http://127.0.0.1:8000")
DEFAULT = "https://app.example.com/"


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (None, DEFAULT),
        ("", DEFAULT),
        ("https://app.example.com", "https://app.example.com/"),
        ("https://app.example.com/notes?tab=2", "https://app.example.com/notes?tab=2"),
        ("https://APP.example.com:443/x", "https://APP.example.com:443/x"),
        ("https://app.example.com/x#old-fragment", "https://app.example.com/x"),
        ("http://127.0.0.1:8000/index.html", "http://127.0.0.1:8000/index.html"),
    ],
)
def test_redirects_on_allowed_origins_are_kept(candidate, expected):
    # When a page on an allowed origin (or none) is asked for
    # Then it is where the sign-in lands, its fragment dropped
    assert safe_redirect(candidate, ALLOWED, DEFAULT) == expected


@pytest.mark.parametrize(
    "candidate",
    [
        "https://evil.example.com/",
        "https://app.example.com.evil.com/",
        "https://app.example.com@evil.com/",
        "https://user:pw@app.example.com/",
        "//evil.com/",
        "/relative/path",
        "https:evil.com",
        "javascript:alert(1)",
        "http://app.example.com/",  # scheme is part of the origin
        "https://app.example.com:8443/",  # so is the port
        "http://127.0.0.1:8001/",
        "https://app.example.com\\@evil.com/",
        "https://app.exa\tmple.com/",
        "https://app.example.com:99999/",
        "ftp://app.example.com/",
    ],
)
def test_redirects_anywhere_else_are_refused(candidate):
    # When a page off the allowed origins is asked for
    # Then the request is refused: no open redirect
    with pytest.raises(InvalidRedirectError):
        safe_redirect(candidate, ALLOWED, DEFAULT)


def test_origins_compare_as_browsers_send_them():
    assert normalise_origin("HTTPS://App.Example.com:443/") == "https://app.example.com"
    assert normalise_origin("http://127.0.0.1:8000") == "http://127.0.0.1:8000"


def test_landing_url_puts_the_result_in_the_fragment_never_the_query():
    # When a landing URL is built for a page with a query string
    url = landing_url("https://app.example.com/notes?tab=2", {"token": "t0k", "result": "created"})
    parts = urlsplit(url)
    # Then the page and its query are kept and the result is only in the fragment
    assert parts.query == "tab=2"
    assert parse_qs(parts.fragment) == {"token": ["t0k"], "result": ["created"]}
    assert "t0k" not in parts.query


def vouched(email="ann@example.com", verified=True, subject="s1"):
    return ProviderIdentity(
        provider="google", subject=subject, email=email, email_verified=verified, name="Ann"
    )


def account(user_id="usr_a", email_verified=True):
    return Account(
        id=user_id,
        email="ann@example.com",
        email_verified=email_verified,
        name="Ann",
        created=1,
        updated=1,
    )


def test_a_known_identity_signs_in_to_its_account():
    decision = decide_sign_in(vouched(), owner="usr_a", link_user_id=None, email_account=None)
    assert (decision.action, decision.user_id) == ("sign_in", "usr_a")


def test_a_new_identity_with_a_verified_unknown_email_creates_an_account_claiming_it():
    decision = decide_sign_in(vouched(), owner=None, link_user_id=None, email_account=None)
    assert (decision.action, decision.claim_email) == ("create", True)


def test_a_verified_email_of_a_verified_account_links_to_it():
    decision = decide_sign_in(vouched(), owner=None, link_user_id=None, email_account=account())
    assert (decision.action, decision.user_id) == ("link", "usr_a")


def test_a_verified_email_never_takes_over_an_account_whose_email_was_never_proven():
    # Given an account made by password sign-up (its email never verified)
    existing = account(email_verified=False)
    # When an identity with the same, verified, email signs in
    decision = decide_sign_in(vouched(), owner=None, link_user_id=None, email_account=existing)
    # Then it is refused: the owner signs in with the password and connects the provider
    assert decision.action == "refuse"
    assert isinstance(decision.refusal, AccountExistsError)


@pytest.mark.parametrize("email", [None, "ann@example.com"])
def test_an_unverified_email_never_links_nor_claims(email):
    # When an identity with an unverified (or no) email signs in; even if an account holds it
    decision = decide_sign_in(
        vouched(email=email, verified=False),
        owner=None,
        link_user_id=None,
        email_account=account(),
    )
    # Then a separate account is created, without the email
    assert (decision.action, decision.claim_email) == ("create", False)


def test_connecting_links_a_new_identity_to_the_signed_in_account_whatever_its_email():
    decision = decide_sign_in(
        vouched(email="other@example.com", verified=False),
        owner=None,
        link_user_id="usr_me",
        email_account=None,
    )
    assert (decision.action, decision.user_id) == ("link", "usr_me")


def test_connecting_an_identity_of_another_account_is_refused():
    decision = decide_sign_in(
        vouched(), owner="usr_other", link_user_id="usr_me", email_account=None
    )
    assert isinstance(decision.refusal, IdentityInUseError)


def test_connecting_an_identity_already_linked_to_the_caller_is_harmless():
    decision = decide_sign_in(vouched(), owner="usr_me", link_user_id="usr_me", email_account=None)
    assert (decision.action, decision.user_id) == ("sign_in", "usr_me")


def test_new_accounts_get_a_name_and_only_web_images():
    assert display_name(vouched(), "Google") == "Ann"
    nameless = ProviderIdentity(provider="github", subject="1", email="bo@example.com")
    assert display_name(nameless, "GitHub") == "bo"
    assert display_name(ProviderIdentity(provider="x", subject="1"), "GitHub") == "GitHub user"
    assert profile_image(ProviderIdentity(provider="x", subject="1", picture="data:x")) is None
    pictured = ProviderIdentity(provider="x", subject="1", picture="https://img.test/a.png")
    assert profile_image(pictured) == "https://img.test/a.png"
