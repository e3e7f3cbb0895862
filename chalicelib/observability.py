"""The one Powertools Logger, Tracer and Metrics, wired into Chalice as middleware.

Every log line carries the request id and, once the caller is known, the user
id. Nothing here logs request bodies, headers or tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "userdb"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=SERVICE, service=SERVICE)


def _request_id(event: Any) -> str | None:
    context = getattr(event, "lambda_context", None)
    return getattr(context, "aws_request_id", None)


def log_context(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: a fresh log context (request id, no user yet) per invocation."""
    logger.remove_keys(["user_id", "tenant_id", "connection_id"])
    logger.append_keys(request_id=_request_id(event))
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
