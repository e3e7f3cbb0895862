"""Reading a CloudFormation / SAM template the way `chalice package --merge-template` reads
it; no I/O beyond reading the file.

The parts the local runtime acts on:
- `AWS::DynamoDB::Table` resources: the tables to create;
- resources without a `Type` whose `Properties.Environment.Variables` are set: Chalice's
  generated functions (`APIHandler`, `WebsocketConnect`, `WebsocketMessage`,
  `WebsocketDisconnect`, one per event handler or pure function), into which the
  variables are merged;
- `AWS::Serverless::Function` / `AWS::Lambda::Function` with `Environment.Variables`
  are read the same way (their code is the app's, by logical id);
- `AWS::Lambda::EventSourceMapping` resources from a DynamoDB stream: the mappings;
- a WebSocket stage's route throttling (`DefaultRouteSettings`, `RouteSettings`): Chalice's
  `WebsocketAPIStage` in a merge file has no `Type`, a SAM template's is an
  `AWS::ApiGatewayV2::Stage`;
- `Parameters` with a `Default`.

Everything else (roles, log groups, outputs...) means nothing locally and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.local.stack.intrinsics import TemplateError

TABLE = "AWS::DynamoDB::Table"
MAPPING = "AWS::Lambda::EventSourceMapping"
WEBSOCKET_STAGE = "AWS::ApiGatewayV2::Stage"
ROUTE_SETTINGS = ("DefaultRouteSettings", "RouteSettings")
FUNCTION_TYPES = {None, "AWS::Serverless::Function", "AWS::Lambda::Function"}
# YAML's short forms (`!Ref X`, `!GetAtt X.Y`, `!Sub ...`), read as their long forms.
_SHORT_FORMS = ("Ref", "GetAtt", "Sub", "Join", "Select", "If", "ImportValue", "Split", "FindInMap")


@dataclass(frozen=True)
class StackTemplate:
    """The template's resources the runtime acts on, by logical id, still unresolved."""

    path: Path | None = None
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # Properties
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)  # Variables
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)  # Properties
    websocket_stages: dict[str, dict[str, Any]] = field(default_factory=dict)  # Properties
    parameters: dict[str, Any] = field(default_factory=dict)  # Default values


def _yaml_loader() -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        """SafeLoader with CloudFormation's tags."""

    def long_form(name: str) -> Any:
        key = name if name == "Ref" else f"Fn::{name}"

        def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
                if name == "GetAtt":
                    value = str(value).split(".", 1)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            elif isinstance(node, yaml.MappingNode):
                value = loader.construct_mapping(node, deep=True)
            else:
                raise yaml.constructor.ConstructorError(None, None, f"bad !{name}", node.start_mark)
            return {key: value}

        return construct

    for name in _SHORT_FORMS:
        Loader.add_constructor(f"!{name}", long_form(name))
    return Loader


def _load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        document = (
            json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - SafeLoader subclass
        )
    except (ValueError, yaml.YAMLError) as error:
        raise TemplateError(f"{path}: not a JSON or YAML template ({error})") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{path}: a template is a JSON or YAML object")
    return document


def read_template(path: Path) -> StackTemplate:
    """The template in `path` (JSON, or YAML with CloudFormation's short forms)."""
    return parse_template(_load(path), path)


def parse_template(document: dict[str, Any], path: Path | None = None) -> StackTemplate:
    """Sort a template's resources into what the runtime acts on."""
    resources = document.get("Resources") or {}
    if not isinstance(resources, dict):
        raise TemplateError("Resources must be an object")
    template = StackTemplate(path=path)
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            raise TemplateError(f"resource {logical_id} must be an object")
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if kind == TABLE:
            template.tables[logical_id] = properties
        elif kind == MAPPING:
            template.mappings[logical_id] = properties
        elif kind in (None, WEBSOCKET_STAGE) and any(k in properties for k in ROUTE_SETTINGS):
            template.websocket_stages[logical_id] = properties
        elif kind in FUNCTION_TYPES:
            variables = (properties.get("Environment") or {}).get("Variables")
            if variables:
                template.environments[logical_id] = dict(variables)
    for name, parameter in (document.get("Parameters") or {}).items():
        if isinstance(parameter, dict) and "Default" in parameter:
            template.parameters[name] = parameter["Default"]
    return template
