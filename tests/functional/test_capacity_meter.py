"""The cost bench's DynamoDB meter: its sizing rules agree with DynamoDB Local's own
figures for single writes, and it counts multi-item transactions right (where DynamoDB
Local's own totals are wrong)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from bench.capacity_meter import CapacityMeter, Index, write_units

pytestmark = pytest.mark.dynamodb_local

KEYS = ("pk", "sk")
INDEXES = [Index("version-index", ("pk", "version"), None)]


@pytest.fixture
def table(dynamodb_local: Any) -> Iterator[tuple[Any, str]]:
    client = dynamodb_local.client()
    name = f"meter-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "version-index",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "version", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client, name
    client.delete_table(TableName=name)


def _item(sk: str, text_bytes: int, version: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": "usr_0123456789abcdef"},
        "sk": {"S": sk},
        "text": {"S": "é" * (text_bytes // 2)},
        "created": {"N": "1764250000123"},
        "deleted": {"BOOL": False},
        "buckets": {"M": {"20261127": {"N": "3"}, "20261128": {"L": [{"N": "1.5"}]}}},
    }
    if version is not None:
        item["version"] = {"N": str(version)}
    return item


@pytest.mark.parametrize(
    ("text_bytes", "version"),
    [(10, 1), (900, 2), (1500, 3), (3000, 4), (5000, None), (1000, 123456789)],
)
def test_single_writes_are_sized_as_dynamodb_local_sizes_them(table, text_bytes, version):
    client, name = table
    item = _item(f"note#{text_bytes}", text_bytes, version)
    # When DynamoDB Local writes the item new, then replaces it with a bigger version
    put = client.put_item(TableName=name, Item=item, ReturnConsumedCapacity="TOTAL")
    bigger = {**item, "text": {"S": item["text"]["S"] + "x" * 700}}
    replaced = client.put_item(
        TableName=name, Item=bigger, ReturnConsumedCapacity="TOTAL", ReturnValues="ALL_OLD"
    )
    # Then the meter's rules give the same units
    assert write_units(KEYS, INDEXES, None, item) == put["ConsumedCapacity"]["CapacityUnits"]
    assert write_units(KEYS, INDEXES, item, bigger) == replaced["ConsumedCapacity"]["CapacityUnits"]


def test_a_multi_item_transaction_costs_two_units_per_item_write(table):
    # Given the meter in front of DynamoDB Local
    client, name = table
    meter = CapacityMeter(client.meta.endpoint_url)
    url = meter.start()
    try:
        metered = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        # When three small items (in the table and its LSI) are written in one transaction
        metered.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": _item(f"note#{n}", 10, n)}} for n in range(3)
            ]
        )
        # Then each costs 2 x (1 table + 1 index) units
        assert meter.snapshot().write_units == 3 * 2 * 2
    finally:
        meter.stop()


def test_a_write_that_moves_the_index_key_pays_a_delete_and_a_put_in_the_index(table):
    client, name = table
    item = _item("meta", 10, 1)
    client.put_item(TableName=name, Item=item)
    moved = {**item, "version": {"N": "2"}}
    reply = client.put_item(TableName=name, Item=moved, ReturnConsumedCapacity="TOTAL")
    # 1 table unit, then the old index entry deleted and the new one written
    assert write_units(KEYS, INDEXES, item, moved) == 3
    assert reply["ConsumedCapacity"]["CapacityUnits"] == 3
