"""What userdb would cost on AWS, from requests counted on the local runtime.

    .venv/bin/python -m bench.cost_model [--clients 1 3 10] [--writes 60] [--pings 5]

Runs this project's app under `python -m infra.local up --backend endpoint` on
DynamoDB Local behind a metering proxy (bench/capacity_meter.py). For each N it
signs up a user, connects N WebSocket clients (each says `hello`, applies the
snapshot and acks, as the web client does), sends pings, then makes note writes
one at a time through the REST API, each waited for until every client has
received it, then 150 ms more (a user typing: every write its own stream batch,
the worst case for fan-out; bursts coalesce and cost less), and closes the clients.
For each phase it counts what AWS bills:

- Lambda invocations and their durations, from the runtime's REPORT lines;
- DynamoDB read and write request units, from the meter;
- REST API requests, and WebSocket messages both ways with their sizes (billed in
  32 KB increments), from the clients;
- CloudWatch Logs bytes: the app's log lines, plus Lambda's own START/END/REPORT.

Connection minutes are time, not traffic: they are priced per connected
client-hour, with the heartbeat (a ping every 30 s) measured here. Prints a
table and writes bench/results/cost_model.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websocket

from bench.capacity_meter import Capacity, CapacityMeter
from bench.harness import ResultFile, RuntimeOptions, local_runtime
from infra.local.config import PROJECT_DIR
from infra.local.dynamodb_local import DynamoDBLocalProcess
from infra.local.ports import free_port
from tests.support.local_runtime import RuntimeProcess

# us-east-1, on-demand list prices (x86_64 Lambda, Standard DynamoDB tables), no free tier.
PRICES: dict[str, Any] = {
    "region": "us-east-1",
    "as_of": "2026-11-27",
    "source": "AWS's published list prices for us-east-1 as last known to this project; "
    "this machine cannot reach AWS pricing pages: check them before relying on totals",
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "rest_api_request": 3.50 / 1e6,
    "websocket_message_32kb": 1.00 / 1e6,
    "websocket_connection_minute": 0.25 / 1e6,
    "cloudwatch_logs_ingested_gb": 0.50,
}
MESSAGE_UNIT_BYTES = 32 * 1024
# Lambda's own log events per invocation (START, END, REPORT: about 240 bytes) plus
# CloudWatch's 26 bytes of metering per event.
PLATFORM_LOG_BYTES = 240 + 3 * 26
APP_LOG_EVENT_OVERHEAD = 26
PINGS_PER_HOUR = 120  # DESIGN §5: a ping every 30 s
MEMORY_GB = 0.5  # lambda_memory_size in .chalice/config.json
# After each write has reached every client: longer than the stream interval (100 ms).
WRITE_PAUSE_S = 0.15

REPORT = re.compile(r"REPORT RequestId: \S+ Function: (\S+) Duration: ([\d.]+) ms")


@dataclass
class Messages:
    """WebSocket frames one way: how many, and their 32 KB billing units."""

    count: int = 0
    units: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.count += 1
        self.bytes += size
        self.units += max(1, math.ceil(size / MESSAGE_UNIT_BYTES))


class Device:
    """A WebSocket client that behaves like the web client: hello, apply, ack, ping."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=10)
        self.sent, self.received = Messages(), Messages()
        self.cursor = 0
        self.pongs = 0
        self.welcomed = False
        self.changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message)
        self.ws.send(data)
        with self.changed:
            self.sent.add(len(data.encode()))

    def _read(self) -> None:
        while True:
            try:
                data = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError):
                return
            raw = data.encode() if isinstance(data, str) else data
            if not raw:  # the connection closed
                return
            message = json.loads(raw)
            if message.get("type") == "changes" and message["to"] > 0:
                self.send({"action": "ack", "version": message["to"]})
            with self.changed:
                self.received.add(len(raw))
                if message.get("type") == "welcome":
                    self.welcomed = True
                elif message.get("type") == "changes":
                    self.cursor = max(self.cursor, message["to"])
                elif message.get("type") == "pong":
                    self.pongs += 1
                self.changed.notify_all()

    def wait(self, condition: Callable[[Device], bool], timeout: float = 30) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: condition(self), timeout):
                raise TimeoutError("the client did not get what it waited for")

    def close(self) -> None:
        self.ws.close()


class Rest:
    """JSON over one keep-alive connection to the local REST API, counting requests."""

    # uvicorn closes idle keep-alive connections after 5 s: reconnect before that.
    IDLE_SECONDS = 2.0

    def __init__(self, port: int) -> None:
        self._port = port
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._last_used = time.monotonic()
        self.token: str | None = None
        self.requests = 0

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body).encode() if body is not None else None
        if time.monotonic() - self._last_used > self.IDLE_SECONDS:
            self._connection.close()
            self._connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)
        self._connection.request(method, "/api" + path, body=payload, headers=headers)
        response = self._connection.getresponse()
        raw = response.read()
        self._last_used = time.monotonic()
        self.requests += 1
        return response.status, json.loads(raw) if raw else None


@dataclass
class Window:
    """What one phase made AWS bill for."""

    invocations: dict[str, list[float]] = field(default_factory=dict)
    capacity: Capacity = field(default_factory=Capacity)
    rest_requests: int = 0
    to_server: Messages = field(default_factory=Messages)
    to_clients: Messages = field(default_factory=Messages)
    app_log_events: int = 0
    app_log_bytes: int = 0

    def counts(self, per: float) -> dict[str, Any]:
        """The phase's figures divided by `per` (writes, pings or connections)."""
        durations = [d for ds in self.invocations.values() for d in ds]
        invocations = len(durations)
        return {
            "lambda_invocations": invocations / per,
            "lambda_invocations_by_function": {
                name: len(ds) / per for name, ds in sorted(self.invocations.items())
            },
            "lambda_duration_ms_p50_by_function": {
                name: round(statistics.median(ds), 2)
                for name, ds in sorted(self.invocations.items())
            },
            # Lambda bills each invocation's duration rounded up to the millisecond.
            "lambda_gb_seconds": sum(math.ceil(d) for d in durations) / 1000 * MEMORY_GB / per,
            "dynamodb_read_units": self.capacity.read_units / per,
            "dynamodb_write_units": self.capacity.write_units / per,
            "dynamodb_calls": {k: v / per for k, v in sorted(self.capacity.calls.items())},
            "rest_requests": self.rest_requests / per,
            "websocket_messages_to_server": self.to_server.count / per,
            "websocket_messages_to_clients": self.to_clients.count / per,
            "websocket_message_units": (self.to_server.units + self.to_clients.units) / per,
            "websocket_bytes_to_clients": self.to_clients.bytes / per,
            "log_bytes": (
                self.app_log_bytes
                + self.app_log_events * APP_LOG_EVENT_OVERHEAD
                + invocations * PLATFORM_LOG_BYTES
            )
            / per,
        }


def cost(counts: dict[str, Any]) -> dict[str, float]:
    """Dollars for the counts of one unit of work (one write, one ping, one connection)."""
    p = PRICES
    return {
        "rest_api": counts["rest_requests"] * p["rest_api_request"],
        "lambda_requests": counts["lambda_invocations"] * p["lambda_request"],
        "lambda_duration": counts["lambda_gb_seconds"] * p["lambda_gb_second"],
        "dynamodb": counts["dynamodb_write_units"] * p["dynamodb_write_request_unit"]
        + counts["dynamodb_read_units"] * p["dynamodb_read_request_unit"],
        "websocket_messages": counts["websocket_message_units"] * p["websocket_message_32kb"],
        "cloudwatch_logs": counts["log_bytes"] / 1e9 * p["cloudwatch_logs_ingested_gb"],
    }


class Observer:
    """Marks where a phase starts in the runtime's log, the meter and the clients."""

    def __init__(self, runtime: RuntimeProcess, meter: CapacityMeter) -> None:
        self.runtime, self.meter = runtime, meter

    def quiet(self, settle: float = 0.8, timeout: float = 30) -> None:
        """Wait until the runtime logs nothing and DynamoDB sees no data call for `settle` s."""
        deadline = time.monotonic() + timeout
        last = (len(self.runtime.output_text()), self.meter.snapshot().calls.total())
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < settle:
            if time.monotonic() > deadline:
                raise TimeoutError("the runtime did not settle")
            time.sleep(0.1)
            now = (len(self.runtime.output_text()), self.meter.snapshot().calls.total())
            if now != last:
                last, stable_since = now, time.monotonic()

    def measure(self, devices: list[Device], rest: Rest, phase: Callable[[], None]) -> Window:
        """Run `phase` and count what it caused; `devices` may grow during the phase."""
        self.quiet()
        log_start = len(self.runtime.output_text())
        capacity = self.meter.snapshot()
        rest_before = rest.requests
        before = {id(d): (_copy(d.sent), _copy(d.received)) for d in devices}
        phase()
        self.quiet()
        window = Window(capacity=self.meter.snapshot().since(capacity))
        window.rest_requests = rest.requests - rest_before
        for device in devices:
            sent, received = before.get(id(device), (Messages(), Messages()))
            _add_difference(window.to_server, device.sent, sent)
            _add_difference(window.to_clients, device.received, received)
        for line in self.runtime.output_text()[log_start:].splitlines():
            report = REPORT.search(line)
            if report:
                window.invocations.setdefault(report.group(1), []).append(float(report.group(2)))
            elif line.startswith("{"):
                window.app_log_events += 1
                window.app_log_bytes += len(line.encode())
        return window


def _copy(messages: Messages) -> Messages:
    return Messages(messages.count, messages.units, messages.bytes)


def _add_difference(total: Messages, now: Messages, then: Messages) -> None:
    total.count += now.count - then.count
    total.units += now.units - then.units
    total.bytes += now.bytes - then.bytes


def _sum_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two phases' per-unit figures added up (medians: each function's from its phase)."""
    total: dict[str, Any] = {}
    for key, value in a.items():
        if isinstance(value, dict):
            merged = dict(b[key])
            for name, figure in value.items():
                summed = "p50" not in key and name in merged
                merged[name] = figure + merged[name] if summed else figure
            total[key] = merged
        else:
            total[key] = value + b[key]
    return total


def _pongs(at_least: int) -> Callable[[Device], bool]:
    return lambda device: device.pongs >= at_least


def _cursor(at_least: int) -> Callable[[Device], bool]:
    return lambda device: device.cursor >= at_least


def scenario(
    runtime: RuntimeProcess, observer: Observer, *, clients: int, writes: int, pings: int, text: str
) -> dict[str, Any]:
    rest = Rest(runtime.port)
    email = f"cost-{uuid.uuid4().hex[:10]}@example.com"
    status, body = rest.call(
        "POST", "/auth/signup", {"email": email, "password": "cost model pw 1", "name": "C"}
    )
    assert status == 201, body
    rest.token = body["token"]
    devices: list[Device] = []

    def open_all() -> None:
        for _ in range(clients):
            url = runtime.ws_url(token=rest.token or "", clientId=str(uuid.uuid4()))
            device = Device(url)
            device.send({"action": "hello", "since": None})
            devices.append(device)
        for device in devices:
            device.wait(lambda d: d.welcomed)

    opened = observer.measure(devices, rest, open_all)

    def heartbeat() -> None:
        for _ in range(pings):
            for device in devices:
                expected = device.pongs + 1
                device.send({"action": "ping", "version": device.cursor})
                device.wait(_pongs(expected))

    pinged = observer.measure(devices, rest, heartbeat)

    def write_notes() -> None:
        for _ in range(writes):
            status, body = rest.call("POST", "/notes", {"text": text})
            assert status == 201, body
            version = body["note"]["version"]
            for device in devices:
                device.wait(_cursor(version))
            # Past the stream's interval: every write is its own stream batch, as when typing.
            time.sleep(WRITE_PAUSE_S)

    written = observer.measure(devices, rest, write_notes)

    def close_all() -> None:
        for device in devices:
            device.close()

    closed = observer.measure(devices, rest, close_all)
    return {
        "clients": clients,
        "writes": writes,
        "pings": clients * pings,
        "per_write": written.counts(writes),
        "per_ping": pinged.counts(clients * pings),
        "per_connection": _sum_counts(opened.counts(clients), closed.counts(clients)),
    }


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Dollars per million writes, per connected client-hour and per connection."""
    per_write = cost(result["per_write"])
    per_ping = cost(result["per_ping"])
    per_connection = cost(result["per_connection"])
    hour = sum(per_ping.values()) * PINGS_PER_HOUR + 60 * PRICES["websocket_connection_minute"]
    return {
        "per_million_writes": {k: round(v * 1e6, 2) for k, v in per_write.items()},
        "per_million_writes_total": round(sum(per_write.values()) * 1e6, 2),
        "per_connected_client_hour": round(hour, 7),
        "per_connection_open_and_close": round(sum(per_connection.values()), 8),
    }


def print_table(results: list[dict[str, Any]]) -> None:
    columns = [
        "rest_api",
        "lambda_requests",
        "lambda_duration",
        "dynamodb",
        "websocket_messages",
        "cloudwatch_logs",
    ]
    print(f"AWS cost per million note writes, {PRICES['region']} on-demand ({PRICES['as_of']})")
    header = f"{'clients':>7} " + "".join(f"{c:>19}" for c in columns) + f"{'total':>11}"
    print(header)
    for result in results:
        summary = result["cost"]["per_million_writes"]
        print(
            f"{result['clients']:>7} "
            + "".join(f"{'$' + format(summary[c], '.2f'):>19}" for c in columns)
            + f"{'$' + format(result['cost']['per_million_writes_total'], '.2f'):>11}"
        )
    print()
    print(f"{'clients':>7} {'WRU/write':>10} {'RRU/write':>10} {'Lambda/write':>13} "
          f"{'msgs/write':>11} {'$/client-hour':>14} {'$/connection':>13}")  # fmt: skip
    for result in results:
        w = result["per_write"]
        print(
            f"{result['clients']:>7} {w['dynamodb_write_units']:>10.2f} "
            f"{w['dynamodb_read_units']:>10.2f} {w['lambda_invocations']:>13.2f} "
            f"{w['websocket_messages_to_server'] + w['websocket_messages_to_clients']:>11.2f} "
            f"{result['cost']['per_connected_client_hour']:>14.7f} "
            f"{result['cost']['per_connection_open_and_close']:>13.8f}"
        )


def run(clients: list[int], writes: int, pings: int, note_bytes: int) -> dict[str, Any]:
    backend = DynamoDBLocalProcess("127.0.0.1", free_port(), data_dir=None)
    meter = CapacityMeter(backend.start())
    try:
        options = RuntimeOptions(backend="endpoint", extra_args=("--endpoint", meter.start()))
        with local_runtime(options) as runtime:
            observer = Observer(runtime, meter)
            text = ("note " * note_bytes)[:note_bytes]
            results = []
            for n in clients:
                result = scenario(
                    runtime, observer, clients=n, writes=writes, pings=pings, text=text
                )
                result["cost"] = summarize(result)
                results.append(result)
    finally:
        meter.stop()
        backend.stop()
    return {
        "prices": PRICES,
        "assumptions": {
            "tenancy": "silo (stage local)",
            "note_text_bytes": note_bytes,
            "lambda_memory_gb": MEMORY_GB,
            "writes": "sequential, each received and acked by every client before the next",
            "heartbeat": f"{PINGS_PER_HOUR} pings per connected client-hour",
            "platform_log_bytes_per_invocation": PLATFORM_LOG_BYTES,
            "not_counted": "free tiers, storage (GB-month), data transfer out, cold starts, "
            "X-Ray; DynamoDB Streams reads by Lambda are free",
            "durations": "this machine's, with DynamoDB Local on loopback: indicative only",
        },
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--writes", type=int, default=60)
    parser.add_argument("--pings", type=int, default=5, help="pings per client")
    parser.add_argument("--note-bytes", type=int, default=200)
    args = parser.parse_args()
    record = ResultFile("cost_model")
    result = run(args.clients, args.writes, args.pings, args.note_bytes)
    print_table(result["results"])
    print(f"\nwrote {record.write(result).relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()
