"""Idle timeout, maximum lifetime and close causes."""

import pytest

from infra.local.websocket_gateway.limits import (
    IDLE_TIMEOUT,
    LIFETIME_EXCEEDED,
    MAX_MESSAGE_BYTES,
    ConnectionLimits,
    client_close,
    expiry,
)


def test_defaults_are_api_gateways_quotas():
    limits = ConnectionLimits()
    assert (limits.idle_timeout_s, limits.max_lifetime_s) == (600, 7200)
    assert limits.max_message_bytes == MAX_MESSAGE_BYTES == 131_072


def test_a_connection_idle_past_the_timeout_expires():
    limits = ConnectionLimits(idle_timeout_s=10, max_lifetime_s=100)
    # Given a connection last active at t=5
    # Then it lives until t=15 and expires from then on
    assert expiry(limits, connected_at=0, last_active=5, now=14.9) is None
    assert expiry(limits, connected_at=0, last_active=5, now=15) == IDLE_TIMEOUT


def test_an_active_connection_still_expires_at_its_maximum_lifetime():
    limits = ConnectionLimits(idle_timeout_s=10, max_lifetime_s=100)
    assert expiry(limits, connected_at=0, last_active=99, now=99.9) is None
    assert expiry(limits, connected_at=0, last_active=99.9, now=100) == LIFETIME_EXCEEDED


def test_both_close_with_going_away():
    assert (IDLE_TIMEOUT.code, IDLE_TIMEOUT.reason) == (1001, "Going away")
    assert LIFETIME_EXCEEDED.code == 1001


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (None, None, (1005, "Client-side close frame status not set")),
        (1005, "", (1005, "Client-side close frame status not set")),
        (1000, "", (1000, "Connection Closed Normally")),
        (1000, "bye", (1000, "bye")),
        (1006, None, (1006, "Connection was closed abnormally")),
        (4000, "app code", (4000, "app code")),
        (4001, "", (4001, "")),
    ],
)
def test_client_close_causes(code, reason, expected):
    cause = client_close(code, reason)
    assert (cause.code, cause.reason) == expected


def test_sweep_interval_follows_the_shorter_limit_within_bounds():
    assert ConnectionLimits().sweep_interval_s == 5.0
    assert ConnectionLimits(idle_timeout_s=1).sweep_interval_s == pytest.approx(0.1)
    assert ConnectionLimits(idle_timeout_s=0.1).sweep_interval_s == 0.05


@pytest.mark.parametrize(("idle", "lifetime"), [(0, 10), (10, 0), (-1, 10)])
def test_limits_must_be_positive(idle, lifetime):
    with pytest.raises(ValueError, match="positive"):
        ConnectionLimits(idle_timeout_s=idle, max_lifetime_s=lifetime)
