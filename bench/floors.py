"""Floors: the best this machine does for the same work with nothing of ours in the way.

- A bare `websockets` broadcast server (bench/broadcast_server.py, in its own process as
  the gateway is): every message a client sends goes to every other client. Its
  delivery time, deliveries per second and memory per idle connection are the floors
  of the gateway's.
- DynamoDB, on the backend a benchmark uses: the write the app makes for a note (one
  TransactWriteItems: the conditional `meta` increment and the note) on a table shaped
  like a tenant's (its LSI and its stream), and the time until GetRecords returns it;
  a plain PutItem too.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

from bench.harness import elapsed_ms, summary
from chalicelib.dal.items import TTL_ATTRIBUTE, TenantItem
from chalicelib.dal.schema import table_definition
from infra.local.config import PROJECT_DIR
from infra.local.ports import free_port
from tests.support.local_runtime import wait_for

# -- the broadcast server --------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """A process's resident memory, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class BroadcastServer:
    """The bare broadcast server in a subprocess; `url` once it accepts connections."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> BroadcastServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.broadcast_server", "--port", str(self.port)],
            cwd=PROJECT_DIR,
        )

        def accepts() -> bool:
            with contextlib.suppress(OSError, websocket.WebSocketException):
                websocket.create_connection(self.url, timeout=1).close()
                return True
            return False

        wait_for(accepts, 15, "the broadcast server")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@contextlib.contextmanager
def broadcast_server() -> Iterator[BroadcastServer]:
    server = BroadcastServer().start()
    try:
        yield server
    finally:
        server.stop()


class Receiver:
    """A websocket-client connection on a thread, noting when each message id arrived."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=10)
        self.arrived: dict[int, float] = {}
        self.changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.ws.recv()
            except (OSError, websocket.WebSocketException):
                return
            at = time.monotonic()
            if not data:
                return
            with self.changed:
                self.arrived[int(json.loads(data)["id"])] = at
                self.changed.notify_all()

    def wait(self, message_id: int, timeout_s: float = 10.0) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: message_id in self.arrived, timeout_s):
                raise TimeoutError(f"broadcast {message_id} never arrived")
            return self.arrived[message_id]

    def close(self) -> None:
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.ws.close()


def measure_broadcast(
    server: BroadcastServer, receivers: int, messages: int, pause_s: float = 0.02
) -> dict[str, Any]:
    """Send `messages` one at a time to `receivers` others: delivery time to each, and
    deliveries per second across one message's arrivals (its spread)."""
    listening = [Receiver(server.url) for _ in range(receivers)]
    sender = websocket.create_connection(server.url, timeout=10)
    latencies: list[float] = []
    rates: list[float] = []
    try:
        time.sleep(0.2)  # every receiver registered with the server
        for n in range(messages + 5):
            sent = time.monotonic()
            sender.send(json.dumps({"id": n, "payload": "x" * 200}))
            arrivals = [r.wait(n) for r in listening]
            if n >= 5:  # warm-up
                latencies.extend((at - sent) * 1000 for at in arrivals)
                spread = max(arrivals) - min(arrivals)
                if receivers > 1 and spread > 0:
                    rates.append((receivers - 1) / spread)
            time.sleep(pause_s)
    finally:
        sender.close()
        for receiver in listening:
            receiver.close()
    result: dict[str, Any] = {"receivers": receivers, "delivery": summary(latencies)}
    if rates:
        result["deliveries_per_s"] = summary(rates, unit="per_s", digits=0)
    return result


# -- DynamoDB ---------------------------------------------------------------------------------


class TenantShapedTable:
    """A table made from the tenant definition (keys, LSI, stream), written as the app writes."""

    def __init__(self, dynamodb: Any, streams: Any) -> None:
        self.dynamodb, self.streams = dynamodb, streams
        self.name = f"bench-floor-{uuid.uuid4().hex[:8]}"
        request = table_definition(TenantItem, self.name, TTL_ATTRIBUTE).request
        self.stream_arn = dynamodb.create_table(**request)["TableDescription"]["LatestStreamArn"]
        wait_for(
            lambda: (
                dynamodb.describe_table(TableName=self.name)["Table"]["TableStatus"] == "ACTIVE"
            ),
            30,
            "the floor table",
        )
        self.tenant = "floor"
        self.version = 0
        dynamodb.put_item(
            TableName=self.name,
            Item={"pk": {"S": self.tenant}, "sk": {"S": "meta"}, "version": {"N": "0"}},
        )
        self._iterator: str | None = None

    def transact_note(self, text: str) -> str:
        """The app's note write: `meta` from V to V+1 if still V, and the note at V+1."""
        return self.transact_docs([json.dumps({"text": text}, separators=(",", ":"))])[0]

    def transact_docs(self, datas: list[str]) -> list[str]:
        """The app's write of len(datas) new documents in one transaction: `meta` from V to
        V+n if still V, and document i at V+1+i (a create's condition each)."""
        keys = [f"note#{uuid.uuid4().hex[:16]}" for _ in datas]
        now = str(time.time_ns() // 1_000_000)
        last = self.version + len(datas)
        meta = {
            "Update": {
                "TableName": self.name,
                "Key": {"pk": {"S": self.tenant}, "sk": {"S": "meta"}},
                "UpdateExpression": "SET #v = :next",
                "ConditionExpression": "#v = :expected",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {
                    ":next": {"N": str(last)},
                    ":expected": {"N": str(self.version)},
                },
            }
        }
        documents = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": {"pk": {"S": self.tenant}, "sk": {"S": key}},
                    "UpdateExpression": "SET #v = :v, #u = :now, #data = :data, #c = :now "
                    "REMOVE #t, #d, #e",
                    "ConditionExpression": "attribute_not_exists(pk) OR #d = :true",
                    "ExpressionAttributeNames": {
                        "#v": "version",
                        "#t": "text",
                        "#data": "data",
                        "#c": "created",
                        "#u": "updated",
                        "#d": "deleted",
                        "#e": "expires",
                    },
                    "ExpressionAttributeValues": {
                        ":v": {"N": str(self.version + 1 + index)},
                        ":data": {"S": data},
                        ":now": {"N": now},
                        ":true": {"BOOL": True},
                    },
                }
            }
            for index, (key, data) in enumerate(zip(keys, datas, strict=True))
        ]
        self.dynamodb.transact_write_items(TransactItems=[meta, *documents])
        self.version = last
        return keys

    def put_note(self, text: str) -> str:
        note_key = f"note#{uuid.uuid4().hex[:16]}"
        self.dynamodb.put_item(
            TableName=self.name,
            Item={"pk": {"S": self.tenant}, "sk": {"S": note_key}, "text": {"S": text}},
        )
        return note_key

    def _shard_iterator(self) -> str:
        if self._iterator is None:
            description = self.streams.describe_stream(StreamArn=self.stream_arn)
            shard = description["StreamDescription"]["Shards"][-1]["ShardId"]
            self._iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType="LATEST"
            )["ShardIterator"]
        return self._iterator

    def wait_in_stream(self, sort_key: str, timeout_s: float = 10.0) -> None:
        """Poll GetRecords as fast as it answers until a record of `sort_key` comes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reply = self.streams.get_records(ShardIterator=self._shard_iterator())
            self._iterator = reply.get("NextShardIterator")
            keys = {r["dynamodb"]["Keys"]["sk"]["S"] for r in reply.get("Records", [])}
            if sort_key in keys:
                return
        raise TimeoutError(f"{sort_key} never reached the stream")

    def delete(self) -> None:
        with contextlib.suppress(Exception):
            self.dynamodb.delete_table(TableName=self.name)


def measure_write_to_stream(table: TenantShapedTable, writes: int) -> dict[str, Any]:
    """Each write alone (the shard read dry before it): its own time, and its time until
    GetRecords returns it; for the app's transaction and for a plain PutItem."""
    text = "benchmark note " * 13
    table._shard_iterator()
    found: dict[str, Any] = {}
    for name, write in (("transact", table.transact_note), ("put", table.put_note)):
        answered, seen = [], []
        for n in range(writes + 5):
            started = time.perf_counter()
            key = write(text)
            written = elapsed_ms(started)
            table.wait_in_stream(key)
            if n >= 5:  # warm-up
                answered.append(written)
                seen.append(elapsed_ms(started))
        found[name] = {"write": summary(answered), "write_to_get_records": summary(seen)}
    return found


def measure_transactions(table: TenantShapedTable, writes: int) -> dict[str, Any]:
    """The app's note transaction, back to back: its latency alone."""
    samples = []
    text = "benchmark note " * 13
    for n in range(writes + 10):
        started = time.perf_counter()
        table.transact_note(text)
        if n >= 10:
            samples.append(elapsed_ms(started))
    return summary(samples)
