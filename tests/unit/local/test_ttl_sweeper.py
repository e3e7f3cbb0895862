"""The TTL sweeper against an in-memory DynamoDB API: what it deletes, when it rescans."""

import asyncio
from typing import Any

from infra.local.dynamodb_front import Notice, NoticeKind
from infra.local.dynamodb_wire import DynamoDBError
from infra.local.ttl_sweeper import TtlRemovals, TtlSweeper

NOW = 1_800_000_000.0


class FakeDynamoDB:
    """One table `t` (key `pk`), TTL on `expires` when enabled; counts scans."""

    def __init__(self, ttl_enabled: bool = True) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.ttl_enabled = ttl_enabled
        self.scans = 0
        self.on_describe: Any = None  # called inside DescribeTimeToLive, to interleave a notice

    def put(self, key: str, expires: float | None) -> None:
        item: dict[str, Any] = {"pk": {"S": key}}
        if expires is not None:
            item["expires"] = {"N": str(int(expires))}
        self.items[key] = item

    async def dynamodb(self, operation: str, **payload: Any) -> dict[str, Any]:
        if operation == "ListTables":
            return {"TableNames": ["t"]}
        if operation == "DescribeTimeToLive":
            enabled = self.ttl_enabled
            if self.on_describe:
                self.on_describe()
            status = "ENABLED" if enabled else "DISABLED"
            return {
                "TimeToLiveDescription": {"TimeToLiveStatus": status, "AttributeName": "expires"}
            }
        if operation == "DescribeTable":
            return {"Table": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}
        if operation == "Scan":
            self.scans += 1
            return {"Items": [dict(i) for i in self.items.values() if "expires" in i]}
        if operation == "DeleteItem":
            key = payload["Key"]["pk"]["S"]
            item = self.items.get(key)
            if (
                item is None
                or item.get("expires") != payload["ExpressionAttributeValues"][":expires"]
            ):
                raise DynamoDBError("ConditionalCheckFailedException", "", 400)
            del self.items[key]
            return {}
        raise AssertionError(operation)


def sweeper(api, clock=lambda: NOW, own_tables_only=False):
    woken: list[str] = []
    made = TtlSweeper(
        api, TtlRemovals(), woken.append, 30, clock=clock, own_tables_only=own_tables_only
    )
    return made, woken


def test_expired_items_are_deleted_and_their_readers_woken():
    # Given an expired item, a live one, one without TTL and one expired over five years ago
    api = FakeDynamoDB()
    api.put("old", NOW - 10)
    api.put("live", NOW + 3600)
    api.put("plain", None)
    api.put("ancient", NOW - 6 * 365 * 24 * 3600)
    ttl, woken = sweeper(api)
    # When a sweep runs
    deleted = asyncio.run(ttl.sweep())
    # Then only the expired item goes, through a conditional delete, and the table is woken
    assert deleted == 1
    assert set(api.items) == {"live", "plain", "ancient"}
    assert woken == ["t"]


def test_quiet_tables_are_not_rescanned_until_their_earliest_ttl():
    # Given a table whose only TTL item expires in an hour
    api = FakeDynamoDB()
    api.put("live", NOW + 3600)
    now = [NOW]
    ttl, _ = sweeper(api, clock=lambda: now[0])

    async def sweeps():
        await ttl.sweep()
        now[0] += 30
        await ttl.sweep()  # quiet: no scan
        quiet_scans = api.scans
        ttl.notice(Notice(NoticeKind.WRITE, "PutItem", frozenset({"t"})))
        await ttl.sweep()  # written: scan
        return quiet_scans, api.scans

    # Then the second sweep does not scan, and a noticed write makes the next one scan
    assert asyncio.run(sweeps()) == (1, 2)


def test_a_ttl_enabled_while_being_described_is_not_missed():
    # Given a table whose TTL gets enabled while the sweeper reads it as disabled
    api = FakeDynamoDB(ttl_enabled=False)
    api.put("old", NOW - 10)
    ttl, _ = sweeper(api)

    def enable_now():
        api.ttl_enabled = True
        ttl.notice(Notice(NoticeKind.SCHEMA, "UpdateTimeToLive", frozenset({"t"})))

    api.on_describe = enable_now

    async def sweeps():
        first = await ttl.sweep()
        api.on_describe = None
        return first, await ttl.sweep()

    # Then the stale "disabled" is not kept: the next sweep deletes the expired item
    assert asyncio.run(sweeps()) == (0, 1)


def test_on_a_shared_backend_only_the_tables_written_through_this_front_are_swept():
    # Given an expired item in a table another program (another runtime) keeps
    api = FakeDynamoDB()
    api.put("old", NOW - 10)
    ttl, _ = sweeper(api, own_tables_only=True)
    # When a sweep runs, it leaves that table to its own runtime's sweeper
    assert asyncio.run(ttl.sweep()) == 0 and "old" in api.items
    # Once this runtime has written the table, it sweeps it
    ttl.notice(Notice(NoticeKind.WRITE, "PutItem", frozenset({"t"})))
    assert asyncio.run(ttl.sweep()) == 1 and "old" not in api.items
