"""A WebSocket stage's route throttling, read from the app's template as AWS applies it."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.stack.app_stack import AppStack
from infra.local.stack.intrinsics import TemplateError
from infra.local.stack.template import parse_template
from infra.local.stack.urls import LocalApis
from infra.local.stack.websocket_stage import (
    ACCOUNT_BURST,
    ACCOUNT_RATE_PER_SECOND,
    stage_throttling,
)
from infra.local.websocket_gateway.throttling import RouteThrottle, RouteThrottling
from infra.stages import load_stage
from infra.template import merge_template
from infra.throttling import WEBSOCKET_CONNECT, WEBSOCKET_DEFAULT

APIS = LocalApis(rest_api_id="r", websocket_api_id="w", host="127.0.0.1", port=8000, ws_port=8001)


def stack_of(resources: dict[str, Any]) -> AppStack:
    return AppStack(
        parse_template({"Resources": resources}), APIS, region="us-east-1", stack_name="app-dev"
    )


def test_a_chalice_merge_file_stage_throttles_each_route_as_it_says():
    # Given Chalice's untyped WebsocketAPIStage, $connect tighter than the default
    stack = stack_of(
        {
            "WebsocketAPIStage": {
                "Properties": {
                    "DefaultRouteSettings": {
                        "ThrottlingRateLimit": 50,
                        "ThrottlingBurstLimit": 100,
                    },
                    "RouteSettings": {"$connect": {"ThrottlingBurstLimit": 5}},
                }
            }
        }
    )
    throttling = stack.websocket_throttling()
    # Then a route without settings of its own has the default, and $connect's burst is its
    # own while its rate, which it leaves unset, is the default's
    assert throttling.for_route("$default") == RouteThrottle(50, 100)
    assert throttling.for_route("sendMessage") == RouteThrottle(50, 100)
    assert throttling.for_route("$connect") == RouteThrottle(50, 5)


def test_a_sam_stage_resource_is_read_too_and_refs_are_resolved():
    stack = stack_of(
        {
            "Stage": {
                "Type": "AWS::ApiGatewayV2::Stage",
                "Properties": {
                    "ApiId": {"Ref": "WebsocketAPI"},
                    "RouteSettings": {"$connect": {"ThrottlingRateLimit": 1}},
                },
            }
        }
    )
    throttling = stack.websocket_throttling()
    # A limit neither the route nor the stage sets is the account's
    assert throttling.for_route("$connect") == RouteThrottle(1, ACCOUNT_BURST)
    assert throttling.for_route("$default") is None


def test_no_stage_settings_means_no_local_throttling():
    # An app whose template sets none (or that has no template) runs unthrottled: AWS's
    # account quota is not emulated
    assert stack_of({}).websocket_throttling() == RouteThrottling()
    assert RouteThrottling().for_route("$connect") is None
    rest_only: dict[str, Any] = {"RestAPI": {"Properties": {"MethodSettings": []}}}
    assert stack_of(rest_only).websocket_throttling() == RouteThrottling()


def test_userdbs_own_template_keeps_its_throttling_locally():
    stack = AppStack(
        parse_template(merge_template(load_stage("dev"), local_runtime=True)),
        APIS,
        region="us-east-1",
        stack_name="userdb-dev",
    )
    throttling = stack.websocket_throttling()
    assert throttling.for_route("$connect") == RouteThrottle(
        WEBSOCKET_CONNECT.rate_per_second, WEBSOCKET_CONNECT.burst
    )
    assert throttling.for_route("$default") == RouteThrottle(
        WEBSOCKET_DEFAULT.rate_per_second, WEBSOCKET_DEFAULT.burst
    )


def test_an_account_rate_fills_in_a_burst_only_default():
    throttling = stage_throttling("S", {"DefaultRouteSettings": {"ThrottlingBurstLimit": 7}})
    assert throttling.default == RouteThrottle(ACCOUNT_RATE_PER_SECOND, 7)


@pytest.mark.parametrize(
    ("properties", "names"),
    [
        ({"DefaultRouteSettings": {"ThrottlingRateLimit": -1}}, "S.DefaultRouteSettings"),
        ({"DefaultRouteSettings": {"ThrottlingBurstLimit": "lots"}}, "ThrottlingBurstLimit"),
        ({"RouteSettings": {"$connect": []}}, "S.RouteSettings.$connect"),
        ({"RouteSettings": "fast"}, "S.RouteSettings"),
    ],
)
def test_a_malformed_stage_setting_names_where_it_is(properties, names):
    with pytest.raises(TemplateError, match=names.replace("$", r"\$")):
        stage_throttling("S", properties)


def test_two_throttled_websocket_stages_are_refused():
    settings = {"Properties": {"DefaultRouteSettings": {"ThrottlingRateLimit": 1}}}
    with pytest.raises(TemplateError, match="more than one WebSocket stage"):
        stack_of({"A": settings, "B": settings}).websocket_throttling()


def test_a_limit_of_zero_is_allowed_and_refuses_everything():
    assert stage_throttling(
        "S", {"DefaultRouteSettings": {"ThrottlingRateLimit": 0, "ThrottlingBurstLimit": 0}}
    ).default == RouteThrottle(0, 0)
