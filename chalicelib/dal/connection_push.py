"""Posting to and closing WebSocket connections through API Gateway's @connections API."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import boto3
import botocore.session
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

# Throttling and transient faults are retried here, with backoff and jitter;
# botocore's own retries are off so the delays are ours and bounded.
RETRYABLE = frozenset(
    {
        "LimitExceededException",
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalServerError",
    }
)


# Statuses worth another attempt: throttling, API Gateway's own errors, and no answer (0).
TRANSIENT_STATUSES = frozenset({0, 429, 500, 502, 503, 504})
# Connections kept alive to the endpoint: as many as posts go out at once (logic/posting.py).
POOL_SIZE = 50


class ConnectionGoneError(Exception):
    """The connection is closed or unknown (410 GoneException)."""


class PushFailedError(Exception):
    """The message could not be delivered after the retries."""


class SignedPoster:
    """`POST @connections/{id}` as API Gateway takes it: signed by botocore's SigV4 signer,
    sent on a kept-alive urllib3 pool.

    What boto3's `post_to_connection` sends, at a third of its CPU: the client's event
    hooks, serialisers and parsers cost about 0.8 ms a call here, which a fan-out to a
    user's many devices pays per post (on a 512 MB Lambda, a third of a vCPU, three
    times over). Errors are told apart by status and `x-amzn-ErrorType`, as botocore does.
    """

    def __init__(
        self, endpoint: str, region: str, timeout: urllib3.Timeout, pool_size: int
    ) -> None:
        self._base = endpoint.rstrip("/")
        self._region = region
        self._pool = urllib3.PoolManager(maxsize=pool_size, retries=False, timeout=timeout)
        # The function's credentials (its role's, from the environment), refreshed as needed.
        self._credentials = botocore.session.get_session().get_credentials()

    def post(self, connection_id: str, data: bytes) -> tuple[int, str]:
        """Send one message; the status and the error's type ("" on success)."""
        url = f"{self._base}/@connections/{quote(connection_id, safe='')}"
        request = AWSRequest(method="POST", url=url, data=data)
        if self._credentials is not None:
            frozen = self._credentials.get_frozen_credentials()
            SigV4Auth(frozen, "execute-api", self._region).add_auth(request)
        response = self._pool.request("POST", url, body=data, headers=dict(request.headers.items()))
        error_type = str(response.headers.get("x-amzn-ErrorType", "")).split(":", 1)[0]
        return response.status, error_type


class ConnectionPush:
    """The @connections API of one WebSocket API stage endpoint."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        *,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        connect_timeout_s: float = 60.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        self.endpoint = endpoint
        self._region = region
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._client: Any = None
        self._poster: SignedPoster | None = None
        self._lock = threading.Lock()

    def _signed(self) -> SignedPoster:
        with self._lock:
            if self._poster is None:
                timeout = urllib3.Timeout(connect=self._timeouts[0], read=self._timeouts[1])
                self._poster = SignedPoster(self.endpoint, self._region, timeout, POOL_SIZE)
            return self._poster

    def _api(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = boto3.client(
                    "apigatewaymanagementapi",
                    endpoint_url=self.endpoint,
                    region_name=self._region,
                    # One HTTP attempt per call: botocore's `max_attempts` counts retries
                    # (1 adds one, after up to a second of botocore's own backoff).
                    config=Config(
                        retries={"total_max_attempts": 1},
                        max_pool_connections=POOL_SIZE,
                        connect_timeout=self._timeouts[0],
                        read_timeout=self._timeouts[1],
                    ),
                )
            return self._client

    def post(self, connection_id: str, data: bytes) -> None:
        """Deliver one message: ConnectionGoneError if closed, PushFailedError if failing
        (throttling, 5xx and network errors are retried first, `attempts` in all)."""
        for attempt in range(self._attempts):
            try:
                status, code = self._signed().post(connection_id, data)
            except urllib3.exceptions.HTTPError as error:
                status, code = 0, type(error).__name__
            if 200 <= status < 300:
                return
            if status == 410 or code == "GoneException":
                raise ConnectionGoneError(connection_id)
            transient = status in TRANSIENT_STATUSES or code in RETRYABLE
            if not transient or attempt == self._attempts - 1:
                raise PushFailedError(f"{connection_id}: {status} {code}".rstrip())
            self._sleep(self._base_delay * 2**attempt * (0.5 + random.random()))  # noqa: S311
        raise PushFailedError(connection_id)  # pragma: no cover - the loop returns or raises

    def close(self, connection_id: str) -> None:
        """Close the connection (API Gateway then fires $disconnect); already gone is fine."""
        try:
            self._api().delete_connection(ConnectionId=connection_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "GoneException":
                raise
