"""`python -m infra.provision --stage dev`: a stage's shared tables on AWS, before `chalice deploy`.

Creates the tables of `infra/tables.py` that are missing, waits for them, turns
TTL (and streams) on where they are off, and reports any other difference
between a table and its definition, which it cannot change in place (keys,
indexes, stream view type, billing mode): it exits 1 then. Running it again
changes nothing. After the first `chalice deploy` it also says whether the
stage names its WebSocket API's @connections endpoint.

`--delete` tears the stage's data down: the fan-out's stream mappings, every
tenant table and the shared tables (the functions and APIs go with
`chalice delete --stage ...`, or with the CloudFormation stack).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from chalicelib.dal.schema import TableDefinition
from chalicelib.dal.tables import TENANT_TABLE_INFIX
from chalicelib.dal.tenant_tables import TENANT_ID
from infra.stages import PROJECT_DIR, Stage, StageError, load_stage
from infra.tables import shared_tables

POLL_SECONDS = 1.0


@dataclass
class TableReport:
    """What provisioning found and did for one table."""

    name: str
    created: bool = False
    fixed: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line: the table, then what was done or found."""
        done = ["created", *self.fixed] if self.created else self.fixed
        found = [f"DIFFERS: {d}" for d in self.drift]
        return f"  {self.name:<40} " + ("; ".join([*done, *found]) or "up to date")


def _keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
    return sorted((k["KeyType"], k["AttributeName"]) for k in schema)


def _indexes(indexes: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        index["IndexName"]: (_keys(index["KeySchema"]), index["Projection"].get("ProjectionType"))
        for index in indexes or []
    }


def differences(wanted: dict[str, Any], table: dict[str, Any]) -> list[str]:
    """How an existing table (DescribeTable's `Table`) differs from a CreateTable request,
    in what provisioning cannot change: keys, attribute types, indexes, billing mode."""
    found = []
    if _keys(wanted["KeySchema"]) != _keys(table["KeySchema"]):
        found.append(
            f"key schema is {_keys(table['KeySchema'])}, wanted {_keys(wanted['KeySchema'])}"
        )
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    for attribute in wanted["AttributeDefinitions"]:
        name = attribute["AttributeName"]
        if name in types and types[name] != attribute["AttributeType"]:
            found.append(f"attribute {name} is {types[name]}, wanted {attribute['AttributeType']}")
    for kind, label in (("GlobalSecondaryIndexes", "GSI"), ("LocalSecondaryIndexes", "LSI")):
        have, want = _indexes(table.get(kind)), _indexes(wanted.get(kind))
        for name in sorted(set(want) - set(have)):
            found.append(f"{label} {name} is missing")
        for name in sorted(set(have) - set(want)):
            found.append(f"{label} {name} is not in the definition")
        for name in sorted(set(have) & set(want)):
            if have[name] != want[name]:
                found.append(f"{label} {name} is {have[name]}, wanted {want[name]}")
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != wanted["BillingMode"]:
        found.append(f"billing mode is {billing}, wanted {wanted['BillingMode']}")
    return found


class Provisioner:
    """Makes a stage's shared tables match their definitions, as far as that is possible."""

    def __init__(
        self,
        dynamodb: Any,
        say: Callable[[str], None] = print,
        timeout_seconds: float = 300,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._dynamodb = dynamodb
        self._say = say
        self._timeout = timeout_seconds
        self._poll = poll_seconds

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            table: dict[str, Any] = self._dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return table

    def _wait_active(self, name: str) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout
        while True:
            table = self._describe(name)
            if table is not None and table["TableStatus"] == "ACTIVE":
                return table
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} is not ACTIVE after {self._timeout:.0f} s")
            time.sleep(self._poll)

    def ensure(self, definition: TableDefinition) -> TableReport:
        """Create the table if missing; then fix its TTL and stream, and report the rest."""
        report = TableReport(definition.name)
        table = self._describe(definition.name)
        if table is None:
            self._say(f"  {definition.name:<40} creating ...")
            started = time.monotonic()
            self._dynamodb.create_table(**definition.request)
            table = self._wait_active(definition.name)
            report.created = True
            report.fixed.append(f"ACTIVE after {time.monotonic() - started:.1f} s")
        else:
            table = self._wait_active(definition.name)
            report.drift += differences(definition.request, table)
        self._ensure_stream(definition, table, report)
        self._ensure_ttl(definition, report)
        return report

    def _ensure_stream(
        self, definition: TableDefinition, table: dict[str, Any], report: TableReport
    ) -> None:
        wanted = definition.request.get("StreamSpecification")
        have = table.get("StreamSpecification") or {"StreamEnabled": False}
        if not wanted or report.created:
            return
        if not have.get("StreamEnabled"):
            self._dynamodb.update_table(TableName=definition.name, StreamSpecification=wanted)
            self._wait_active(definition.name)
            report.fixed.append(f"stream turned on ({wanted['StreamViewType']})")
        elif have.get("StreamViewType") != wanted["StreamViewType"]:
            report.drift.append(
                f"stream is {have.get('StreamViewType')}, wanted {wanted['StreamViewType']} "
                "(turning it off would break the fan-out's mapping)"
            )

    def _ensure_ttl(self, definition: TableDefinition, report: TableReport) -> None:
        attribute = definition.ttl_attribute
        if attribute is None:
            return
        ttl = self._dynamodb.describe_time_to_live(TableName=definition.name)
        description = ttl["TimeToLiveDescription"]
        status = description.get("TimeToLiveStatus", "DISABLED")
        if status in ("ENABLED", "ENABLING"):
            if description.get("AttributeName") != attribute:
                report.drift.append(
                    f"TTL is on {description.get('AttributeName')!r}, wanted {attribute!r}"
                )
            return
        if status == "DISABLING":
            report.drift.append("TTL is being turned off: run again in an hour")
            return
        self._dynamodb.update_time_to_live(
            TableName=definition.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )
        report.fixed.append(f"TTL turned on ({attribute})")


def websocket_endpoint_advice(stage: Stage, region: str, project_dir: Path) -> str | None:
    """What to set after the first `chalice deploy`, if the stage does not name its
    @connections endpoint yet (the stream-triggered fan-out cannot learn it otherwise)."""
    deployed = project_dir / ".chalice" / "deployed" / f"{stage.name}.json"
    if not deployed.exists():
        return None
    resources = json.loads(deployed.read_text()).get("resources", [])
    api_ids = [r["websocket_api_id"] for r in resources if "websocket_api_id" in r]
    if not api_ids:
        return None
    endpoint = f"https://{api_ids[0]}.execute-api.{region}.amazonaws.com/{stage.api_gateway_stage}"
    if stage.settings.websocket_endpoint == endpoint:
        return None
    return (
        f"the stage's WebSocket API is {api_ids[0]}: in .chalice/config.json, "
        f"stages.{stage.name}.environment_variables, set\n"
        f'      "USERDB_WEBSOCKET_ENDPOINT": "{endpoint}"\n'
        f"    then run `chalice deploy --stage {stage.name}` again (the fan-out posts there)"
    )


def _owned_tables(stage: Stage, names: list[str]) -> list[str]:
    """The stage's shared tables and its tenant tables among `names`, nothing else."""
    shared = {d.name for d in shared_tables(stage.settings)}
    tenant_prefix = stage.settings.table_name(TENANT_TABLE_INFIX)
    return [
        name
        for name in names
        if name in shared
        or (name.startswith(tenant_prefix) and TENANT_ID.fullmatch(name[len(tenant_prefix) :]))
    ]


def teardown(stage: Stage, dynamodb: Any, lambda_client: Any, say: Callable[[str], None]) -> None:
    """Delete the fan-out's mappings, then every table of the stage (tenant and shared)."""
    function = stage.function_name("fan_out")
    mappings = []
    try:
        for page in lambda_client.get_paginator("list_event_source_mappings").paginate(
            FunctionName=function
        ):
            mappings += page["EventSourceMappings"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    for mapping in mappings:
        lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])
        say(f"  mapping {mapping['UUID']} ({mapping['EventSourceArn']}) deleted")
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names += page["TableNames"]
    for name in _owned_tables(stage, names):
        try:
            dynamodb.delete_table(TableName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
        say(f"  table {name} deleted")


def _confirmed(stage: Stage, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        print("error: --delete needs --yes when not run from a terminal", file=sys.stderr)
        return False
    answer = input(f"Delete every table of stage {stage.name!r}, users' data included? "
                   f"Type the stage name to confirm: ")  # fmt: skip
    return answer.strip() == stage.name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.provision",
        description="Create or update a stage's shared DynamoDB tables (before chalice deploy).",
    )
    parser.add_argument("--stage", required=True, help="a stage of .chalice/config.json")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--endpoint", help="a DynamoDB-compatible URL instead of AWS")
    parser.add_argument(
        "--delete", action="store_true", help="delete the stage's mappings and tables"
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before --delete")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _account(region: str, endpoint: str | None) -> str:
    if endpoint:
        return f"endpoint {endpoint}"
    identity = boto3.client("sts", region_name=region).get_caller_identity()
    return f"account {identity['Account']}"


def _provision(stage: Stage, dynamodb: Any) -> bool:
    """Ensure every shared table, one line each as it is done; False if any differs."""
    provisioner = Provisioner(dynamodb)
    ok = True
    for definition in shared_tables(stage.settings):
        report = provisioner.ensure(definition)
        print(report.line(), flush=True)
        ok = ok and not report.drift
    return ok


def _run(args: argparse.Namespace, stage: Stage, region: str) -> int:
    settings = stage.settings
    print(
        f"userdb stage {stage.name}: {_account(region, args.endpoint)}, region {region}, "
        f"{settings.tenancy.value} tenancy, tables {settings.table_prefix}-*"
    )
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=args.endpoint)
    if args.delete:
        if not _confirmed(stage, args.yes):
            return 1
        teardown(stage, dynamodb, boto3.client("lambda", region_name=region), print)
        print(f"done; remove the functions and APIs with `chalice delete --stage {stage.name}`")
        return 0
    if not _provision(stage, dynamodb):
        print(
            "Some tables differ from infra/tables.py in ways that need a new table "
            "(copy the data, or delete the table and run again)."
        )
        return 1
    advice = websocket_endpoint_advice(stage, region, args.project_dir)
    if advice:
        print(f"  next: {advice}")
    else:
        print(f"Tables ready. Next: chalice deploy --stage {stage.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    region = args.region or boto3.session.Session().region_name
    try:
        if not region:
            raise StageError("no AWS region: pass --region or set AWS_REGION")
        stage = load_stage(args.stage, args.project_dir)
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return _run(args, stage, region)
    except NoCredentialsError:
        print("error: no AWS credentials: run `aws configure` or set AWS_PROFILE", file=sys.stderr)
    except (ClientError, BotoCoreError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
