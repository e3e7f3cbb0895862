"""Posting to and closing WebSocket connections through API Gateway's @connections API."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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
        self._lock = threading.Lock()

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
                self._api().post_to_connection(ConnectionId=connection_id, Data=data)
                return
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            except BotoCoreError as error:  # no answer: timeouts, refused connections
                code, status = type(error).__name__, 0
            if code == "GoneException":
                raise ConnectionGoneError(connection_id)
            transient = status in TRANSIENT_STATUSES or code in RETRYABLE
            if not transient or attempt == self._attempts - 1:
                raise PushFailedError(f"{connection_id}: {status} {code}")
            self._sleep(self._base_delay * 2**attempt * (0.5 + random.random()))  # noqa: S311
        raise PushFailedError(connection_id)  # pragma: no cover - the loop returns or raises

    def close(self, connection_id: str) -> None:
        """Close the connection (API Gateway then fires $disconnect); already gone is fine."""
        try:
            self._api().delete_connection(ConnectionId=connection_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "GoneException":
                raise
