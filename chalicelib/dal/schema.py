"""CreateTable requests derived from the PynamoDB item classes.

One definition per table: the item class says keys and indexes; this module
adds billing, streams and TTL. infra/tables.py uses it for every shared table
(local bootstrap, provisioning, templates); tenant provisioning uses it at run time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model


@dataclass(frozen=True)
class TableDefinition:
    """One table: its CreateTable request, and the TTL attribute to enable after creation."""

    request: dict[str, Any]
    ttl_attribute: str | None

    @property
    def name(self) -> str:
        return str(self.request["TableName"])


def _index(index: Any) -> dict[str, Any]:
    return {
        "IndexName": index["index_name"],
        "KeySchema": index["key_schema"],
        "Projection": index["projection"],
    }


def table_definition(
    model: type[Model], table_name: str, ttl_attribute: str | None
) -> TableDefinition:
    """The on-demand table for `model`'s keys and indexes, with its stream if it has one."""
    schema = model._get_schema()
    attributes = {a["AttributeName"]: a for a in schema["attribute_definitions"]}
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": sorted(attributes.values(), key=lambda a: a["AttributeName"]),
        "KeySchema": schema["key_schema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if schema["global_secondary_indexes"]:
        request["GlobalSecondaryIndexes"] = [_index(i) for i in schema["global_secondary_indexes"]]
    if schema["local_secondary_indexes"]:
        request["LocalSecondaryIndexes"] = [_index(i) for i in schema["local_secondary_indexes"]]
    stream_view_type = getattr(model.Meta, "stream_view_type", None)
    if stream_view_type:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream_view_type,
        }
    return TableDefinition(request=request, ttl_attribute=ttl_attribute)


def create_tables(
    client: Any, definitions: list[TableDefinition], timeout: float = 60
) -> list[str]:
    """Create the tables that do not exist yet (idempotent); returns the names created."""
    existing: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    created = []
    for definition in definitions:
        if definition.name in existing:
            continue
        client.create_table(**definition.request)
        created.append(definition.name)
    deadline = time.monotonic() + timeout
    for definition in definitions:
        while client.describe_table(TableName=definition.name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {definition.name} did not become ACTIVE")
            time.sleep(0.05)
        if definition.ttl_attribute and definition.name in created:
            client.update_time_to_live(
                TableName=definition.name,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": definition.ttl_attribute,
                },
            )
    return created
