"""Least-privilege IAM policies of every function of a stage, from its settings and tables.

One description of what each function may do, rendered twice:

- as the policy files `chalice deploy` reads (`.chalice/policy-{stage}-{function}.json`):
  the account and region are IAM policy variables (`${aws:PrincipalAccount}`,
  `${aws:RequestedRegion}`), so the files are exact without naming an account, and the
  WebSocket API, which `chalice deploy` creates after the roles, is `*`;
- as the roles of the packaged template (`infra.template`): exact ARNs through `Fn::Sub`,
  the WebSocket API by its logical id.

`python -m infra.policies --write` regenerates the files; a test fails when they are stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.dal.items import TenantItem
from chalicelib.dal.schema import TableDefinition, table_definition
from chalicelib.dal.secrets import SECRETS_MANAGER_PREFIX, SSM_PREFIX
from chalicelib.dal.tables import (
    ACCOUNTS_SUFFIX,
    CONNECTIONS_SUFFIX,
    IDEMPOTENCY_SUFFIX,
    POOL_TENANTS_SUFFIX,
    SESSIONS_SUFFIX,
    TENANT_TABLE_INFIX,
)
from chalicelib.settings import Tenancy
from infra.stages import PROJECT_DIR, Stage, deployable_stages, load_stage
from infra.tables import shared_tables

# ARN templates name these placeholders; each rendering fills them in its own way.
PARTITION, REGION, ACCOUNT, WEBSOCKET_API = "{partition}", "{region}", "{account}", "{api}"

# Every function of the app, by the name Chalice gives it in config and templates.
FUNCTIONS = (
    "api_handler",
    "websocket_connect",
    "websocket_message",
    "websocket_disconnect",
    "fan_out",
)

READ = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
)
WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
# What Lambda's poller does with the fan-out's role to read a tenant stream.
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
# Silo provisioning (sign-up) and release (account deletion) of `{prefix}-tenant-*` tables.
TENANT_TABLE_ADMIN = (
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
)


@dataclass(frozen=True)
class Statement:
    """Allow `actions` on `resources` (ARN templates); optionally only for one function's
    event source mappings (`lambda:FunctionArn`, an ARN template too)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    mapped_function: str | None = None


@dataclass(frozen=True)
class FunctionPolicy:
    function: str
    function_name: str
    statements: tuple[Statement, ...] = field(default_factory=tuple)

    def file_name(self, stage: str) -> str:
        return f"policy-{stage}-{self.function}.json"


def _arn(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{resource}"


@dataclass(frozen=True)
class TableArns:
    """A table (or a pattern of tables) with its indexes and stream."""

    name: str
    index_names: tuple[str, ...]

    @classmethod
    def of(cls, definition: TableDefinition, name: str | None = None) -> TableArns:
        request = definition.request
        indexes = [
            index["IndexName"]
            for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for index in request.get(kind, [])
        ]
        return cls(name or definition.name, tuple(indexes))

    @property
    def table(self) -> str:
        return _arn("dynamodb", f"table/{self.name}")

    def data(self) -> tuple[str, ...]:
        """The table and its indexes: what item reads and writes name."""
        return (self.table, *(f"{self.table}/index/{index}" for index in self.index_names))

    @property
    def stream(self) -> str:
        return f"{self.table}/stream/*"


def _logs(function_name: str) -> Statement:
    # The deployer creates the log group (log_retention_in_days): streams and events only.
    return Statement(
        "Logs",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        (_arn("logs", f"log-group:/aws/lambda/{function_name}:*"),),
    )


def _connections_api(api_stage: str, *methods: str) -> Statement:
    """@connections of the stage's WebSocket API: POST to send, DELETE to close."""
    resources = tuple(
        _arn("execute-api", f"{WEBSOCKET_API}/{api_stage}/{method}/@connections/*")
        for method in methods
    )
    return Statement("WebSocketConnections", ("execute-api:ManageConnections",), resources)


def _secret_arn(reference: str) -> str:
    """The ARN a `*_CLIENT_SECRET_NAME` reference reads (chalicelib/dal/secrets.py)."""
    if reference.startswith(SSM_PREFIX):
        name = reference[len(SSM_PREFIX) :]
        return _arn("ssm", f"parameter/{name.lstrip('/')}")
    secret_id = reference[len(SECRETS_MANAGER_PREFIX) :].partition("#")[0]
    if secret_id.startswith("arn:"):
        return secret_id
    # Secrets Manager adds six random characters to a secret's name in its ARN.
    return _arn("secretsmanager", f"secret:{secret_id}-??????")


def _secrets(stage: Stage) -> list[Statement]:
    oauth = stage.settings.oauth
    references = [
        reference
        for reference in (
            oauth.google_client_secret_name,
            oauth.github_client_secret_name,
            oauth.oidc_client_secret_name,
        )
        if reference
    ]
    ssm = tuple(_secret_arn(r) for r in references if r.startswith(SSM_PREFIX))
    managed = tuple(_secret_arn(r) for r in references if r.startswith(SECRETS_MANAGER_PREFIX))
    statements = []
    if ssm:
        statements.append(Statement("OAuthSecretsSsm", ("ssm:GetParameter",), ssm))
    if managed:
        statements.append(
            Statement("OAuthSecretsManager", ("secretsmanager:GetSecretValue",), managed)
        )
    return statements


def _shared(stage: Stage) -> dict[str, TableArns]:
    by_name = {definition.name: definition for definition in shared_tables(stage.settings)}
    suffixes = [ACCOUNTS_SUFFIX, SESSIONS_SUFFIX, CONNECTIONS_SUFFIX, IDEMPOTENCY_SUFFIX]
    if stage.settings.tenancy is Tenancy.POOL:
        suffixes.append(POOL_TENANTS_SUFFIX)
    return {suffix: TableArns.of(by_name[stage.settings.table_name(suffix)]) for suffix in suffixes}


def _tenant_tables(stage: Stage) -> TableArns:
    """Silo: the pattern `{prefix}-tenant-*`; pool: the shared `{prefix}-tenants` table."""
    if stage.settings.tenancy is Tenancy.POOL:
        return _shared(stage)[POOL_TENANTS_SUFFIX]
    pattern = stage.settings.table_name(TENANT_TABLE_INFIX + "*")
    return TableArns.of(table_definition(TenantItem, pattern, None))


def _data(sid: str, actions: Iterable[str], *tables: TableArns) -> Statement:
    resources = tuple(arn for table in tables for arn in table.data())
    return Statement(sid, tuple(actions), resources)


def function_policies(stage: Stage) -> list[FunctionPolicy]:
    """Each function's policy: its log group, the tables it uses, and what else it calls."""
    shared = _shared(stage)
    accounts, sessions = shared[ACCOUNTS_SUFFIX], shared[SESSIONS_SUFFIX]
    connections, idempotency = shared[CONNECTIONS_SUFFIX], shared[IDEMPOTENCY_SUFFIX]
    tenants = _tenant_tables(stage)
    fan_out_arn = _arn("lambda", f"function:{stage.function_name('fan_out')}")
    silo = stage.settings.tenancy is Tenancy.SILO
    api_stage = stage.api_gateway_stage

    # The REST API: accounts, sessions, notes; sign-up provisions a tenant, DELETE /me
    # releases it; logout and revocation close the session's sockets; a write posts its
    # change to the tenant's sockets (the fast path).
    api: list[Statement] = [
        _data("Tables", READ + WRITE, accounts, sessions, connections, idempotency, tenants),
        Statement(
            "TenantTables",
            TENANT_TABLE_ADMIN if silo else ("dynamodb:DescribeTable",),
            (tenants.table,),
        ),
        # Mappings of tenant streams to the fan-out function, and to nothing else.
        Statement(
            "MapTenantStreams",
            ("lambda:CreateEventSourceMapping",),
            ("*",),
            mapped_function=fan_out_arn,
        ),
        Statement(
            "UnmapTenantStreams",
            ("lambda:DeleteEventSourceMapping",),
            (_arn("lambda", "event-source-mapping:*"),),
            mapped_function=fan_out_arn,
        ),
        Statement("FindTenantStreamMappings", ("lambda:ListEventSourceMappings",), ("*",)),
        _connections_api(api_stage, "POST", "DELETE"),
        *_secrets(stage),
    ]
    connect = [
        # UpdateItem renews a session; DeleteItem uses up a connect ticket.
        _data("Sessions", (*READ, "dynamodb:UpdateItem", "dynamodb:DeleteItem"), sessions),
        _data("Connections", WRITE, connections),
    ]
    message = [
        _data("Connections", READ + WRITE, connections),
        _data("TenantData", READ, tenants),
        Statement("TenantTables", ("dynamodb:DescribeTable",), (tenants.table,)),
        _connections_api(api_stage, "POST", "DELETE"),
    ]
    disconnect = [_data("Connections", READ + WRITE, connections)]
    fan_out = [
        _data("Connections", READ + WRITE, connections),
        _data("TenantData", READ, tenants),
        Statement("TenantTables", ("dynamodb:DescribeTable",), (tenants.table,)),
        Statement("TenantStreams", STREAM_READ, (tenants.stream,)),
        # Lambda's poller lists a table's streams before reading one.
        Statement("ListStreams", ("dynamodb:ListStreams",), ("*",)),
        _connections_api(api_stage, "POST"),
    ]
    statements = {
        "api_handler": api,
        "websocket_connect": connect,
        "websocket_message": message,
        "websocket_disconnect": disconnect,
        "fan_out": fan_out,
    }
    policies = []
    for function in FUNCTIONS:
        name = stage.function_name(function)
        policies.append(FunctionPolicy(function, name, (_logs(name), *statements[function])))
    return policies


# ---- renderings ----

Render = Callable[[str], Any]


def _document(policy: FunctionPolicy, resource: Render, condition: Render) -> dict[str, Any]:
    statements = []
    for statement in policy.statements:
        rendered: dict[str, Any] = {
            "Sid": statement.sid,
            "Effect": "Allow",
            "Action": list(statement.actions),
            "Resource": [resource(r) for r in statement.resources],
        }
        if statement.mapped_function is not None:
            rendered["Condition"] = {
                "ArnLike": {"lambda:FunctionArn": condition(statement.mapped_function)}
            }
        statements.append(rendered)
    return {"Version": "2012-10-17", "Statement": statements}


def _fill(template: str, **values: str) -> str:
    return (
        template.replace(PARTITION, values["partition"])
        .replace(REGION, values["region"])
        .replace(ACCOUNT, values["account"])
        .replace(WEBSOCKET_API, values["api"])
    )


def chalice_document(policy: FunctionPolicy) -> dict[str, Any]:
    """The policy as `chalice deploy` attaches it: account and region as IAM variables.

    A mapping can only name a function of the caller's own account and region, so the
    condition's `*` for both admits only the stage's fan-out function.
    """
    return _document(
        policy,
        lambda r: _fill(
            r,
            partition="aws",
            region="${aws:RequestedRegion}",
            account="${aws:PrincipalAccount}",
            api="*",
        ),
        lambda r: _fill(r, partition="aws", region="*", account="*", api="*"),
    )


def template_document(policy: FunctionPolicy, websocket_api: str) -> dict[str, Any]:
    """The policy as the packaged template's role carries it: exact ARNs via Fn::Sub."""

    def sub(template: str) -> Any:
        filled = _fill(
            template,
            partition="${AWS::Partition}",
            region="${AWS::Region}",
            account="${AWS::AccountId}",
            api="${%s}" % websocket_api,  # noqa: UP031 - a CloudFormation ${...} reference
        )
        return filled if filled == template else {"Fn::Sub": filled}

    return _document(policy, sub, sub)


# ---- the committed files ----


def policy_files(project_dir: Path = PROJECT_DIR) -> dict[Path, str]:
    """Every `.chalice/policy-{stage}-{function}.json` of the deployable stages, as text."""
    files = {}
    for stage_name in deployable_stages(project_dir):
        stage = load_stage(stage_name, project_dir)
        for policy in function_policies(stage):
            path = project_dir / ".chalice" / policy.file_name(stage_name)
            files[path] = json.dumps(chalice_document(policy), indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.policies",
        description="Write or check the per-function IAM policy files of the deployable stages.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in policy_files().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text)
            print(f"wrote {path.relative_to(PROJECT_DIR)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(PROJECT_DIR)) for p in stale)
        print(f"stale policy files: {names} (run: python -m infra.policies)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
