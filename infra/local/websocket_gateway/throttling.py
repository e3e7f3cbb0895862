"""A WebSocket stage's route throttling, as API Gateway applies it; no I/O here.

A stage may set `DefaultRouteSettings` (every route) and `RouteSettings` (by route key,
`$connect` included), each with a rate and a burst. What the stage leaves unset is
limited on AWS only by the account's quota, which the local gateway does not emulate:
an app whose template sets no throttling runs unthrottled here (docs/local-runtime.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RouteThrottle:
    """A token bucket's shape: `burst` requests at once, refilled at `rate_per_second`.
    Zero is allowed and, as on AWS, refuses every request."""

    rate_per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_second < 0 or self.burst < 0:
            raise ValueError("a throttle's rate and burst cannot be negative")


@dataclass(frozen=True)
class RouteThrottling:
    """The stage's limits: a route's own, else the stage default, else none."""

    default: RouteThrottle | None = None
    routes: Mapping[str, RouteThrottle] = field(default_factory=dict)

    def for_route(self, route_key: str) -> RouteThrottle | None:
        return self.routes.get(route_key, self.default)
