"""Time to Live, which neither DynamoDB Local nor moto applies: every N seconds, delete the
expired items of every TTL-enabled table through the ordinary API (so they reach the
stream as REMOVE records), and remember them so their events carry TTL's userIdentity."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.local.dynamodb_front import Notice, NoticeKind
from infra.local.dynamodb_wire import DynamoDBApi, DynamoDBError
from infra.local.streams.events import TTL_USER_IDENTITY, keys_fingerprint

log = logging.getLogger("userdb.local.ttl")

FIVE_YEARS_S = 5 * 365 * 24 * 3600  # DynamoDB ignores expiry times older than this
FULL_RESCAN_S = 600.0  # tables nobody wrote through the front are rescanned this often


class TtlRemovals:
    """Deletions the sweeper made, to tell its REMOVE records from a user's."""

    def __init__(self, max_entries: int = 100_000, keep_s: float = 86_400.0) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = OrderedDict()
        self._max, self._keep = max_entries, keep_s

    def add(self, table: str, keys: dict[str, Any], ttl_value: dict[str, Any], now: float) -> None:
        self._entries[(table, keys_fingerprint(keys))] = (now, ttl_value)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def identify(
        self, table: str, record: dict[str, Any], now: float | None = None
    ) -> dict[str, str] | None:
        """TTL's userIdentity if this REMOVE record is one of the sweeper's deletions."""
        if record.get("eventName") != "REMOVE":
            return None
        change = record.get("dynamodb", {})
        entry = self._entries.get((table, keys_fingerprint(change.get("Keys", {}))))
        if entry is None:
            return None
        added, ttl_value = entry
        if (now or time.time()) - added > self._keep:
            return None
        old_image = change.get("OldImage")
        if old_image is not None and ttl_value not in old_image.values():
            return None
        return dict(TTL_USER_IDENTITY)


@dataclass
class _TableTtl:
    attribute: str | None
    keys: list[str]
    next_due: float = 0.0
    scanned_at: float = -math.inf
    written: bool = False  # a write was noticed since the current scan began


class TtlSweeper:
    def __init__(
        self,
        api: DynamoDBApi,
        removals: TtlRemovals,
        on_swept: Callable[[str], None],
        interval_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        *,
        own_tables_only: bool = False,
    ) -> None:
        self._api = api
        # On a backend others use too (an endpoint, LocalStack), another runtime's tables
        # are its sweeper's: deleting them here would give their REMOVE records no
        # userIdentity in the runtime that reads them. Own = written through this front.
        self._own_tables_only = own_tables_only
        self._own: set[str] = set()
        self._removals = removals
        self._on_swept = on_swept
        self.interval_s = interval_s
        self._clock = clock
        self._tables: dict[str, _TableTtl] = {}
        self._schema_changes: Counter[str] = Counter()
        self.deleted = 0

    def notice(self, notice: Notice) -> None:
        """Writes make a table due; schema changes make it described again."""
        self._own.update(notice.tables)
        for table in notice.tables:
            if notice.kind is NoticeKind.SCHEMA:
                self._tables.pop(table, None)
                self._schema_changes[table] += 1
            elif table in self._tables:
                self._tables[table].next_due = 0.0
                self._tables[table].written = True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except (OSError, DynamoDBError) as error:
                log.warning("TTL sweep failed: %s", error)
            except Exception:
                log.exception("TTL sweep failed")

    async def _table_names(self) -> list[str]:
        names: list[str] = []
        start: str | None = None
        while True:
            payload: dict[str, Any] = {"ExclusiveStartTableName": start} if start else {}
            page = await self._api.dynamodb("ListTables", **payload)
            names.extend(page.get("TableNames", []))
            start = page.get("LastEvaluatedTableName")
            if not start:
                return names

    async def _describe(self, table: str) -> _TableTtl:
        ttl = (await self._api.dynamodb("DescribeTimeToLive", TableName=table))[
            "TimeToLiveDescription"
        ]
        if ttl.get("TimeToLiveStatus") != "ENABLED":
            return _TableTtl(attribute=None, keys=[])
        schema = (await self._api.dynamodb("DescribeTable", TableName=table))["Table"]["KeySchema"]
        return _TableTtl(attribute=ttl["AttributeName"], keys=[k["AttributeName"] for k in schema])

    async def sweep(self) -> int:
        """One pass over every TTL-enabled table that may hold expired items; returns deletions."""
        names = await self._table_names()
        if self._own_tables_only:
            names = [name for name in names if name in self._own]
        for gone in set(self._tables) - set(names):
            del self._tables[gone]
        deleted = 0
        for table in names:
            try:
                info = self._tables.get(table)
                if info is None:
                    changes = self._schema_changes[table]
                    info = await self._describe(table)
                    if changes != self._schema_changes[table]:
                        continue  # changed while described: describe it again next time
                    self._tables[table] = info
                now = self._clock()
                if info.attribute is None:
                    continue
                if info.next_due > now and now - info.scanned_at < FULL_RESCAN_S:
                    continue
                deleted += await self._sweep_table(table, info, now)
            except DynamoDBError as error:
                if error.code != "ResourceNotFoundException":
                    raise
                self._tables.pop(table, None)
        self.deleted += deleted
        return deleted

    async def _sweep_table(self, table: str, info: _TableTtl, now: float) -> int:
        assert info.attribute is not None
        names = {f"#k{i}": key for i, key in enumerate(info.keys)} | {"#ttl": info.attribute}
        info.written = False
        expired: list[tuple[dict[str, Any], dict[str, Any]]] = []
        next_due = math.inf
        start: dict[str, Any] | None = None
        while True:
            payload: dict[str, Any] = {
                "TableName": table,
                "FilterExpression": "attribute_exists(#ttl)",
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
            if start:
                payload["ExclusiveStartKey"] = start
            page = await self._api.dynamodb("Scan", **payload)
            for item in page.get("Items", []):
                ttl_value = item.get(info.attribute, {})
                try:
                    expires = float(ttl_value["N"])
                except (KeyError, TypeError, ValueError):
                    continue  # TTL applies to Number attributes only
                if now - FIVE_YEARS_S <= expires < now:
                    expired.append(({k: item[k] for k in info.keys}, ttl_value))
                elif expires >= now:
                    next_due = min(next_due, expires)
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        deleted = 0
        for keys, ttl_value in expired:
            self._removals.add(table, keys, ttl_value, now)
            try:
                await self._api.dynamodb(
                    "DeleteItem",
                    TableName=table,
                    Key=keys,
                    ConditionExpression="#ttl = :expires",
                    ExpressionAttributeNames={"#ttl": info.attribute},
                    ExpressionAttributeValues={":expires": ttl_value},
                )
                deleted += 1
            except DynamoDBError as error:
                if error.code != "ConditionalCheckFailedException":
                    raise
        info.next_due, info.scanned_at = (0.0 if info.written else next_due), now
        if deleted:
            log.info("TTL: deleted %d expired item(s) of %s", deleted, table)
        # Wake the readers even when nothing was left to delete: DynamoDB Local's own TTL
        # may have deleted the items, and its deletions do not pass through the front.
        self._on_swept(table)
        return deleted
