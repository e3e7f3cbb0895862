"""A WebSocket stage's route throttling read from its template properties (resolved);
no I/O here. On AWS a route setting overrides the stage default field by field, and a
field neither sets is the account's limit."""

from __future__ import annotations

from typing import Any

from infra.local.stack.intrinsics import TemplateError
from infra.local.websocket_gateway.throttling import RouteThrottle, RouteThrottling

# API Gateway's account-level throttle (per Region): what a limit left unset falls back to.
ACCOUNT_RATE_PER_SECOND = 10_000.0
ACCOUNT_BURST = 5_000
_RATE = "ThrottlingRateLimit"
_BURST = "ThrottlingBurstLimit"


def _settings(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(f"{where} must be an object")
    return value


def _number(settings: dict[str, Any], name: str, where: str) -> float | None:
    value = settings.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}.{name} must be a number, not {value!r}") from None
    if number < 0:
        raise TemplateError(f"{where}.{name} cannot be negative")
    return number


def _limits(settings: dict[str, Any], where: str) -> tuple[float | None, float | None]:
    """The (rate, burst) a settings object gives, each None when it leaves it unset."""
    return _number(settings, _RATE, where), _number(settings, _BURST, where)


def _throttle(rate: float | None, burst: float | None) -> RouteThrottle | None:
    if rate is None and burst is None:
        return None
    return RouteThrottle(
        rate_per_second=ACCOUNT_RATE_PER_SECOND if rate is None else rate,
        burst=ACCOUNT_BURST if burst is None else int(burst),
    )


def stage_throttling(logical_id: str, properties: dict[str, Any]) -> RouteThrottling:
    """The route throttling a stage resource's `properties` declare."""
    default_where = f"{logical_id}.DefaultRouteSettings"
    default_rate, default_burst = _limits(
        _settings(properties.get("DefaultRouteSettings"), default_where), default_where
    )
    by_route = _settings(properties.get("RouteSettings"), f"{logical_id}.RouteSettings")
    routes: dict[str, RouteThrottle] = {}
    for route_key, settings in by_route.items():
        where = f"{logical_id}.RouteSettings.{route_key}"
        rate, burst = _limits(_settings(settings, where), where)
        throttle = _throttle(
            default_rate if rate is None else rate, default_burst if burst is None else burst
        )
        if throttle is not None:
            routes[route_key] = throttle
    return RouteThrottling(default=_throttle(default_rate, default_burst), routes=routes)
