"""What IAM would be asked for the AWS calls a test made, and what a policy answers.

`CallRecorder` records every botocore call (service, operation, parameters, reply)
made while it is on, labelled with the function the test says is running.
`iam_requests` turns one call into the IAM requests AWS authorizes for it
(action, resource ARN, context keys), and `allows` evaluates a policy document
for one request: Allow/Deny statements, `*`/`?` wildcards, the `Arn*`/`String*`
condition operators and `${aws:...}` policy variables — the part of IAM our
policies use. Everything else (other services, operators) fails loudly.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import urlparse

import botocore.client

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"


@dataclass(frozen=True)
class Call:
    function: str | None
    service: str
    operation: str
    params: dict[str, Any]
    reply: dict[str, Any] | None
    endpoint: str


@dataclass(frozen=True)
class Request:
    """One authorization: `action` on `resource`, with service-specific context keys."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


class CallRecorder:
    """Records the botocore calls made while on; `function` labels those that follow."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.function: str | None = None

    @contextmanager
    def recording(self) -> Iterator[CallRecorder]:
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
        recorder = self

        def spy(client: Any, operation: str, params: dict[str, Any]) -> Any:
            # A spy, not a mock: the call goes to moto unchanged and its reply is kept.
            reply = None
            try:
                reply = original(client, operation, params)
                return reply
            finally:
                recorder.calls.append(
                    Call(
                        recorder.function,
                        client.meta.service_model.service_name,
                        operation,
                        dict(params),
                        reply,
                        client.meta.endpoint_url,
                    )
                )

        with mock.patch.object(botocore.client.BaseClient, "_make_api_call", spy):
            yield self

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        """Calls made inside are the function `function`'s."""
        previous, self.function = self.function, function
        try:
            yield
        finally:
            self.function = previous

    def of(self, function: str) -> list[Call]:
        return [call for call in self.calls if call.function == function]


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _table(name: str) -> str:
    name = name.split(":table/", 1)[-1].split("/", 1)[0]
    return _arn("dynamodb", f"table/{name}")


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}


def _dynamodb(call: Call) -> list[Request]:
    params, operation = call.params, call.operation
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{operation}", _table(t)) for t in params["RequestItems"]]
    if operation == "TransactWriteItems":
        requests = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            action = _TRANSACT.get(kind, "ConditionCheckItem")
            requests.append(Request(f"dynamodb:{action}", _table(body["TableName"])))
        return requests
    if operation == "TransactGetItems":
        return [
            Request("dynamodb:GetItem", _table(item["Get"]["TableName"]))
            for item in params["TransactItems"]
        ]
    if operation == "ListTables":
        return [Request("dynamodb:ListTables", "*")]
    resource = _table(params["TableName"])
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [Request(f"dynamodb:{operation}", resource)]


def _function_arn(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return _arn("lambda", f"function:{name_or_arn}")


def _lambda(call: Call, mapped_functions: dict[str, str]) -> list[Request]:
    operation, params = call.operation, call.params
    if operation == "CreateEventSourceMapping":
        context = {"lambda:FunctionArn": _function_arn(params["FunctionName"])}
        return [Request("lambda:CreateEventSourceMapping", "*", context)]
    if operation == "ListEventSourceMappings":
        return [Request("lambda:ListEventSourceMappings", "*")]
    if operation == "DeleteEventSourceMapping":
        uuid = params["UUID"]
        context = {"lambda:FunctionArn": mapped_functions[uuid]}
        return [
            Request(
                "lambda:DeleteEventSourceMapping",
                _arn("lambda", f"event-source-mapping:{uuid}"),
                context,
            )
        ]
    raise AssertionError(f"no IAM mapping for lambda:{operation}")


_METHODS = {"PostToConnection": "POST", "DeleteConnection": "DELETE", "GetConnection": "GET"}


def _connections(call: Call) -> list[Request]:
    endpoint = urlparse(call.endpoint)
    api_id = endpoint.hostname.split(".", 1)[0] if endpoint.hostname else ""
    stage = endpoint.path.strip("/")
    method = _METHODS[call.operation]
    resource = _arn("execute-api", f"{api_id}/{stage}/{method}/@connections/")
    return [Request("execute-api:ManageConnections", resource + call.params["ConnectionId"])]


def iam_requests(call: Call, mapped_functions: dict[str, str] | None = None) -> list[Request]:
    """The IAM requests AWS authorizes for `call` (ARNs in moto's account and region).

    `mapped_functions` gives the function of each event source mapping UUID (from the
    replies of earlier calls) for DeleteEventSourceMapping's `lambda:FunctionArn`.
    """
    if call.service == "dynamodb":
        return _dynamodb(call)
    if call.service == "lambda":
        return _lambda(call, mapped_functions or {})
    if call.service == "apigatewaymanagementapi":
        return _connections(call)
    if call.service == "ssm" and call.operation == "GetParameter":
        name = call.params["Name"].lstrip("/")
        return [Request("ssm:GetParameter", _arn("ssm", f"parameter/{name}"))]
    if call.service == "secretsmanager" and call.operation == "GetSecretValue":
        assert call.reply is not None
        return [Request("secretsmanager:GetSecretValue", call.reply["ARN"])]
    raise AssertionError(f"no IAM mapping for {call.service}:{call.operation}")


def mappings_by_uuid(calls: list[Call]) -> dict[str, str]:
    """UUID -> function ARN of every mapping a reply described."""
    found: dict[str, str] = {}
    for call in calls:
        if call.service != "lambda" or not call.reply:
            continue
        for mapping in [call.reply, *call.reply.get("EventSourceMappings", [])]:
            if "UUID" in mapping and "FunctionArn" in mapping:
                found[mapping["UUID"]] = mapping["FunctionArn"]
    return found


# ---- evaluation ----

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(text: str, request: Request) -> str:
    values = {"aws:PrincipalAccount": ACCOUNT, "aws:RequestedRegion": REGION, **request.context}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise AssertionError(f"policy variable {key} has no value in this request")
        return values[key]

    return _VARIABLE.sub(value, text)


def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    # IAM's wildcards: `*` any run of characters (`/` and `:` too), `?` one character.
    return re.fullmatch(fnmatch.translate(pattern), value) is not None


def _arn_like(pattern: str, arn: str) -> bool:
    """IAM's ARN operators: each of the six colon-separated parts matched on its own."""
    expected, actual = pattern.split(":", 5), arn.split(":", 5)
    return len(expected) == len(actual) == 6 and all(
        _glob(p, a) for p, a in zip(expected, actual, strict=True)
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict[str, Any], request: Request) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual = request.context.get(key)
            if actual is None:
                return False
            patterns = [_substitute(p, request) for p in _listed(expected)]
            if operator in ("ArnLike", "ArnEquals"):
                matched = any(_arn_like(p, actual) for p in patterns)
            elif operator == "StringLike":
                matched = any(_glob(p, actual) for p in patterns)
            elif operator == "StringEquals":
                matched = actual in patterns
            else:
                raise AssertionError(f"condition operator {operator} is not evaluated here")
            if not matched:
                return False
    return True


def _statement_matches(statement: dict[str, Any], request: Request) -> bool:
    actions = _listed(statement["Action"])
    if not any(_glob(a, request.action, case_sensitive=False) for a in actions):
        return False
    resources = [_substitute(r, request) for r in _listed(statement["Resource"])]
    if not any(_glob(r, request.resource) for r in resources):
        return False
    return _condition_holds(statement.get("Condition", {}), request)


def allows(document: dict[str, Any], request: Request) -> bool:
    """True if `document` allows `request` (an explicit Deny wins)."""
    matching = [s for s in document["Statement"] if _statement_matches(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def resolve_sub(value: Any, references: dict[str, str]) -> Any:
    """A template's policy with its `Fn::Sub` strings resolved (pseudo parameters, refs)."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return _VARIABLE.sub(lambda m: references[m.group(1)], value["Fn::Sub"])
        return {k: resolve_sub(v, references) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_sub(v, references) for v in value]
    return value
