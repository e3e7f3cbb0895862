"""The app's template made local, in the order the runtime can resolve it:
tables first (their names and stream ARNs), then the functions' environment (before the
app is imported, since apps read it at import), then, once the app is loaded and its
functions are known, the stream mappings the template declares."""

from __future__ import annotations

import logging
from typing import Any

from infra.local.lambda_runtime import LambdaRuntime
from infra.local.stack.intrinsics import FunctionNames, LocalReferences, Resolver, TemplateError
from infra.local.stack.tables import TableSpec, ensure_tables, table_spec
from infra.local.stack.template import StackTemplate
from infra.local.stack.urls import LocalApis
from infra.local.stack.websocket_stage import stage_throttling
from infra.local.streams.declared import DeclarationError, DeclaredSource, template_stream_source
from infra.local.streams.mappings import stream_table
from infra.local.websocket_gateway.throttling import RouteThrottling

log = logging.getLogger("userdb.local.stack")

# Chalice's logical ids for the app's APIs in the template it generates.
REST_API = "RestAPI"
WEBSOCKET_API = "WebsocketAPI"


def _environment_value(value: Any) -> str:
    """A Lambda environment value: always a string (CloudFormation writes booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"an environment variable must resolve to a string, not {value!r}")
    return str(value)


class AppStack:
    """Tables, environment and stream mappings of one app's template, made local."""

    def __init__(
        self, template: StackTemplate, apis: LocalApis, *, region: str, stack_name: str
    ) -> None:
        self.template = template
        self.references = LocalReferences(
            region=region,
            stack_name=stack_name,
            parameters=dict(template.parameters),
            apis={REST_API: apis.rest_api_id, WEBSOCKET_API: apis.websocket_api_id},
        )
        self._resolver = Resolver(self.references, apis.localise)

    def table_specs(self) -> list[TableSpec]:
        """Every table of the template; unnamed ones are `{stack}-{LogicalId}`, as stable
        as CloudFormation's generated names are for one stack."""
        stack = self.references.stack_name
        return [
            table_spec(logical_id, self._resolver.resolve(properties), f"{stack}-{logical_id}")
            for logical_id, properties in self.template.tables.items()
        ]

    def create_tables(self, client: Any) -> list[str]:
        """Create the missing tables (boto3 `client`); their names, for the start-up line."""
        specs = self.table_specs()
        self.references.tables.update(ensure_tables(client, specs))
        return [spec.name for spec in specs]

    def environments(self) -> dict[str, dict[str, str]]:
        """Each function's variables from the template, resolved, by logical id."""
        return {
            logical_id: {
                name: _environment_value(self._resolver.resolve(value))
                for name, value in variables.items()
            }
            for logical_id, variables in self.template.environments.items()
        }

    def environment(self) -> dict[str, str]:
        """The variables every function is given. The functions share one process here, so
        one environment: two functions giving a variable different values cannot both be
        honoured, and are refused rather than one silently winning."""
        merged: dict[str, str] = {}
        given_by: dict[str, str] = {}
        for logical_id, variables in self.environments().items():
            for name, value in variables.items():
                if name in merged and merged[name] != value:
                    raise TemplateError(
                        f"{given_by[name]} and {logical_id} set {name} to different values; "
                        "the local runtime runs every function in one process, with one "
                        "environment"
                    )
                merged[name], given_by[name] = value, logical_id
        return merged

    def websocket_throttling(self) -> RouteThrottling:
        """The WebSocket stage's route throttling (none when the template sets none)."""
        stages = self.template.websocket_stages
        if len(stages) > 1:
            raise TemplateError(
                f"more than one WebSocket stage sets route throttling ({', '.join(stages)}); "
                "the local runtime serves one"
            )
        for logical_id, properties in stages.items():
            return stage_throttling(logical_id, self._resolver.resolve(properties))
        return RouteThrottling()

    def bind_functions(self, functions: LambdaRuntime) -> None:
        """Let references reach the app's functions; warn of variables meant for none."""
        self.references.functions = {
            function.logical_id: FunctionNames(function.name, function.arn)
            for function in functions.functions.values()
            if function.logical_id
        }
        for logical_id in self.template.environments:
            if logical_id not in self.references.functions:
                log.warning(
                    "template: %s sets environment variables but the app has no such "
                    "function (functions: %s)",
                    logical_id,
                    ", ".join(sorted(self.references.functions)) or "none",
                )

    def stream_sources(self, functions: LambdaRuntime) -> list[DeclaredSource]:
        """The template's DynamoDB stream mappings, on the local streams and functions
        (mappings from other sources are not emulated: skipped, with a warning)."""
        sources = []
        for logical_id, properties in self.template.mappings.items():
            try:
                stream_arn = self._resolver.resolve(properties.get("EventSourceArn"))
            except TemplateError as error:
                stream_arn, reason = None, str(error)
            else:
                reason = f"{stream_arn!r} is not a DynamoDB stream"
            if not isinstance(stream_arn, str) or stream_table(stream_arn) is None:
                log.warning("template: %s skipped: %s", logical_id, reason)
                continue
            try:
                resolved = self._resolver.resolve(properties)
                sources.append(template_stream_source(logical_id, resolved, functions))
            except DeclarationError as error:
                raise TemplateError(str(error)) from None
        return sources
