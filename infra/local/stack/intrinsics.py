"""CloudFormation's intrinsic functions, resolved to local names; no I/O here.

`Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` resolve as CloudFormation resolves them,
with the local table names, stream ARNs, function names and API ids in place of the
deployed ones. A URL of one of the app's own API Gateway APIs
(`https://{api}.execute-api.{region}.amazonaws.com/{stage}`) becomes the local gateway's
URL (`urls.py`). Anything else (conditions, `Fn::If`, `Fn::ImportValue`, ...) is refused
with the reference named, rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local.lambda_runtime import LOCAL_ACCOUNT_ID

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
NO_VALUE = object()  # `Ref: AWS::NoValue`: the property is dropped


class TemplateError(ValueError):
    """The template asks for something the local runtime cannot resolve or does not emulate."""


@dataclass(frozen=True)
class TableNames:
    """A table as references see it: its name, ARN and (if it has one) current stream ARN."""

    name: str
    arn: str
    stream_arn: str | None = None


@dataclass(frozen=True)
class FunctionNames:
    name: str
    arn: str


@dataclass
class LocalReferences:
    """What each logical id and pseudo parameter stands for locally.

    Filled in as the runtime learns it: tables once created, functions once the app
    is loaded. A reference to something not known yet is a `TemplateError`.
    """

    region: str
    stack_name: str
    account_id: str = LOCAL_ACCOUNT_ID
    parameters: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, TableNames] = field(default_factory=dict)
    functions: dict[str, FunctionNames] = field(default_factory=dict)
    apis: dict[str, str] = field(default_factory=dict)  # logical id -> API id

    def pseudo(self, name: str) -> Any:
        values = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"the pseudo parameter {name} is not emulated")
        return values[name]

    def ref(self, name: str) -> Any:
        """What `Ref: name` gives: a table's or function's name, an API's id, a parameter."""
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.tables:
            return self.tables[name].name
        if name in self.functions:
            return self.functions[name].name
        if name in self.apis:
            return self.apis[name]
        raise TemplateError(f"Ref {name}: no such table, function, API or parameter (yet)")

    def get_att(self, name: str, attribute: str) -> Any:
        """What `Fn::GetAtt: [name, attribute]` gives, for the attributes apps use."""
        if name in self.tables:
            table = self.tables[name]
            if attribute == "Arn":
                return table.arn
            if attribute == "StreamArn":
                if table.stream_arn is None:
                    raise TemplateError(f"Fn::GetAtt {name}.StreamArn: the table has no stream")
                return table.stream_arn
        elif name in self.functions and attribute == "Arn":
            return self.functions[name].arn
        elif name in self.apis and attribute == "ApiEndpoint":
            return f"wss://{self.apis[name]}.execute-api.{self.region}.amazonaws.com"
        raise TemplateError(f"Fn::GetAtt {name}.{attribute} is not known locally")


class Resolver:
    """Resolves template values against `references`; `localise` rewrites the app's API URLs."""

    def __init__(
        self, references: LocalReferences, localise: Callable[[str], str] = lambda url: url
    ) -> None:
        self.references = references
        self._localise = localise

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = self._functions().get(key)
            if function is not None:
                return function(argument)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"{key} is not emulated by the local runtime")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _functions(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
        }

    def _ref(self, argument: Any) -> Any:
        if not isinstance(argument, str):
            raise TemplateError(f"Ref takes a logical id, not {argument!r}")
        return self.references.ref(argument)

    def _get_att(self, argument: Any) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"Fn::GetAtt takes [LogicalId, Attribute], not {argument!r}")
        name, attribute = (self.resolve(part) for part in argument)
        value = self.references.get_att(str(name), str(attribute))
        return self._localise(value) if attribute == "ApiEndpoint" else value

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else [*argument, {}][:2]
        if not isinstance(text, str) or not isinstance(variables, dict):
            raise TemplateError(f"Fn::Sub takes a string and a map, not {argument!r}")
        given = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} stays literal
            if name in given:
                return str(given[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(name))
            return str(self.references.ref(name))

        return self._localise(_PLACEHOLDER.sub(substitute, text))

    def _join(self, argument: Any) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise TemplateError(f"Fn::Join takes [delimiter, [values]], not {argument!r}")
        delimiter, values = argument[0], self.resolve(argument[1])
        if not isinstance(values, list):
            raise TemplateError(f"Fn::Join needs a list of values, not {values!r}")
        return str(delimiter).join(str(value) for value in values)
