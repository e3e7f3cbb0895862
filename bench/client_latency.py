"""The client libraries as an app sees them: a write on one client -> the other client's
callback, for the JS client (@userdb/client's `subscribe`) and the Python SDK
(`subscribe(on_change=…)`), beside the protocol without a library (websocket-client
following, writes through the JS client's route, POST /collections/notes/docs; the
Python SDK writes through POST /notes).

    .venv/bin/python -m bench.client_latency [--writes 30]

One runtime (DynamoDB Local, default stream interval), one user per measure, writes one
at a time and spaced so each meets a quiet stream, as the raw protocol's row
(bench/realtime_latency.py, single writes) does. The JS side runs in Node
(clients/js/bench/write_to_subscriber.mjs, `npm ci` in clients/js first).
Prints a table and writes bench/results/client_latency.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import userdb
from bench.harness import DEFAULT_STREAM_INTERVAL_MS, ResultFile, local_runtime, summary
from bench.realtime_latency import Followers, warm_up, write_latencies
from bench.sdk_live import Follower
from tests.support.local_runtime import RuntimeProcess
from tests.support.rest_user import RestUser

JS_DIR = Path(__file__).resolve().parents[1] / "clients" / "js"
JS_SCRIPT = JS_DIR / "bench" / "write_to_subscriber.mjs"
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway local account
QUIET_S = DEFAULT_STREAM_INTERVAL_MS / 1000 + 0.05


class DocumentWriter(RestUser):
    """Creates notes as documents (POST /collections/notes/docs): the JS client's route."""

    def create(self, text: str) -> dict[str, Any]:
        reply = self.call("POST", "/collections/notes/docs", json={"data": {"text": text}})
        assert reply.status_code == 201, reply.text
        return dict(reply.json()["doc"])


def protocol_floor(runtime: RuntimeProcess, writes: int) -> dict[str, Any]:
    """The floor: the same writes, followed by a bare websocket-client speaking the protocol."""
    signed = RestUser.sign_up(runtime.api_url, "Floor")
    writer = DocumentWriter(signed.api, signed.token, signed.user, signed.email)
    with Followers.connected(runtime, signed.login().token, 1) as followers:
        warm_up(writer, followers)
        return dict(write_latencies(writer, followers, writes, quiet_s=QUIET_S)["latency"])


def _account(runtime: RuntimeProcess, name: str) -> str:
    email = f"{name}-{time.time_ns()}@example.com"
    userdb.Client(f"http://127.0.0.1:{runtime.port}", runtime.ws_url(), None).signup(
        email, PASSWORD, name
    )
    return email


def python_sdk(runtime: RuntimeProcess, writes: int) -> list[float]:
    """The Python SDK: a note created by one client -> the other's on_change."""
    base, ws = f"http://127.0.0.1:{runtime.port}", runtime.ws_url()
    email = _account(runtime, "py")
    writer, reader = userdb.Client(base, ws, None), userdb.Client(base, ws, None)
    writer.login(email, PASSWORD)
    reader.login(email, PASSWORD)
    follower = Follower(reader)
    try:
        assert follower.live.wait_live(30)
        note = writer.notes.create("warm-up")
        follower.wait_for((note.id, note.version))
        latencies = []
        for n in range(writes):
            time.sleep(QUIET_S)
            started = time.perf_counter()
            note = writer.notes.create(f"latency {n}")
            latencies.append((follower.wait_for((note.id, note.version)) - started) * 1000)
        return latencies
    finally:
        follower.live.close()
        reader.close()
        writer.close()


def js_client(runtime: RuntimeProcess, writes: int) -> list[float]:
    """@userdb/client in Node: a create on one client -> the other's subscribe callback."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "ws").is_dir():
        raise RuntimeError("the JS client's bench needs node and `npm ci` in clients/js")
    given = {
        "apiUrl": f"http://127.0.0.1:{runtime.port}/api",
        "wsUrl": runtime.ws_url(),
        "email": _account(runtime, "js"),
        "password": PASSWORD,
        "writes": writes,
        "quietMs": QUIET_S * 1000,
    }
    done = subprocess.run(
        [node, str(JS_SCRIPT), json.dumps(given)],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=60 + writes * 5,
        check=True,
    )
    return [float(value) for value in json.loads(done.stdout.splitlines()[-1])["latencies_ms"]]


def measure(runtime: RuntimeProcess, writes: int) -> dict[str, Any]:
    """Each client's latencies and the raw protocol's, on one runtime, one after the other."""
    return {
        "protocol_without_library": protocol_floor(runtime, writes),
        "python_sdk": summary(python_sdk(runtime, writes)),
        "js_client": summary(js_client(runtime, writes)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=30)
    args = parser.parse_args()
    record = ResultFile("client_latency")
    with local_runtime() as runtime:
        found = measure(runtime, args.writes)
    print("| write -> the other client | p50 | p90 | p99 |")
    print("|---|---|---|---|")
    for name, stats in found.items():
        print(f"| {name} | {stats['p50_ms']} ms | {stats['p90_ms']} ms | {stats['p99_ms']} ms |")
    print(f"wrote {record.write(found)}")


if __name__ == "__main__":
    main()
