"""The attacks of docs/security.md, measured against the local runtime as an outsider runs them.

    .venv/bin/python -m bench.attacks [--backend dynamodb-local|moto] [--flood 3000]

Starts the runtime on free ports (DynamoDB Local unless told), prints a table and writes
bench/results/attacks.json. Requests from "other addresses" really come from them: the
runtime listens on 127.0.0.1, and clients bind 127.0.0.2, 127.0.0.3, ... (all loopback
on Linux), so the app sees each as its own `sourceIp`.

- guessing: 40 wrong passwords for one account, sent at once (a barrier releases 40
  threads): how many were verified (answered 401) and how many refused (429).
- spraying: 30 accounts, one wrong password each, all from one address, one after another.
- lock-out: 5 wrong passwords from one address, then the owner's right password from
  another address without a device token, and with the device token of an earlier sign-in.
- flood: user A sends N `ack` frames as fast as its socket takes them; user B, on its own
  connection, sends a `ping` just after: B's ping -> pong wait, beside B's own
  ping -> pong before the flood (the floor, same run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import websocket

from bench.harness import ResultFile, RuntimeOptions, local_runtime, print_table
from tests.support.frame_reader import FrameReader
from tests.support.local_runtime import RuntimeProcess

PASSWORD = "correct horse battery"  # noqa: S105 - a test account's
WRONG = "not the password"
DEVICE_COOKIE = "userdb_device"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    cookies: dict[str, str]


def post(
    runtime: RuntimeProcess,
    path: str,
    body: Any,
    source: str = "127.0.0.1",
    cookies: dict[str, str] | None = None,
) -> Answer:
    """POST JSON to the REST API from the loopback address `source`."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", runtime.port, timeout=120, source_address=(source, 0)
    )
    headers = {"Content-Type": "application/json"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    try:
        connection.request("POST", f"/api{path}", json.dumps(body), headers)
        reply = connection.getresponse()
        raw = reply.read()
        jar: dict[str, str] = {}
        for header in reply.headers.get_all("Set-Cookie") or []:
            parsed = SimpleCookie(header)
            jar.update({name: morsel.value for name, morsel in parsed.items()})
        return Answer(reply.status, json.loads(raw) if raw else None, jar)
    finally:
        connection.close()


def sign_up(runtime: RuntimeProcess, source: str = "127.0.0.1") -> tuple[str, Answer]:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    answer = post(
        runtime, "/auth/signup", {"email": email, "password": PASSWORD, "name": "T"}, source
    )
    if answer.status != 201:
        raise RuntimeError(f"sign-up answered {answer.status}: {answer.body}")
    return email, answer


def log_in(
    runtime: RuntimeProcess,
    email: str,
    password: str,
    source: str = "127.0.0.1",
    cookies: dict[str, str] | None = None,
) -> Answer:
    return post(runtime, "/auth/login", {"email": email, "password": password}, source, cookies)


def statuses(answers: list[Answer]) -> dict[str, int]:
    return {
        str(status): count for status, count in sorted(Counter(a.status for a in answers).items())
    }


def parallel_guessing(runtime: RuntimeProcess, guesses: int) -> dict[str, Any]:
    email, _ = sign_up(runtime)
    barrier = threading.Barrier(guesses)
    answers: list[Answer] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        barrier.wait()
        answer = log_in(runtime, email, f"{WRONG} {n}", source=f"127.0.1.{n + 1}")
        with lock:
            answers.append(answer)

    started = time.perf_counter()
    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "guesses": guesses,
        "statuses": statuses(answers),
        "verified": sum(1 for a in answers if a.status == 401),
        "refused_429": sum(1 for a in answers if a.status == 429),
        "seconds": round(time.perf_counter() - started, 2),
    }


def spraying(runtime: RuntimeProcess, accounts: int) -> dict[str, Any]:
    emails = [sign_up(runtime, source="127.0.2.1")[0] for _ in range(accounts)]
    answers = [log_in(runtime, email, WRONG, source="127.0.2.2") for email in emails]
    return {
        "accounts": accounts,
        "statuses": statuses(answers),
        "answered_401": sum(1 for a in answers if a.status == 401),
        "refused_429": sum(1 for a in answers if a.status == 429),
    }


def lock_out(runtime: RuntimeProcess) -> dict[str, Any]:
    email, signed_up = sign_up(runtime, source="127.0.3.1")
    device = {k: v for k, v in signed_up.cookies.items() if k == DEVICE_COOKIE}
    attacker = [log_in(runtime, email, WRONG, source="127.0.3.2") for _ in range(5)]
    other_address = log_in(runtime, email, PASSWORD, source="127.0.3.3")
    with_device = log_in(runtime, email, PASSWORD, source="127.0.3.3", cookies=device)
    return {
        "attacker": statuses(attacker),
        "owner_new_device_other_address": other_address.status,
        "owner_with_device_token": with_device.status,
        "device_token_issued": bool(device),
    }


class Socket(FrameReader):
    """A signed-in user's WebSocket; times a ping's pong."""

    def __init__(self, runtime: RuntimeProcess, token: str) -> None:
        super().__init__(
            websocket.create_connection(
                runtime.ws_url(token=token, clientId=str(uuid.uuid4())), timeout=120
            )
        )

    def ping_pong_ms(self, timeout: float = 180) -> float | None:
        mark = len(self.timed())
        sent = time.perf_counter()
        self.send({"action": "ping", "version": None})
        arrived = self.first_arrival(timeout, after=mark, type="pong")
        return None if arrived is None else (arrived - sent) * 1000

    def close(self) -> None:
        self.ws.close()


def flood(runtime: RuntimeProcess, frames: int) -> dict[str, Any]:
    _, a_signed = sign_up(runtime)
    _, b_signed = sign_up(runtime)
    token_a, token_b = a_signed.body["token"], b_signed.body["token"]
    note = post_note(runtime, token_a)
    a, b = Socket(runtime, token_a), Socket(runtime, token_b)
    try:
        for user in (a, b):
            user.send({"action": "hello", "since": None})
            if user.first_arrival(30, type="welcome") is None:
                raise RuntimeError("no welcome")
        floor = [b.ping_pong_ms(30) for _ in range(20)]
        ack = json.dumps({"action": "ack", "version": note})
        started = time.perf_counter()
        for _ in range(frames):
            a.ws.send(ack)
        sent_in_ms = (time.perf_counter() - started) * 1000
        during = b.ping_pong_ms()
        errors = Counter(
            str(frame.get("code") or frame.get("message"))
            for _, frame in a.timed()
            if frame.get("type") == "error" or "message" in frame
        )
        floor_ms = statistics.median(x for x in floor if x is not None)
        return {
            "frames": frames,
            "sent_in_ms": round(sent_in_ms, 1),
            "floor_ping_pong_p50_ms": round(floor_ms, 2),
            "ping_pong_during_flood_ms": None if during is None else round(during, 1),
            "ratio_to_floor": None if during is None else round(during / floor_ms, 1),
            "flooder_told": dict(errors),
        }
    finally:
        a.close()
        b.close()


def post_note(runtime: RuntimeProcess, token: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    for _ in range(100):
        connection.request("POST", "/api/notes", json.dumps({"text": "x"}), headers)
        reply = connection.getresponse()
        body = json.loads(reply.read())
        if reply.status == 201:
            return int(body["note"]["version"])
        time.sleep(0.2)  # 503 while the new tenant's table is created
    raise RuntimeError("could not write a note")


def table_rows(figures: dict[str, Any]) -> list[list[object]]:
    g, s, lo, f = (figures[k] for k in ("guessing", "spraying", "lock_out", "flood"))
    during = f"{f['ping_pong_during_flood_ms']} ms"
    floor = f"floor {f['floor_ping_pong_p50_ms']} ms, x{f['ratio_to_floor']}"
    return [
        [
            f"{g['guesses']} parallel wrong logins, one account",
            f"{g['verified']} verified, {g['refused_429']} got 429",
        ],
        [
            f"{s['accounts']} accounts sprayed from one address",
            f"{s['answered_401']} answered, {s['refused_429']} got 429",
        ],
        ["owner after 5 wrong from elsewhere, new device", lo["owner_new_device_other_address"]],
        ["owner after 5 wrong from elsewhere, device token", lo["owner_with_device_token"]],
        [f"B's ping -> pong during {f['frames']} acks of A", f"{during} ({floor})"],
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.attacks", description=__doc__)
    parser.add_argument("--backend", default="dynamodb-local")
    parser.add_argument("--guesses", type=int, default=40)
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--flood", type=int, default=3000)
    parser.add_argument("--name", default="attacks", help="result file name (default: attacks)")
    args = parser.parse_args(argv)
    record = ResultFile(args.name)
    with local_runtime(RuntimeOptions(backend=args.backend)) as runtime:
        figures = {
            "guessing": parallel_guessing(runtime, args.guesses),
            "spraying": spraying(runtime, args.accounts),
            "lock_out": lock_out(runtime),
            "flood": flood(runtime, args.flood),
        }
    print_table(["attack", "result"], table_rows(figures), title="Attacks (docs/security.md)")
    print(f"wrote {record.write(figures)}")


if __name__ == "__main__":
    main()
