"""Login throttling per account: lock after repeated failures, longer each time."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from chalicelib.dal.accounts import LoginAttempts, LoginAttemptsStore
from chalicelib.errors import TooManyAttemptsError
from chalicelib.logic.clock import Clock

# Lockouts are remembered this long after the last one, so a repeat grows the next.
LOCKOUT_MEMORY_SECONDS = 86_400
SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window_seconds: int
    lockout_seconds: int
    lockout_max_seconds: int


def after_failure(attempts: LoginAttempts, now: int, policy: ThrottlePolicy) -> LoginAttempts:
    """The throttle state after one more failed sign-in at `now`."""
    if now - attempts.window_started >= policy.window_seconds:
        attempts = replace(attempts, failures=0, window_started=now)
    failures = attempts.failures + 1
    if failures < policy.max_failures:
        expires = max(attempts.expires, attempts.window_started + policy.window_seconds)
        return replace(attempts, failures=failures, expires=expires)
    lockouts = attempts.lockouts + 1
    duration = min(policy.lockout_seconds * 2 ** (lockouts - 1), policy.lockout_max_seconds)
    return replace(
        attempts,
        failures=0,
        window_started=now,
        lockouts=lockouts,
        locked_until=now + duration,
        expires=now + duration + LOCKOUT_MEMORY_SECONDS,
    )


def retry_after(attempts: LoginAttempts | None, now: float) -> int | None:
    """Seconds until sign-in is allowed again, or None if it is allowed now."""
    if attempts is None or attempts.locked_until <= now:
        return None
    return math.ceil(attempts.locked_until - now)


class LoginThrottle:
    """Counts failures per normalised email, known account or not, so answers never differ."""

    def __init__(self, store: LoginAttemptsStore, clock: Clock, policy: ThrottlePolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

    def check(self, email: str) -> None:
        """TooManyAttemptsError (429, Retry-After) while `email` is locked out."""
        wait = retry_after(self._store.get(email), self._clock.now())
        if wait is not None:
            raise TooManyAttemptsError(retry_after=wait)

    def record_failure(self, email: str) -> None:
        for _ in range(SAVE_ATTEMPTS):
            current = self._store.get(email)
            revision = current.revision if current else 0
            updated = after_failure(
                current or LoginAttempts(), int(self._clock.now()), self._policy
            )
            if self._store.save(email, updated, revision):
                return
        # Concurrent failures won every race: they were counted by the winners.

    def record_success(self, email: str) -> None:
        current = self._store.get(email)
        if current is not None and current.failures:
            # Lockouts stay remembered; only the failure count starts again.
            self._store.save(email, replace(current, failures=0), current.revision)
