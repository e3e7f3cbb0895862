"""The cost bench's arithmetic: 32 KB message units, per-unit figures, prices."""

from __future__ import annotations

import pytest

from bench.cost_model import PRICES, Messages, Window, cost


def test_websocket_messages_are_billed_in_32_kb_increments():
    messages = Messages()
    for size in (10, 32 * 1024, 32 * 1024 + 1, 100_000):
        messages.add(size)
    assert (messages.count, messages.units) == (4, 1 + 1 + 2 + 4)


def test_a_window_divides_into_per_write_figures_and_prices_them():
    # Given what two writes made AWS bill
    window = Window(invocations={"api": [10.2, 19.9], "fan_out": [0.4, 0.6]}, rest_requests=2)
    window.capacity.write_units, window.capacity.read_units = 20, 12
    window.to_clients.add(300)
    window.to_clients.add(300)
    # When it is divided per write
    per_write = window.counts(2)
    # Then durations are rounded up to the millisecond before GB-seconds
    assert per_write["lambda_gb_seconds"] == pytest.approx((11 + 20 + 1 + 1) / 1000 * 0.5 / 2)
    assert per_write["lambda_invocations"] == 2
    dollars = cost(per_write)
    assert dollars["dynamodb"] == pytest.approx(
        10 * PRICES["dynamodb_write_request_unit"] + 6 * PRICES["dynamodb_read_request_unit"]
    )
    assert dollars["websocket_messages"] == pytest.approx(PRICES["websocket_message_32kb"])
    assert dollars["rest_api"] == pytest.approx(PRICES["rest_api_request"])
