"""Login throttling: the pure state machine and the throttle over a store."""

import pytest

from chalicelib.dal.accounts import LoginAttempts
from chalicelib.errors import TooManyAttemptsError
from chalicelib.logic.login_throttle import LoginThrottle, ThrottlePolicy, after_failure
from tests.fakes import FakeClock, InMemoryLoginAttemptsStore

POLICY = ThrottlePolicy(
    max_failures=5, window_seconds=900, lockout_seconds=900, lockout_max_seconds=86_400
)


def fail(attempts: LoginAttempts, now: int, times: int) -> LoginAttempts:
    for _ in range(times):
        attempts = after_failure(attempts, now, POLICY)
    return attempts


def test_four_failures_do_not_lock():
    assert fail(LoginAttempts(), 1000, 4).locked_until == 0


def test_fifth_failure_within_the_window_locks_for_the_base_duration():
    state = fail(LoginAttempts(), 1000, 5)
    assert state.locked_until == 1000 + 900
    assert state.lockouts == 1
    assert state.expires > state.locked_until


def test_failures_outside_the_window_start_a_new_count():
    state = fail(LoginAttempts(), 1000, 4)
    state = after_failure(state, 1000 + 901, POLICY)
    assert state.failures == 1
    assert state.locked_until == 0


def test_repeated_lockouts_grow_and_are_capped():
    state, now, durations = LoginAttempts(), 0, []
    for _ in range(10):
        state = fail(state, now, 5)
        durations.append(state.locked_until - now)
        now = state.locked_until
    assert durations[:3] == [900, 1800, 3600]
    assert max(durations) == 86_400


def test_throttle_answers_429_with_retry_after_while_locked():
    clock, store = FakeClock(), InMemoryLoginAttemptsStore()
    throttle = LoginThrottle(store, clock, POLICY)
    for _ in range(5):
        throttle.check("a@example.com")
        throttle.record_failure("a@example.com")
    # When checked during the lockout
    with pytest.raises(TooManyAttemptsError) as caught:
        throttle.check("a@example.com")
    # Then Retry-After counts down to the unlock
    assert caught.value.retry_after == 900
    assert caught.value.status == 429
    clock.advance(900)
    throttle.check("a@example.com")
    # Another account is not affected
    throttle.check("b@example.com")


def test_success_resets_failures_but_remembers_lockouts():
    clock, store = FakeClock(), InMemoryLoginAttemptsStore()
    throttle = LoginThrottle(store, clock, POLICY)
    for _ in range(5):
        throttle.record_failure("a@example.com")
    clock.advance(900)
    throttle.record_failure("a@example.com")
    throttle.record_success("a@example.com")
    state = store.attempts["a@example.com"]
    assert state.failures == 0
    assert state.lockouts == 1


class RacingStore(InMemoryLoginAttemptsStore):
    """Another failure is saved just before our first save, so ours loses the race once."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def save(self, email: str, attempts: LoginAttempts, expected_revision: int) -> bool:
        if not self.raced:
            self.raced = True
            super().save(email, LoginAttempts(failures=1, window_started=1), expected_revision)
        return super().save(email, attempts, expected_revision)


def test_a_lost_race_is_retried_not_dropped():
    clock, store = FakeClock(start=100), RacingStore()
    throttle = LoginThrottle(store, clock, POLICY)
    throttle.record_failure("a@example.com")
    # Both the concurrent failure and ours were counted
    assert store.attempts["a@example.com"].failures == 2
