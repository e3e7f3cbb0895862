"""JSON over HTTP with the standard library, and the API's errors as typed exceptions."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

from userdb import __version__
from userdb.errors import NetworkError, ProtocolError, TenantProvisioningError, api_error

USER_AGENT = f"userdb-python/{__version__}"


@dataclass(frozen=True)
class Reply:
    """An answer: status, headers and the parsed JSON body."""

    status: int
    headers: Mapping[str, str]
    body: Any


def api_root(base_url: str, api_prefix: str | None = None) -> str:
    """The REST root for `base_url`.

    The local runtime serves the API under `/api` beside the web client, while
    on AWS the stage URL is the root: so a URL without a path
    (`http://127.0.0.1:8000`) gets `/api`, and one with a path is used as given.
    `api_prefix` overrides the guess ("" for none).
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    path = parts.path.rstrip("/")
    if api_prefix is None:
        api_prefix = "" if path else "/api"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + api_prefix, "", ""))


def _retry_after(headers: Message | Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """An API call that is redirected is a misconfigured URL: report it, do not follow."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Refuse to follow: the caller reports the redirect."""
        return None


class HttpTransport:
    """Sends JSON requests to the REST root; thread-safe (no shared connection state).

    A 503 `tenant_provisioning` (the account's store is being created) is waited
    out for up to `provisioning_wait` seconds, following Retry-After; every other
    error reply raises its typed `ApiError`.
    """

    def __init__(
        self,
        root: str,
        *,
        timeout: float = 10.0,
        provisioning_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.root = root.rstrip("/")
        self.timeout = timeout
        self.provisioning_wait = provisioning_wait
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: Mapping[str, str | int | None] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; the reply's JSON body, or a typed exception."""
        waited = 0.0
        while True:
            try:
                return self._send(method, path, body, query=query, token=token, extra=headers)
            except TenantProvisioningError as error:
                pause = min(max(error.retry_after or 1.0, 0.2), 5.0)
                if waited + pause > self.provisioning_wait:
                    raise
                self._sleep(pause)
                waited += pause

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        query: Mapping[str, str | int | None] | None,
        token: str | None,
        extra: Mapping[str, str] | None,
    ) -> Reply:
        url = self.root + path
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **(extra or {})}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - root is checked to be http(s)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return Reply(response.status, dict(response.headers), _decode(response.read()))
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
            if 300 <= status < 400:
                where = error.headers.get("Location", "?")
                raise ProtocolError(
                    f"{method} {url} was redirected to {where}: check the URL."
                ) from None
            try:
                parsed = _decode(raw)
            except ProtocolError:
                parsed = None
            raise api_error(status, parsed, _retry_after(error.headers)) from None
        except urllib.error.URLError as error:
            raise NetworkError(f"cannot reach {self.root}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise NetworkError(f"cannot reach {self.root}: {error}") from None


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        snippet = raw[:80].decode("utf-8", "replace")
        raise ProtocolError(f"the server did not answer JSON: {snippet!r}") from None
