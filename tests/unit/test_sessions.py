"""Session rules and the validation cache, with an in-memory store and a fake clock."""

import pytest

from chalicelib.errors import NotFoundError, UnauthorizedError
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.sessions import ClientInfo, SessionService
from tests.support.fakes import FakeClock, InMemorySessionStore

DAY = 86_400


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store():
    return InMemorySessionStore()


def service(store, clock, cache_seconds=30.0):
    return SessionService(
        store,
        SessionCache(max_size=100, ttl_seconds=cache_seconds, clock=clock),
        clock,
        lifetime_seconds=7 * DAY,
        renew_after_seconds=DAY,
    )


def test_started_session_validates_and_stores_only_the_hash(store, clock):
    sessions = service(store, clock)
    # When a session starts
    token, session = sessions.start("usr_a", ClientInfo(ip="1.2.3.4", user_agent="ua"))
    # Then the token validates, and the store never saw the token itself
    assert sessions.validate(token).user_id == "usr_a"
    assert token not in store.sessions
    assert session.token_hash in store.sessions
    assert session.expires == session.created + 7 * DAY


def test_cache_hit_skips_the_store_until_the_entry_ages_out(store, clock):
    sessions = service(store, clock, cache_seconds=30)
    token, _ = sessions.start("usr_a", ClientInfo())
    reads = store.reads
    # When validated twice within the cache TTL
    sessions.validate(token)
    sessions.validate(token)
    # Then the store was not read
    assert store.reads == reads
    # And after the TTL it is read again
    clock.advance(31)
    sessions.validate(token)
    assert store.reads == reads + 1


def test_expired_session_is_rejected_even_if_the_item_is_still_there(store, clock):
    sessions = service(store, clock)
    token, session = sessions.start("usr_a", ClientInfo())
    # Given seven days without use (DynamoDB has not deleted the item yet)
    clock.advance(7 * DAY + 1)
    assert session.token_hash in store.sessions
    # Then it is rejected
    with pytest.raises(UnauthorizedError):
        sessions.validate(token)


def test_cached_session_is_rejected_once_expired(store, clock):
    # Given sessions that live 100 s, cached for 300 s
    sessions = SessionService(
        store,
        SessionCache(max_size=10, ttl_seconds=300, clock=clock),
        clock,
        lifetime_seconds=100,
        renew_after_seconds=DAY,
    )
    token, _ = sessions.start("usr_a", ClientInfo())
    # And an entry cached moments before expiry
    clock.advance(90)
    sessions.validate(token)
    # When the expiry passes while the entry is still cached
    clock.advance(20)
    # Then it is rejected
    with pytest.raises(UnauthorizedError):
        sessions.validate(token)


def test_sliding_renewal_happens_at_most_once_a_day(store, clock):
    sessions = service(store, clock, cache_seconds=0)
    token, session = sessions.start("usr_a", ClientInfo())
    # Within the first day, use does not move the expiry
    clock.advance(DAY - 60)
    assert sessions.validate(token).expires == session.expires
    # After a day, use renews it to seven days from now
    clock.advance(120)
    renewed = sessions.validate(token)
    assert renewed.expires == int(clock.now()) + 7 * DAY
    assert store.sessions[session.token_hash].expires == renewed.expires
    # Used daily, the session lives beyond its first seven days
    for _ in range(8):
        clock.advance(DAY)
        sessions.validate(token)


def test_logout_evicts_locally_and_deletes(store, clock):
    sessions = service(store, clock)
    token, session = sessions.start("usr_a", ClientInfo())
    sessions.validate(token)
    # When the session ends
    sessions.end(session)
    # Then it fails at once on this instance
    with pytest.raises(UnauthorizedError):
        sessions.validate(token)


def test_revocation_on_another_instance_passes_here_until_the_cache_ages_out(store, clock):
    # Given two warm instances sharing one store, the session cached on instance A
    instance_a, instance_b = service(store, clock), service(store, clock)
    token, session = instance_a.start("usr_a", ClientInfo())
    instance_a.validate(token)
    # When instance B revokes it
    instance_b.revoke("usr_a", session.id)
    # Then A still accepts it within the cache TTL (the documented window), not after
    instance_a.validate(token)
    clock.advance(31)
    with pytest.raises(UnauthorizedError):
        instance_a.validate(token)


def test_revoke_only_finds_the_users_own_sessions(store, clock):
    sessions = service(store, clock)
    _, theirs = sessions.start("usr_b", ClientInfo())
    with pytest.raises(NotFoundError):
        sessions.revoke("usr_a", theirs.id)
    assert theirs.token_hash in store.sessions


@pytest.mark.parametrize("token", ["", "x" * 300, "unknown-token"])
def test_bad_tokens_are_unauthorized(store, clock, token):
    with pytest.raises(UnauthorizedError):
        service(store, clock).validate(token)


def test_cache_is_bounded(clock):
    cache = SessionCache(max_size=3, ttl_seconds=30, clock=clock)
    sessions = SessionService(
        InMemorySessionStore(), cache, clock, lifetime_seconds=DAY, renew_after_seconds=DAY
    )
    for _ in range(10):
        sessions.start("usr_a", ClientInfo())
    assert len(cache) == 3
