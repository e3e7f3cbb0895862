"""The merge template of a stage for `chalice package --merge-template`.

`python -m infra.template --stage dev -o infra/template.json` (what `make package`
runs) writes what Chalice's own template lacks, all of it derived from the
project's single sources:

- every shared table of `infra/tables.py` (keys, GSIs, the LSI, stream, TTL);
- in pool mode, the event source mapping from the shared tenants table's stream to
  the fan-out, with `MAPPING_OPTIONS` of `chalicelib/dal/event_sources.py`;
- the functions' deployed names (those `chalice deploy` gives them) and
  `USERDB_WEBSOCKET_ENDPOINT`, built from the WebSocket API's id and stage;
- each function's role with its least-privilege policy (`infra/policies.py`);
- API Gateway's throttling of the stage (`infra/throttling.py`): the REST API's
  methods, tighter on sign-up and login, and the WebSocket API's routes and `$connect`;
- the security headers on the answers API Gateway makes itself (403, 429, 5xx...),
  as the app sets them on its own (docs/security.md).

Table names, tenancy and the API stage differ per stage, so the file is
generated for one stage at a time and not committed.

`--local-runtime` writes the template `python -m infra.local up --template` reads
(what `make run` does): the same resources, plus the variables a deployed stage sets
by hand because its REST API's URL cannot be named in its own function's template
(CloudFormation would see a cycle): `USERDB_API_URL` and `USERDB_ALLOWED_ORIGINS`,
which the runtime resolves to where it serves the API and the web client.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.dal.event_sources import MAPPING_OPTIONS
from chalicelib.dal.schema import TableDefinition
from chalicelib.dal.tables import POOL_TENANTS_SUFFIX
from chalicelib.settings import Tenancy
from infra.local.cli import environment_setting
from infra.policies import FUNCTIONS, FunctionPolicy, function_policies, template_document
from infra.stages import Stage, StageError, load_stage
from infra.tables import shared_tables
from infra.throttling import (
    REST_AUTH,
    REST_AUTH_ROUTES,
    REST_DEFAULT,
    WEBSOCKET_CONNECT,
    WEBSOCKET_DEFAULT,
    Throttle,
)

# Chalice's logical ids (chalice/package.py): the REST API, the WebSocket API and its stage.
REST_API = "RestAPI"
WEBSOCKET_API = "WebsocketAPI"
WEBSOCKET_STAGE = "WebsocketAPIStage"
FANOUT_MAPPING = "FanOutTenantsStreamMapping"
# What the app's own replies carry (chalicelib/api/http.py), on API Gateway's too; but its
# CSP, whose quotes a static header value of API Gateway (itself in quotes) cannot hold.
GATEWAY_RESPONSE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}


def function_logical_id(function: str) -> str:
    """Chalice's logical id of a function (the REST API's is `APIHandler`)."""
    return "APIHandler" if function == "api_handler" else to_cfn_resource_name(function)


def role_logical_id(function: str) -> str:
    """Chalice's logical id of a function's own role (autogen_policy: false)."""
    return to_cfn_resource_name(f"{function}_role")


def log_group_logical_id(function: str) -> str:
    """Chalice's logical id of a function's log group (log_retention_in_days)."""
    return to_cfn_resource_name(function) + "LogGroup"


def table_logical_id(stage: Stage, definition: TableDefinition) -> str:
    suffix = definition.name.removeprefix(f"{stage.settings.table_prefix}-")
    return to_cfn_resource_name(suffix.replace("-", "_")) + "Table"


def table_resource(definition: TableDefinition) -> dict[str, Any]:
    """An AWS::DynamoDB::Table from a CreateTable request (CloudFormation spells streams
    without StreamEnabled, and TTL is a property rather than a second call)."""
    request = definition.request
    properties: dict[str, Any] = {
        key: request[key]
        for key in (
            "TableName",
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
        )
        if key in request
    }
    stream = request.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        properties["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
    if definition.ttl_attribute:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": definition.ttl_attribute,
            "Enabled": True,
        }
    return {
        "Type": "AWS::DynamoDB::Table",
        # Users' data outlives the stack: `python -m infra.provision --delete` removes it.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def websocket_endpoint(stage: Stage) -> dict[str, Any]:
    """The @connections endpoint of the stage's WebSocket API (USERDB_WEBSOCKET_ENDPOINT)."""
    return {
        "Fn::Sub": "https://${%s}.execute-api.${AWS::Region}.${AWS::URLSuffix}/%s"  # noqa: UP031
        % (WEBSOCKET_API, stage.api_gateway_stage)
    }


def _limits(throttle: Throttle) -> dict[str, Any]:
    return {
        "ThrottlingRateLimit": throttle.rate_per_second,
        "ThrottlingBurstLimit": throttle.burst,
    }


def _method_path(path: str) -> str:
    """A resource path as a stage's method settings spell it: `/auth/login` is
    `/~1auth~1login` (each `/` of the path as `~1`, after a leading `/`)."""
    return "/" + path.replace("/", "~1")


def rest_api_settings() -> dict[str, Any]:
    """The REST API's stage throttling and the headers of API Gateway's own answers."""
    method_settings = [{"ResourcePath": "/*", "HttpMethod": "*", **_limits(REST_DEFAULT)}]
    method_settings += [
        {"ResourcePath": _method_path(path), "HttpMethod": method, **_limits(REST_AUTH)}
        for path, method in REST_AUTH_ROUTES
    ]
    headers = {name: f"'{value}'" for name, value in GATEWAY_RESPONSE_HEADERS.items()}
    responses = {
        kind: {"ResponseParameters": {"Headers": headers}}
        for kind in ("DEFAULT_4XX", "DEFAULT_5XX")
    }
    return {"Properties": {"MethodSettings": method_settings, "GatewayResponses": responses}}


def websocket_stage_settings() -> dict[str, Any]:
    """The WebSocket API's route throttling: every route, and `$connect` tighter."""
    return {
        "Properties": {
            "DefaultRouteSettings": _limits(WEBSOCKET_DEFAULT),
            "RouteSettings": {"$connect": _limits(WEBSOCKET_CONNECT)},
        }
    }


def local_runtime_variables(stage: Stage) -> dict[str, Any]:
    """What the local runtime's template adds to every function, unless the stage sets it:
    its REST API's URL and, since the runtime serves the web client there, its origin."""
    origin = "https://${%s}.execute-api.${AWS::Region}.${AWS::URLSuffix}" % REST_API  # noqa: UP031
    variables = {
        "USERDB_API_URL": {"Fn::Sub": f"{origin}/{stage.api_gateway_stage}"},
        "USERDB_ALLOWED_ORIGINS": {"Fn::Sub": origin},
    }
    return {name: value for name, value in variables.items() if name not in stage.environment}


def function_resources(policy: FunctionPolicy, variables: dict[str, Any]) -> dict[str, Any]:
    """What one function's resources get merged in: its name and variables, its log
    group's name, and its role's least-privilege policy."""
    role_id = role_logical_id(policy.function)
    return {
        function_logical_id(policy.function): {
            "Properties": {
                "FunctionName": policy.function_name,
                "Environment": {"Variables": variables},
            }
        },
        # By name: Chalice's own reference is wrong for the REST function (`${ApiHandler}`).
        log_group_logical_id(policy.function): {
            "Properties": {"LogGroupName": f"/aws/lambda/{policy.function_name}"}
        },
        role_id: {
            "Properties": {
                "Policies": [
                    {
                        "PolicyName": f"{role_id}Policy",
                        "PolicyDocument": template_document(policy, WEBSOCKET_API),
                    }
                ]
            }
        },
    }


def merge_template(stage: Stage, *, local_runtime: bool = False) -> dict[str, Any]:
    """What `chalice package --stage {stage}` merges into its own template (with
    `local_runtime`, what `python -m infra.local up --template` reads instead)."""
    resources: dict[str, Any] = {
        REST_API: rest_api_settings(),
        WEBSOCKET_STAGE: websocket_stage_settings(),
    }
    tables = {definition.name: definition for definition in shared_tables(stage.settings)}
    for definition in tables.values():
        resources[table_logical_id(stage, definition)] = table_resource(definition)
    variables = {
        "USERDB_WEBSOCKET_ENDPOINT": websocket_endpoint(stage),
        **(local_runtime_variables(stage) if local_runtime else {}),
    }
    for policy in function_policies(stage):
        resources.update(function_resources(policy, variables))
    if stage.settings.tenancy is Tenancy.POOL:
        pool = tables[stage.settings.table_name(POOL_TENANTS_SUFFIX)]
        resources[FANOUT_MAPPING] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {
                "EventSourceArn": {"Fn::GetAtt": [table_logical_id(stage, pool), "StreamArn"]},
                "FunctionName": {"Ref": function_logical_id("fan_out")},
                **MAPPING_OPTIONS,
            },
        }
    outputs = {
        "WebSocketManagementEndpoint": {"Value": websocket_endpoint(stage)},
        "TablePrefix": {"Value": stage.settings.table_prefix},
    }
    return {
        "Description": f"userdb, stage {stage.name} ({stage.settings.tenancy.value} tenancy)",
        "Metadata": {
            "userdb": {
                "stage": stage.name,
                "generated_by": f"python -m infra.template --stage {stage.name}",
                "functions": list(FUNCTIONS),
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.template",
        description="Write the merge template of a stage for `chalice package --merge-template`.",
        allow_abbrev=False,
    )
    parser.add_argument("--stage", help="a stage of .chalice/config.json (required)")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    parser.add_argument(
        "--env",
        type=environment_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable over the stage's, as the local runtime's --env sets it (repeatable)",
    )
    parser.add_argument(
        "--local-runtime",
        action="store_true",
        help="the template for `python -m infra.local up --template` (stage local unless "
        "--stage says otherwise); the runtime's other flags may follow and are ignored, "
        "so `make run` passes RUN_ARGS as they are",
    )
    args, others = parser.parse_known_args(argv)
    if others and not args.local_runtime:
        parser.error(f"unrecognized arguments: {' '.join(others)}")
    stage_name = args.stage or ("local" if args.local_runtime else None)
    if stage_name is None:
        parser.error("--stage is required")
    try:
        stage = load_stage(stage_name, overrides=dict(args.env))
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    template = merge_template(stage, local_runtime=args.local_runtime)
    text = json.dumps(template, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
