"""Wildcards in IAM policies: every one must be unavoidable, or justified here.

`"Resource": "*"` passes only for actions that take no resource at all (per the
IAM action list cfn-lint ships, data/AdditionalSpecs/Policies.json) *and* that
are listed in ALLOWED_ANY_RESOURCE with the reason. A `*` or `?` inside an ARN
passes only where it matches one of ALLOWED_PATTERNS, again with the reason.
Region, account and partition are never wildcards, nor are actions.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

# Actions that AWS authorizes on no resource, so "*" is the narrowest there is.
ALLOWED_ANY_RESOURCE: dict[str, str] = {
    "lambda:CreateEventSourceMapping": (
        "takes no resource; the statement's lambda:FunctionArn condition admits the "
        "stage's fan-out function only"
    ),
    "lambda:ListEventSourceMappings": (
        "takes no resource; it reveals mappings' configuration, changes nothing"
    ),
    "dynamodb:ListStreams": (
        "takes no resource; Lambda's poller lists a table's streams with the fan-out's role"
    ),
}

# Statements whose "*" is acceptable only with a condition that narrows them.
NEEDS_CONDITION = {"lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping"}

_NAME = r"[^*?:/]+"
# (pattern of an ARN's resource part, why its wildcard cannot be narrower)
ALLOWED_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(rf"table/{_NAME}-tenant-\*(/index/{_NAME}|/stream/\*)?"),
        "silo tenant tables are made at sign-up, one per user: all of them, and only "
        "them, carry the stage's prefix and `-tenant-`",
    ),
    (
        re.compile(rf"table/{_NAME}/stream/\*"),
        "a stream's ARN ends with its creation time, unknown before the table exists",
    ),
    (
        re.compile(r"event-source-mapping:\*"),
        "a mapping's ARN is its UUID, known once made; the lambda:FunctionArn "
        "condition admits the fan-out's mappings only",
    ),
    (
        re.compile(r"(\$\{WebsocketAPI\}|\*)/[A-Za-z0-9_-]+/(POST|DELETE)/@connections/\*"),
        "connection ids are API Gateway's; the API id is `*` only in the policy files, "
        "as `chalice deploy` creates the API after the roles (the template names it)",
    ),
    (
        re.compile(rf"log-group:/aws/lambda/{_NAME}:\*"),
        "the log streams of the function's own log group",
    ),
    (
        re.compile(rf"secret:{_NAME}(/{_NAME})*-\?\?\?\?\?\?"),
        "Secrets Manager appends six random characters to a secret's name in its ARN",
    ),
]

_VARIABLE = re.compile(r"\$\{[^}]*\}")
_HOLE = "\x00"
# A region and an account: named outright, or the deploying account's own.
_REGION = re.compile(r"\$\{AWS::Region\}|\$\{aws:RequestedRegion\}|[a-z]{2}(-gov)?-[a-z]+-\d")
_ACCOUNT = re.compile(r"\$\{AWS::AccountId\}|\$\{aws:PrincipalAccount\}|\d{12}")


@lru_cache(maxsize=1)
def _resource_types() -> dict[str, Any]:
    text = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def takes_no_resource(action: str) -> bool:
    """True if IAM authorizes `action` on no resource type (so only "*" can name it)."""
    service, _, name = action.partition(":")
    entry = _resource_types()[service]["Actions"][name.lower()]
    return not entry.get("Resources")


def _text(resource: Any) -> str:
    """A resource as written: a string, or the string of its Fn::Sub."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return str(resource)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def findings(document: dict[str, Any], where: str) -> list[str]:
    """Every wildcard of `document` that is neither unavoidable-and-listed nor justified."""
    problems = []
    for statement in document["Statement"]:
        sid = statement.get("Sid", "?")
        actions = _listed(statement["Action"])
        for action in actions:
            if "*" in action or "?" in action:
                problems.append(f"{where} {sid}: wildcard action {action}")
        conditioned = "Condition" in statement
        for action in actions:
            if action in NEEDS_CONDITION and not conditioned:
                problems.append(f"{where} {sid}: {action} without a lambda:FunctionArn condition")
        for resource in map(_text, _listed(statement["Resource"])):
            problems += _resource_findings(f"{where} {sid}", actions, resource)
    return problems


def _resource_findings(where: str, actions: list[str], resource: str) -> list[str]:
    if resource == "*":
        return [
            f"{where}: Resource * for {action}"
            + ("" if takes_no_resource(action) else " (AWS allows a narrower resource)")
            for action in actions
            if not (takes_no_resource(action) and action in ALLOWED_ANY_RESOURCE)
        ]
    # Policy variables and Fn::Sub references hold colons: split around them.
    variables = _VARIABLE.findall(resource)
    parts = _VARIABLE.sub(_HOLE, resource).split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return [f"{where}: {resource} is not an ARN"]
    taken = iter(variables)
    parts = ["".join(next(taken) if c == _HOLE else c for c in part) for part in parts]
    _, partition, _service, region, account, name = parts
    problems = []
    if "*" in partition or not (_REGION.fullmatch(region) and _ACCOUNT.fullmatch(account)):
        problems.append(f"{where}: {resource} does not pin partition, region and account")
    if ("*" in name or "?" in name) and not any(
        pattern.fullmatch(name) for pattern, _ in ALLOWED_PATTERNS
    ):
        problems.append(f"{where}: unjustified wildcard in {resource}")
    return problems
