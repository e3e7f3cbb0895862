"""API Gateway throttling of a stage: the merge template sets it (infra/template.py), and the
local runtime's WebSocket gateway reads the same numbers from that template
(docs/security.md).

API Gateway throttles with a token bucket per stage, method or route: `burst` requests
at once, refilled at `rate_per_second`. The limits are the stage's, shared by every
client; they cap what a flood costs and protect the account-wide quota (10,000
requests a second, shared by all APIs of the account and region), while per-client
limits are the app's (login throttling, the WebSocket message budget) and WAF's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Throttle:
    rate_per_second: float
    burst: int


# REST API: every method, and tighter the routes that verify passwords or make accounts.
REST_DEFAULT = Throttle(rate_per_second=1000, burst=2000)
REST_AUTH = Throttle(rate_per_second=20, burst=40)
REST_AUTH_ROUTES = (("/auth/login", "POST"), ("/auth/signup", "POST"))

# WebSocket API: every route (each route its own bucket), and new connections.
WEBSOCKET_DEFAULT = Throttle(rate_per_second=1000, burst=2000)
WEBSOCKET_CONNECT = Throttle(rate_per_second=100, burst=200)
