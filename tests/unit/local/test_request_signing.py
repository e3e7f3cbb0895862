"""The runtime's control APIs take only requests signed with its local credentials."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.local.request_signing import (
    BAD_SIGNATURE,
    EXPIRED,
    LOCAL_KEY,
    MISSING,
    UNKNOWN_KEY,
    WRONG_HOST,
    ReceivedRequest,
    SigningKey,
    verify,
)

HOST = "127.0.0.1:8001"
URL = f"http://{HOST}/local/@connections/abc%3D"


def signed(
    body: bytes = b'{"type":"pong"}', key: SigningKey = LOCAL_KEY, url: str = URL
) -> ReceivedRequest:
    """A request as boto3 signs it (botocore's signer, now), as the gateway receives it."""
    request = AWSRequest(method="POST", url=url, data=body)
    credentials = Credentials(key.access_key, key.secret_key)
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    headers["host"] = url.split("/")[2]
    return ReceivedRequest("POST", url, headers, body)


def check(
    request: ReceivedRequest, hosts: set[str] | None = None, later: dt.timedelta | None = None
):
    now = dt.datetime.now(dt.UTC) + (later or dt.timedelta())
    return verify(request, key=LOCAL_KEY, hosts=hosts or {HOST}, now=now)


def test_a_request_signed_with_the_local_credentials_passes():
    assert check(signed()) is None


def test_an_unsigned_request_is_refused():
    request = ReceivedRequest("POST", URL, {"host": HOST}, b"{}")
    assert check(request) == MISSING


def test_another_key_is_refused():
    assert check(signed(key=SigningKey("someone", "else"))) == UNKNOWN_KEY
    assert check(signed(key=SigningKey("local", "guessed"))) == BAD_SIGNATURE


def test_a_changed_body_or_path_is_refused():
    request = signed()
    assert check(ReceivedRequest("POST", URL, request.headers, b'{"type":"evil"}')) == BAD_SIGNATURE
    other = URL.replace("abc", "xyz")
    assert check(ReceivedRequest("POST", other, request.headers, request.body)) == BAD_SIGNATURE


def test_another_host_is_refused_even_well_signed():
    # A page that rebinds its own name to 127.0.0.1 signs for its name, not ours
    rebound = signed(url="http://evil.example:8001/local/@connections/abc%3D")
    assert check(rebound) == WRONG_HOST


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_stale_or_future_signature_is_refused(minutes):
    request = signed()
    assert check(request, later=dt.timedelta(minutes=minutes)) == EXPIRED
    assert check(request, later=dt.timedelta(minutes=minutes / 2)) is None
