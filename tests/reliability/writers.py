"""REST writers that tell acknowledged writes from unknown ones, and retry to an exact result.

A `POST /notes` has three outcomes a client can see: a 2xx (the note is stored), a
refusal it can read (4xx/5xx: nothing stored, except a 5xx sent after the commit), or
no answer at all (the connection was refused, or dropped mid-request: stored or not,
nobody knows). Every attempt of one note carries the same Idempotency-Key, so retrying
an unknown outcome until a 2xx stores the note exactly once (the server-generated id
shows it: a retry without the key would create a second note).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3

RETRY_PAUSE_S = 0.1
RETRY_PAUSE_MAX_S = 1.0
REQUEST_TIMEOUT_S = 30.0
# Refusals that say "not now": the same request may succeed later.
RETRYABLE = frozenset({"tenant_busy", "idempotency_in_progress", "tenant_provisioning"})


@dataclass
class WriteLog:
    """Every write's outcome, shared by the writers of a scenario (thread-safe)."""

    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)  # text -> note
    attempts: int = 0
    retried_writes: int = 0  # writes that needed more than one attempt
    not_sent: int = 0  # connection refused: the request never reached the server
    unknown: int = 0  # dropped mid-request or timed out: stored or not, nobody knows
    statuses: Counter[int] = field(default_factory=Counter)  # every HTTP status answered
    refusals: Counter[str] = field(default_factory=Counter)  # "429 tenant_busy", ...
    latencies_s: list[float] = field(default_factory=list)  # of the acknowledged attempts
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def figures(self) -> dict[str, Any]:
        latencies = sorted(self.latencies_s)

        def pct(p: float) -> float:
            return round(latencies[int(p * (len(latencies) - 1))] * 1000, 1) if latencies else 0

        return {
            "acknowledged": len(self.acknowledged),
            "attempts": self.attempts,
            "retried_writes": self.retried_writes,
            "not_sent": self.not_sent,
            "unknown": self.unknown,
            "statuses": dict(sorted(self.statuses.items())),
            "refusals": dict(self.refusals),
            "write_ms_p50": pct(0.5),
            "write_ms_p99": pct(0.99),
        }


class NoteWriter:
    """Writes notes for one session; each call returns only once its write is stored."""

    def __init__(
        self,
        api_url: str,
        token: str,
        log: WriteLog,
        rng: random.Random,
        http: Callable[[], requests.Session] | None = None,
    ) -> None:
        """`http` gives the session to send with (e.g. one per thread of a pool shared by
        many writers, to keep few sockets open); by default the writer has its own."""
        self.api_url = api_url
        self.log = log
        self._rng = rng
        self._auth = {"Authorization": f"Bearer {token}"}
        own = requests.Session()
        self._http = http or (lambda: own)

    def new_key(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def create(
        self, text: str, key: str | None = None, *, wait_in_progress: bool = True
    ) -> dict[str, Any] | None:
        """POST the note with one Idempotency-Key until a 2xx; retries unknown outcomes,
        429, 503 and 5xx. A 409 `idempotency_in_progress` (an earlier attempt's record,
        left by a process that died) is waited out, or, without `wait_in_progress`,
        answered with None: call again with the same key later."""
        key = key or self.new_key()
        headers = {"Idempotency-Key": key}
        reply = self._until_done(
            "POST", "/notes", {"text": text}, headers, stop_on_in_progress=not wait_in_progress
        )
        if reply is None:
            return None
        note = dict(reply["note"])
        with self.log._lock:
            self.log.acknowledged[text] = note
        return note

    def update(self, note_id: str, text: str) -> dict[str, Any]:
        """PUT the text (a repeat after an unknown outcome stores the same text again)."""
        reply = self._until_done("PUT", f"/notes/{note_id}", {"text": text}, {})
        assert reply is not None
        return dict(reply["note"])

    def delete(self, note_id: str) -> None:
        """DELETE the note; a 404 after an attempt with no answer means that attempt did it."""
        self._until_done("DELETE", f"/notes/{note_id}", None, {})

    def _until_done(
        self,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
        *,
        stop_on_in_progress: bool = False,
        give_up_after_s: float = 90.0,
    ) -> Any:
        deadline = time.monotonic() + give_up_after_s
        failures = 0
        while True:
            started = time.monotonic()
            outcome = self._attempt(method, path, body, headers, retried=failures > 0)
            if isinstance(outcome, Done):
                with self.log._lock:
                    self.log.latencies_s.append(time.monotonic() - started)
                    self.log.retried_writes += failures > 0
                return outcome.body
            if outcome.in_progress and stop_on_in_progress:
                return None
            failures += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path}: no answer in {give_up_after_s} s")
            # Full jitter: writers that failed together do not come back together.
            ceiling = min(RETRY_PAUSE_MAX_S, RETRY_PAUSE_S * 2 ** min(failures, 10))
            time.sleep(max(outcome.wait_s, self._rng.uniform(0, ceiling)))

    def _attempt(
        self, method: str, path: str, body: Any, headers: dict[str, str], *, retried: bool
    ) -> Done | Retry:
        with self.log._lock:
            self.log.attempts += 1
        try:
            reply = self._http().request(
                method,
                self.api_url + path,
                json=body,
                headers={**self._auth, **headers},
                timeout=REQUEST_TIMEOUT_S,
            )
        except requests.ConnectionError as error:
            with self.log._lock:
                if _never_sent(error):
                    self.log.not_sent += 1
                else:
                    self.log.unknown += 1
            return Retry()
        except (requests.Timeout, requests.exceptions.ChunkedEncodingError):
            # No answer in time, or the answer's body cut off (the server stopped while
            # sending it): stored or not, nobody knows.
            with self.log._lock:
                self.log.unknown += 1
            return Retry()
        with self.log._lock:
            self.log.statuses[reply.status_code] += 1
        if reply.status_code < 300:
            return Done(reply.json() if reply.content else None)
        code = _error_code(reply)
        with self.log._lock:
            self.log.refusals[f"{reply.status_code} {code}"] += 1
        if method == "DELETE" and reply.status_code == 404 and retried:
            return Done(None)
        if code in RETRYABLE or reply.status_code >= 500:
            wait = min(float(reply.headers.get("Retry-After") or 0), 1.0)
            return Retry(wait, in_progress=code == "idempotency_in_progress")
        raise AssertionError(f"{method} {path} refused: {reply.status_code} {reply.text[:300]}")


@dataclass(frozen=True)
class Done:
    body: Any


@dataclass(frozen=True)
class Retry:
    wait_s: float = 0.0
    in_progress: bool = False


def _never_sent(error: requests.ConnectionError) -> bool:
    """True when the connection was refused: the request never reached the server."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _error_code(reply: requests.Response) -> str:
    try:
        return str(reply.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "-"


class PooledSessions:
    """One requests.Session per thread: writers sharing a thread pool share its sockets."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[requests.Session] = []
        self._lock = threading.Lock()

    def __call__(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._all:
                session.close()


@dataclass
class Author:
    """A writer and the notes it wrote (id -> text): exactly what the server must hold of
    them. Each write creates a note, or edits or deletes one of its own (never another
    author's, so the expectation stays exact however authors interleave)."""

    name: str
    writer: NoteWriter
    rng: random.Random
    delete_share: float = 0.15
    edit_share: float = 0.25
    expected: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def write_one(self) -> None:
        n = sum(self.counts.values()) + 1
        choice = self.rng.random()
        if self.expected and choice < self.delete_share:
            note_id = self.rng.choice(sorted(self.expected))
            self.writer.delete(note_id)
            del self.expected[note_id]
            self.counts["delete"] += 1
        elif self.expected and choice < self.delete_share + self.edit_share:
            note_id = self.rng.choice(sorted(self.expected))
            text = f"{self.name} edit {n}"
            self.writer.update(note_id, text)
            self.expected[note_id] = text
            self.counts["edit"] += 1
        else:
            note = self.writer.create(f"{self.name} note {n}")
            assert note is not None
            self.expected[note["id"]] = note["text"]
            self.counts["create"] += 1
