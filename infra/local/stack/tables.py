"""`AWS::DynamoDB::Table` resources made into local tables, as CloudFormation makes them.

`table_spec` (no I/O) turns a table's resolved Properties into a CreateTable request
and its TTL attribute; `ensure_tables` creates the missing tables, waits until they
are ACTIVE, turns TTL on where the template asks, and says where each table is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from infra.local.stack.intrinsics import TableNames, TemplateError

log = logging.getLogger("userdb.local.stack")

# CloudFormation properties that are CreateTable parameters under the same name.
_PASSED_ON = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "LocalSecondaryIndexes",
)
# Index properties CreateTable knows; CloudFormation adds others (contributor insights...).
_INDEX_KEYS = (
    "IndexName",
    "KeySchema",
    "Projection",
    "ProvisionedThroughput",
    "OnDemandThroughput",
)


@dataclass(frozen=True)
class TableSpec:
    """One table to create: its logical id, CreateTable request and TTL attribute."""

    logical_id: str
    request: dict[str, Any]
    ttl_attribute: str | None = None

    @property
    def name(self) -> str:
        return str(self.request["TableName"])


def table_spec(logical_id: str, properties: dict[str, Any], default_name: str) -> TableSpec:
    """The CreateTable request for one resolved `AWS::DynamoDB::Table` (SSE, tags, PITR,
    deletion protection and table class mean nothing locally and are left out)."""
    for required in ("KeySchema", "AttributeDefinitions"):
        if required not in properties:
            raise TemplateError(f"table {logical_id}: {required} is required")
    request: dict[str, Any] = {"TableName": properties.get("TableName") or default_name}
    request.update({key: properties[key] for key in _PASSED_ON if key in properties})
    if "GlobalSecondaryIndexes" in properties:
        request["GlobalSecondaryIndexes"] = [
            {key: index[key] for key in _INDEX_KEYS if key in index}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    if "ProvisionedThroughput" not in request:
        # CloudFormation would refuse a provisioned table without throughput; be lenient.
        request.setdefault("BillingMode", "PAY_PER_REQUEST")
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    ttl = properties.get("TimeToLiveSpecification") or {}
    attribute = ttl.get("AttributeName") if ttl.get("Enabled") else None
    return TableSpec(logical_id, request, attribute)


def ensure_tables(
    client: Any, specs: list[TableSpec], timeout_s: float = 60
) -> dict[str, TableNames]:
    """Create what is missing, wait for ACTIVE, turn TTL on; each table's names by logical id.

    A table that exists is kept as it is (its data too); a difference from the template
    in keys or stream is logged, since only deleting the table would apply it.
    """
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    for spec in specs:
        if spec.name not in existing:
            client.create_table(**spec.request)
            log.info("created table %s (%s)", spec.name, spec.logical_id)
    deadline = time.monotonic() + timeout_s
    found: dict[str, TableNames] = {}
    for spec in specs:
        while True:
            table = client.describe_table(TableName=spec.name)["Table"]
            if table["TableStatus"] == "ACTIVE":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {spec.name} did not become ACTIVE")
            time.sleep(0.05)
        if spec.name in existing:
            _warn_on_drift(spec, table)
        if spec.ttl_attribute:
            _ensure_ttl(client, spec.name, spec.ttl_attribute)
        stream_arn = table.get("LatestStreamArn") if table.get("StreamSpecification") else None
        found[spec.logical_id] = TableNames(spec.name, table["TableArn"], stream_arn)
    return found


def _ensure_ttl(client: Any, table: str, attribute: str) -> None:
    described = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if described.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
    )


def _warn_on_drift(spec: TableSpec, table: dict[str, Any]) -> None:
    keys = sorted((k["AttributeName"], k["KeyType"]) for k in table["KeySchema"])
    wanted = sorted((k["AttributeName"], k["KeyType"]) for k in spec.request["KeySchema"])
    has_stream = bool((table.get("StreamSpecification") or {}).get("StreamEnabled"))
    if keys != wanted or has_stream != ("StreamSpecification" in spec.request):
        log.warning(
            "table %s differs from the template's %s (keys or stream); delete it "
            "(or the data dir) to have it made anew",
            spec.name,
            spec.logical_id,
        )
