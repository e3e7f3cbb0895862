"""The fan-out function: tenant streams -> `changes` pushed to live connections.

A pure Lambda function, mapped to each tenant's stream by provisioning (silo)
or to the shared table's stream (pool) through the Lambda API.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.logic.fanout import fan_out_batch
from chalicelib.services import get_services

fanout_routes = Blueprint(__name__)


@fanout_routes.lambda_function(name="fan_out")
def fan_out(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return fan_out_batch(event, get_services().fan_out, context)
