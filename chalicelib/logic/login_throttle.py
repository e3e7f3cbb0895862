"""Login throttling: every attempt is counted before its password is verified.

Counters (docs/security.md):

- per email, for devices not trusted with it: `max_failures` in a window, then a
  lockout that doubles on each repeat (up to `lockout_max_seconds`);
- per client address, across every email, for the same untrusted attempts: password
  spraying from one address is limited too;
- per trusted device (trusted_devices.py): its own counter with the email's policy, so
  a lockout caused by others does not stop the owner on a device that signed in before.
  A device that is itself locked out is treated as untrusted.

Counting first, in one conditional write, means that however many attempts arrive at
once, at most `max_failures` passwords are ever verified in a window. A success clears
the email's or device's failures; the address only gets that one attempt back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

from chalicelib.dal.accounts import AttemptsRefused, CountedAttempt, LoginAttemptsStore
from chalicelib.errors import TooManyAttemptsError
from chalicelib.logic.clock import Clock
from chalicelib.logic.trusted_devices import TrustedDevices

# Lockouts are remembered this long after the last one, so a repeat grows the next.
LOCKOUT_MEMORY_SECONDS = 86_400
# Counting loses a race only while a window starts; this many losses in a row refuse.
COUNT_ATTEMPTS = 5


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    window_seconds: int
    lockout_seconds: int
    lockout_max_seconds: int


class OnSuccess(Enum):
    CLEAR = "clear"  # the failures before a success are forgiven
    REFUND = "refund"  # only the successful attempt is taken back


@dataclass(frozen=True)
class Counter:
    """One throttle counter: its key, its policy and what a success does to it."""

    key: str
    policy: ThrottlePolicy
    on_success: OnSuccess


@dataclass(frozen=True)
class LoginAttempt:
    """An attempt counted on its counters, waiting for the password's verdict."""

    email: str
    counted: tuple[tuple[Counter, CountedAttempt], ...]
    # The id of the device trusted with this email that made the attempt, if any.
    trusted_device: str | None = None
    device_token: str | None = field(default=None, repr=False)


def lockout_duration(lockouts: int, policy: ThrottlePolicy) -> int:
    """How long the `lockouts`-th lockout lasts: the base, doubled each time, capped."""
    doubled: int = policy.lockout_seconds * 2 ** max(lockouts - 1, 0)
    return min(doubled, policy.lockout_max_seconds)


def retry_after(until: int, now: float) -> int:
    """Whole seconds until `until`, at least one."""
    return max(1, math.ceil(until - now))


class LoginThrottle:
    """Counts sign-in attempts, known account or not, so that answers never differ."""

    def __init__(
        self,
        store: LoginAttemptsStore,
        clock: Clock,
        policy: ThrottlePolicy,
        *,
        address_policy: ThrottlePolicy | None = None,
        devices: TrustedDevices | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self._address_policy = address_policy
        self._devices = devices

    def begin(
        self, email: str, address: str | None = None, device_token: str | None = None
    ) -> LoginAttempt:
        """Count an attempt before its password is verified; TooManyAttemptsError (429,
        Retry-After) when a counter is locked or full, in which case nothing is verified."""
        device = self._devices.trusted_id(device_token, email) if self._devices else None
        if device is not None:
            counter = Counter(f"device#{device}", self._policy, OnSuccess.CLEAR)
            counted = self._count(counter)
            if isinstance(counted, CountedAttempt):
                return LoginAttempt(email, ((counter, counted),), device, device_token)
            # A locked-out device is one more untrusted client (OWASP's device cookies).
        counters = [Counter(email, self._policy, OnSuccess.CLEAR)]
        if address and self._address_policy is not None:
            counters.insert(
                0, Counter(f"address#{address}", self._address_policy, OnSuccess.REFUND)
            )
        taken: list[tuple[Counter, CountedAttempt]] = []
        for counter in counters:
            result = self._count(counter)
            if isinstance(result, AttemptsRefused):
                # Not verified, so not a failure: what was counted for it is given back.
                for _, counted in taken:
                    self._store.refund(counted)
                raise TooManyAttemptsError(retry_after=retry_after(result.until, self._now()))
            taken.append((counter, result))
        return LoginAttempt(email, tuple(taken))

    def finish(self, attempt: LoginAttempt, succeeded: bool) -> None:
        """The verdict: a success clears (or refunds) the counters, a failure that fills a
        counter's window locks it."""
        now = int(self._now())
        for counter, counted in attempt.counted:
            if succeeded:
                if counter.on_success is OnSuccess.CLEAR:
                    self._store.clear(counted)
                else:
                    self._store.refund(counted)
            elif counted.count >= counter.policy.max_failures:
                until = now + lockout_duration(counted.lockouts + 1, counter.policy)
                self._store.lock(counted, now, until, until + LOCKOUT_MEMORY_SECONDS)

    def device_token_after_success(self, attempt: LoginAttempt) -> str | None:
        """The device token to hand back after a success: the one it showed if trusted,
        else a new one bound to the email (None when devices are not tracked)."""
        if self._devices is None:
            return None
        if attempt.trusted_device is not None and attempt.device_token is not None:
            return attempt.device_token
        return self._devices.issue(attempt.email)

    def trust_new_device(self, email: str) -> str | None:
        """A device token for a device that just created the account."""
        return self._devices.issue(email) if self._devices is not None else None

    def _count(self, counter: Counter) -> CountedAttempt | AttemptsRefused:
        policy = counter.policy
        for _ in range(COUNT_ATTEMPTS):
            result = self._store.count(
                counter.key, int(self._now()), policy.max_failures, policy.window_seconds
            )
            if result is not None:
                return result
        # Still racing after that many tries: refuse rather than verify uncounted.
        return AttemptsRefused(int(self._now()) + 1)

    def _now(self) -> float:
        return self._clock.now()
