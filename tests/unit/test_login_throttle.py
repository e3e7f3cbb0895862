"""Login throttling: counters per email, per address and per trusted device, over a store."""

import pytest

from chalicelib.errors import TooManyAttemptsError
from chalicelib.logic.login_throttle import (
    LoginAttempt,
    LoginThrottle,
    ThrottlePolicy,
    lockout_duration,
)
from chalicelib.logic.trusted_devices import TrustedDevices
from tests.support.fakes import FakeClock, InMemoryLoginAttemptsStore, InMemoryTrustedDeviceStore

POLICY = ThrottlePolicy(
    max_failures=5, window_seconds=900, lockout_seconds=900, lockout_max_seconds=86_400
)
ADDRESS_POLICY = ThrottlePolicy(
    max_failures=20, window_seconds=900, lockout_seconds=900, lockout_max_seconds=86_400
)
ANN = "ann@example.com"


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = InMemoryLoginAttemptsStore()
        self.devices = TrustedDevices(InMemoryTrustedDeviceStore(), self.clock, 86_400 * 180)
        self.throttle = LoginThrottle(
            self.store, self.clock, POLICY, address_policy=ADDRESS_POLICY, devices=self.devices
        )

    def fail(self, email: str = ANN, address: str = "198.51.100.1", device: str | None = None):
        self.throttle.finish(self.throttle.begin(email, address, device), succeeded=False)

    def succeed(self, email: str = ANN, address: str = "198.51.100.1", device: str | None = None):
        attempt = self.throttle.begin(email, address, device)
        self.throttle.finish(attempt, succeeded=True)
        return self.throttle.device_token_after_success(attempt)

    def refused(self, email: str = ANN, address: str = "198.51.100.1", device=None) -> int:
        with pytest.raises(TooManyAttemptsError) as caught:
            self.throttle.begin(email, address, device)
        assert caught.value.status == 429
        return int(caught.value.retry_after or 0)


def test_lockouts_double_and_are_capped():
    durations = [lockout_duration(n, POLICY) for n in range(1, 10)]
    assert durations[:3] == [900, 1800, 3600]
    assert max(durations) == 86_400


def test_the_fifth_failure_locks_the_email_with_retry_after_counting_down():
    world = World()
    for n in range(5):
        world.fail(address=f"198.51.100.{n}")
    assert world.refused(address="203.0.113.9") == 900
    world.clock.advance(600)
    assert world.refused(address="203.0.113.9") == 300
    world.clock.advance(300)
    world.fail(address="203.0.113.9")  # counted again, in a new window
    # Another account is not affected
    world.succeed("bob@example.com")


def test_attempts_begun_together_are_counted_before_any_is_verified():
    # Given 40 attempts begun before any of them finished (as parallel requests are)
    world = World()
    begun: list[LoginAttempt] = []
    refused = 0
    for n in range(40):
        try:
            begun.append(world.throttle.begin(ANN, f"198.51.100.{n}"))
        except TooManyAttemptsError:
            refused += 1
    # Then only five may go on to verify a password
    assert (len(begun), refused) == (5, 35)
    for attempt in begun:
        world.throttle.finish(attempt, succeeded=False)
    # And the five failures lock the email
    assert world.refused(address="203.0.113.1") == 900


def test_repeated_lockouts_last_longer():
    world = World()
    for _ in range(5):
        world.fail()
    world.clock.advance(900)
    for _ in range(5):
        world.fail()
    assert world.refused() == 1800


def test_success_clears_failures_but_remembers_lockouts():
    world = World()
    for _ in range(5):
        world.fail()
    world.clock.advance(900)
    for _ in range(4):
        world.fail()
    world.succeed()
    for _ in range(4):
        world.fail()  # the four before the success are forgiven: no lockout yet
    world.fail()
    assert world.refused() == 1800  # the second lockout, twice the first


def test_one_address_spraying_many_emails_is_limited():
    world = World()
    for n in range(20):
        world.fail(f"user{n}@example.com", address="198.51.100.7")
    # The 21st email from that address is refused, and was never tried
    assert world.refused("user20@example.com", address="198.51.100.7") == 900
    assert "user20@example.com" not in world.store.attempts
    # Other addresses are not
    world.fail("user20@example.com", address="198.51.100.8")


def test_a_refusal_by_the_email_gives_the_address_its_attempt_back():
    world = World()
    for _ in range(5):
        world.fail(address="198.51.100.1")
    for _ in range(30):
        world.refused(address="198.51.100.2")
    assert world.store.attempts["address#198.51.100.2"].failures == 0


def test_successes_from_an_address_do_not_count_against_it():
    world = World()
    for n in range(40):
        world.succeed(f"user{n}@example.com", address="198.51.100.7")
    world.fail("someone@example.com", address="198.51.100.7")


def test_a_device_that_signed_in_before_is_not_locked_out_by_others():
    # Given Ann signed in on her laptop once (it got a device token)
    world = World()
    laptop = world.succeed(address="192.0.2.10")
    assert laptop is not None
    # When someone else fails five times, locking the email
    for n in range(5):
        world.fail(address=f"198.51.100.{n}")
    world.refused(address="192.0.2.10")
    # Then her laptop still signs in, and keeps its token
    assert world.succeed(address="192.0.2.10", device=laptop) == laptop


def test_a_device_token_of_another_email_is_no_trust():
    world = World()
    bobs = world.succeed("bob@example.com")
    for _ in range(5):
        world.fail()
    world.refused(device=bobs)


def test_a_trusted_device_is_throttled_on_its_own_counter_then_untrusted():
    world = World()
    laptop = world.succeed()
    for _ in range(5):
        world.fail(device=laptop)
    # Its own counter is full: it is one more untrusted client, counted on the email's
    world.fail(device=laptop)
    assert world.store.attempts[ANN].failures == 1


def test_an_expired_device_token_is_no_trust():
    world = World()
    laptop = world.succeed()
    world.clock.advance(86_400 * 180)
    for _ in range(5):
        world.fail(address="198.51.100.9")
    world.refused(device=laptop)


def test_a_new_device_gets_a_new_token_each_success():
    world = World()
    first, second = world.succeed(), world.succeed()
    assert first and second and first != second
