"""The runtime on moto (`--backend moto`) under concurrent transactions.

moto's TransactWriteItems deep-copies every table it touches while other requests change
them: 100 parallel transactions on a table of a few thousand items gave 500s
("dictionary changed size during iteration"). The runtime passes moto its requests one
at a time, so each transaction runs alone, as DynamoDB makes them appear.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import RuntimeProcess

pytestmark = pytest.mark.slow

WRITERS = 100
ITEMS = 3000


@pytest.fixture(scope="module")
def moto_runtime() -> Iterator[RuntimeProcess]:
    runtime = RuntimeProcess(PROJECT_DIR, backend="moto").start()
    yield runtime
    runtime.stop()


def test_parallel_conditional_transactions_give_one_winner_and_no_error(moto_runtime):
    dynamodb: Any = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{moto_runtime.ddb_port}",
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
        config=Config(max_pool_connections=WRITERS, retries={"max_attempts": 1}),
    )
    # Given a table of a few thousand items
    table = f"race-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for start in range(0, ITEMS, 25):
        puts = [
            {"PutRequest": {"Item": {"pk": {"S": f"item{n}"}}}} for n in range(start, start + 25)
        ]
        dynamodb.batch_write_item(RequestItems={table: puts})
    # When 100 writers claim one key at once, each with an item of its own (a sign-up)
    barrier = threading.Barrier(WRITERS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def claim(n: int) -> None:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": table,
                    "Item": {"pk": {"S": "email#ann@example.com"}, "by": {"N": str(n)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"account{n}"}}}},
        ]
        barrier.wait()
        try:
            dynamodb.transact_write_items(TransactItems=items)
            outcome = "claimed"
        except dynamodb.exceptions.TransactionCanceledException:
            outcome = "cancelled"
        except Exception as error:  # counted: what the test is about
            outcome = f"error: {error}"[:80]
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one claimed it, the others were cancelled, and none failed
    assert outcomes == {"claimed": 1, "cancelled": WRITERS - 1}
