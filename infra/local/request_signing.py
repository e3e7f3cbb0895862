"""Requests to the runtime's own control APIs must be signed with its local credentials.

The `@connections` management API and `/@faults` used to answer anyone who could reach
the port, a web page included (a POST with a simple body needs no preflight). AWS's
management API takes only SigV4-signed requests; so does this one now, with the
credentials the runtime gives the app (`LOCAL_CREDENTIALS`, which boto3 signs with
already). The signature is checked with botocore's own signer, over the request as it
arrived, and the signed Host must be one the runtime serves (a page that rebinds its
own name to 127.0.0.1 is still another host). No I/O here.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# What the runtime gives the app and accepts on its control APIs (docs/local-runtime.md).
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
# How far a request's X-Amz-Date may be from now (AWS allows 5 minutes).
MAX_SKEW = dt.timedelta(minutes=5)

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: API Gateway's error type (x-amzn-ErrorType) and message."""

    error_type: str
    message: str


MISSING = Refusal("MissingAuthenticationTokenException", "Missing Authentication Token")
UNKNOWN_KEY = Refusal(
    "UnrecognizedClientException", "The security token included in the request is invalid."
)
BAD_SIGNATURE = Refusal(
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided.",
)
EXPIRED = Refusal("InvalidSignatureException", "Signature expired: X-Amz-Date is too far from now.")
WRONG_HOST = Refusal("InvalidSignatureException", "The signed Host is not this endpoint.")


@dataclass(frozen=True)
class SigningKey:
    access_key: str
    secret_key: str


LOCAL_KEY = SigningKey(
    LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
)


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as it arrived: `url` as the client sent it (`http://host/raw/path?query`),
    `headers` with lower-case names, `body` the raw payload."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


def signed_headers(
    method: str, url: str, body: bytes, key: SigningKey = LOCAL_KEY, region: str = "us-east-1"
) -> dict[str, str]:
    """The headers that sign a request to the runtime's control APIs (SigV4, botocore's
    signer, `execute-api`): what boto3 sends, for callers that are not boto3 clients."""
    request = AWSRequest(method=method, url=url, data=body)
    signer = SigV4Auth(Credentials(key.access_key, key.secret_key), "execute-api", region)
    signer.add_auth(request)
    return dict(request.headers.items())


def verify(
    request: ReceivedRequest, *, key: SigningKey, hosts: Collection[str], now: dt.datetime
) -> Refusal | None:
    """None if `request` is signed with `key` (SigV4, any region and service) for one of
    `hosts`, within `MAX_SKEW` of `now`; otherwise why not."""
    match = _AUTHORIZATION.match(request.headers.get("authorization", ""))
    if match is None:
        return MISSING
    refusal = _scope_refusal(request, match, key, hosts, now)
    if refusal is not None:
        return refusal
    if not hmac.compare_digest(_expected_signature(request, match, key), match["signature"]):
        return BAD_SIGNATURE
    return None


def _scope_refusal(
    request: ReceivedRequest,
    match: re.Match[str],
    key: SigningKey,
    hosts: Collection[str],
    now: dt.datetime,
) -> Refusal | None:
    """The key, host and time the signature claims, checked before computing it."""
    if not hmac.compare_digest(match["key"], key.access_key):
        return UNKNOWN_KEY
    if "host" not in match["headers"].split(";") or request.headers.get("host") not in hosts:
        return WRONG_HOST
    stamp = request.headers.get("x-amz-date", "")
    try:
        signed_at = dt.datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=dt.UTC)
    except ValueError:
        return EXPIRED
    if abs(now - signed_at) > MAX_SKEW or stamp[:8] != match["date"]:
        return EXPIRED
    return None


def _expected_signature(request: ReceivedRequest, match: re.Match[str], key: SigningKey) -> str:
    """What botocore computes for the request as it arrived, with the claimed scope."""
    # Only what the client signed, as it sent it: botocore then computes what it computed.
    # (A client-chosen X-Amz-Content-SHA256 would stand in for the body: left out.)
    signed = [name for name in match["headers"].split(";") if name != "x-amz-content-sha256"]
    rebuilt = AWSRequest(
        method=request.method,
        url=request.url,
        data=request.body,
        headers={name: request.headers.get(name, "") for name in signed},
    )
    rebuilt.context["timestamp"] = request.headers.get("x-amz-date", "")
    signer = SigV4Auth(
        Credentials(key.access_key, key.secret_key), match["service"], match["region"]
    )
    canonical = signer.canonical_request(rebuilt)
    return str(signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt))
