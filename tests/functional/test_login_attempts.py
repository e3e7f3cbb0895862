"""Login throttling against real stores: the LoginAttemptsStore contract on every backend,
and 40 parallel wrong logins on DynamoDB Local (the store's atomicity is DynamoDB's own;
moto does not serialise concurrent writes, FACTS.md, so it is proved there only)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.dal.accounts import (
    AttemptsRefused,
    CountedAttempt,
    DynamoLoginAttemptsStore,
    LoginAttemptsStore,
)
from chalicelib.dal.schema import create_tables
from chalicelib.dal.tables import ACCOUNTS_SUFFIX, shared_table
from chalicelib.errors import InvalidCredentialsError, TooManyAttemptsError
from chalicelib.logic.sessions import ClientInfo
from chalicelib.models.accounts import LoginRequest, SignupRequest
from chalicelib.services import Services, build_services
from chalicelib.settings import Settings
from infra.tables import shared_tables
from tests.support.fakes import FakeClock, InMemoryLoginAttemptsStore, RecordingSubscriptions

PASSWORD = "correct horse battery"
NOW = 1_800_000_000
WINDOW = 900


def _dynamodb_store(settings: Settings) -> LoginAttemptsStore:
    client = boto3.client(
        "dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region
    )
    create_tables(client, shared_tables(settings))
    return DynamoLoginAttemptsStore(shared_table(settings, ACCOUNTS_SUFFIX))


@pytest.fixture(
    params=["memory", "moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)]
)
def store(request: pytest.FixtureRequest) -> Iterator[LoginAttemptsStore]:
    prefix = f"attempts-{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        yield InMemoryLoginAttemptsStore()
    elif request.param == "moto":
        with mock_aws():
            yield _dynamodb_store(Settings(table_prefix=prefix, dynamodb_endpoint=None))
    else:
        endpoint = request.getfixturevalue("dynamodb_local").endpoint
        yield _dynamodb_store(Settings(table_prefix=prefix, dynamodb_endpoint=endpoint))


def count(store: LoginAttemptsStore, key: str, now: int = NOW) -> Any:
    for _ in range(5):
        result = store.count(key, now, 5, WINDOW)
        if result is not None:
            return result
    raise AssertionError("lost five races in a row without concurrency")


def test_attempts_are_counted_in_a_window_up_to_the_limit(store):
    counts = [count(store, "a@example.com") for _ in range(5)]
    assert [c.count for c in counts] == [1, 2, 3, 4, 5]
    assert {c.window_started for c in counts} == {NOW}
    # The sixth is refused until the window is over, and is not counted
    assert count(store, "a@example.com", NOW + 10) == AttemptsRefused(NOW + WINDOW)
    # A new window starts once it is
    assert count(store, "a@example.com", NOW + WINDOW).count == 1
    # Keys are counted apart
    assert count(store, "b@example.com").count == 1


def test_a_lock_refuses_until_it_ends_and_is_remembered(store):
    counted = [count(store, "a@example.com") for _ in range(5)][-1]
    store.lock(counted, NOW, NOW + 900, NOW + 900 + 86_400)
    assert count(store, "a@example.com", NOW + 1) == AttemptsRefused(NOW + 900)
    after = count(store, "a@example.com", NOW + 900)
    assert (after.count, after.lockouts) == (1, 1)


def test_a_lock_from_an_old_window_changes_nothing(store):
    stale = count(store, "a@example.com")
    store.lock(stale, NOW, NOW + 900, NOW + 90_000)
    # A second failure of that window wants to lock too: the window has moved on
    store.lock(stale, NOW + 5, NOW + 5000, NOW + 90_000)
    assert count(store, "a@example.com", NOW + 900).lockouts == 1


def test_clear_forgets_the_window_refund_takes_one_back(store):
    for _ in range(3):
        last = count(store, "a@example.com")
    store.refund(last)
    assert count(store, "a@example.com").count == 3
    store.clear(last)
    assert count(store, "a@example.com").count == 1


def test_parallel_counting_never_passes_the_limit(store, request):
    if "moto" in request.node.name:
        pytest.skip("moto does not serialise concurrent conditional writes (FACTS.md)")
    # Given 40 threads released at once by a barrier
    barrier = threading.Barrier(40)
    results: list[CountedAttempt | AttemptsRefused | None] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        result = count_or_none(store)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counted = [r for r in results if isinstance(r, CountedAttempt)]
    # Then exactly five were counted, with distinct places, and none beyond
    assert sorted(c.count for c in counted) == [1, 2, 3, 4, 5]


def count_or_none(store: LoginAttemptsStore) -> CountedAttempt | AttemptsRefused | None:
    for _ in range(5):
        result = store.count("a@example.com", NOW, 5, WINDOW)
        if result is not None:
            return result
    return None


# ---- the whole sign-in on DynamoDB Local ----


@pytest.fixture
def services(dynamodb_local: Any) -> Iterator[Services]:
    settings = Settings(
        table_prefix=f"login-{uuid.uuid4().hex[:8]}",
        tenancy="pool",
        dynamodb_endpoint=dynamodb_local.endpoint,
    )
    create_tables(dynamodb_local.client(), shared_tables(settings))
    yield build_services(settings, FakeClock(NOW), RecordingSubscriptions())


@pytest.mark.dynamodb_local
def test_forty_parallel_wrong_logins_verify_at_most_five(services):
    # Given an account, and 40 wrong passwords from 40 addresses released at once
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    signed_up = services.accounts.sign_up(
        SignupRequest(email=email, password=PASSWORD, name="Ann"), ClientInfo(ip="192.0.2.1")
    )
    barrier = threading.Barrier(40)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def guess(n: int) -> None:
        barrier.wait()
        try:
            services.accounts.log_in(
                LoginRequest(email=email, password=f"guess {n}"), ClientInfo(ip=f"198.51.100.{n}")
            )
            outcome = "signed in"
        except InvalidCredentialsError:
            outcome = "verified"
        except TooManyAttemptsError:
            outcome = "refused"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then five passwords were verified and 35 refused unverified
    assert outcomes == {"verified": 5, "refused": 35}
    # And the right password from a new device is refused now, while the device that
    # created the account still signs in
    with pytest.raises(TooManyAttemptsError):
        services.accounts.log_in(
            LoginRequest(email=email, password=PASSWORD), ClientInfo(ip="203.0.113.5")
        )
    again = services.accounts.log_in(
        LoginRequest(email=email, password=PASSWORD),
        ClientInfo(ip="203.0.113.5"),
        signed_up.device_token,
    )
    assert again.account.id == signed_up.account.id
