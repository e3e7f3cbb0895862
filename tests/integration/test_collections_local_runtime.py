"""Collections end to end on `python -m infra.local up` over DynamoDB Local, silo and pool mode:
the SDK's live replica of some collections, batches reaching every device, the CLI's `docs`
commands, and the WebSocket's checks on `collections`.

The runtime declares tests/fixtures/collections.json (`--env USERDB_COLLECTIONS=...`).
"""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

import userdb
from infra.local.config import PROJECT_DIR
from tests.support.local_runtime import RuntimeProcess, require_dynamodb_local
from userdb import cli
from userdb.sync import SyncTimings

DECLARATIONS = Path(__file__).parent.parent / "fixtures" / "collections.json"
PASSWORD = "correct horse battery"
WAIT = 20.0
FAST = SyncTimings(backoff_initial=0.1, backoff_max=1.0)


@pytest.fixture(scope="module", params=["silo", "pool"])
def runtime(request: pytest.FixtureRequest) -> Iterator[RuntimeProcess]:
    require_dynamodb_local()
    process = RuntimeProcess(
        PROJECT_DIR,
        args=[
            "--env", f"USERDB_COLLECTIONS={DECLARATIONS}",
            "--env", f"USERDB_TENANCY={request.param}",
        ],
    ).start()  # fmt: skip
    yield process
    process.stop()


def _base_url(runtime: RuntimeProcess) -> str:
    return f"http://127.0.0.1:{runtime.port}"


def _client(runtime: RuntimeProcess, state: Path | None) -> userdb.Client:
    return userdb.Client(_base_url(runtime), runtime.ws_url(), state, timings=FAST)


@pytest.fixture
def ann(runtime: RuntimeProcess, tmp_path: Path) -> Iterator[userdb.Client]:
    client = _client(runtime, tmp_path / "ann-laptop")
    client.signup(f"ann-{uuid.uuid4().hex[:10]}@example.com", PASSWORD, "Ann")
    yield client
    client.close()


def _second_device(runtime: RuntimeProcess, ann: userdb.Client, folder: Path) -> userdb.Client:
    other = _client(runtime, folder)
    assert ann.user is not None and ann.user.email is not None
    other.login(ann.user.email, PASSWORD)
    return other


def test_a_device_that_follows_todos_holds_only_todos_and_the_whole_range(ann, runtime, tmp_path):
    # Given Ann's phone following todos only, and her laptop following everything
    phone = _second_device(runtime, ann, tmp_path / "ann-phone")
    with (
        phone.subscribe(collections=["todos"]) as phone_live,
        ann.subscribe() as laptop_live,
    ):
        assert phone_live.wait_live(WAIT) and laptop_live.wait_live(WAIT)
        # When the laptop writes a note, two todos in one batch, and a settings document
        todos = ann.collection("todos")
        ann.collection("notes").create({"text": "a note"})
        batch = ann.batch(
            [
                {
                    "op": "create",
                    "collection": "todos",
                    "id": doc_id,
                    "data": {"title": title, "done": False},
                }
                for doc_id, title in (("t1", "milk"), ("t2", "bread"))
            ]
        )
        ann.collection("settings").put("me", {"theme": "dark"})
        todos.patch("t1", {"done": True})
        version = todos.get("t1").version
        # Then the phone holds the todos (in their latest state) and nothing else, at the
        # tenant's version; the laptop holds everything
        assert phone_live.wait_for(lambda s: s.cursor == version, WAIT)
        held = {doc.id: doc.data for doc in phone_live.docs()}
        assert held == {
            "t1": {"title": "milk", "done": True},
            "t2": {"title": "bread", "done": False},
        }
        assert laptop_live.wait_for(lambda s: s.cursor == version, WAIT)
        assert {doc.collection for doc in laptop_live.docs()} == {"notes", "todos", "settings"}
        assert batch.version == version - 2
    # And a restart of the phone resumes from its state folder with the same todos
    again = _client(runtime, tmp_path / "ann-phone")
    assert {doc.id for doc in again.cached_docs("todos")} == {"t1", "t2"}
    assert again.cached_docs("notes") == []


def test_the_sdk_refuses_what_the_schema_refuses_and_writes_nothing(ann):
    todos = ann.collection("todos")
    with pytest.raises(userdb.BadRequestError) as refused:
        todos.create({"title": "", "done": "no"})
    assert {d["field"] for d in refused.value.details or []} == {"/data/title", "/data/done"}
    with pytest.raises(userdb.UnknownCollectionError):
        ann.collection("nope").create({})
    with pytest.raises(userdb.BadRequestError) as batch_refused:
        ann.batch(
            [
                {"op": "create", "collection": "todos", "data": {"title": "ok", "done": False}},
                {"op": "create", "collection": "todos", "data": {"title": 5, "done": False}},
            ]
        )
    assert {d["op"] for d in batch_refused.value.details or []} == {1}
    assert todos.all() == []


def test_the_cli_reads_and_writes_any_collection(ann, runtime, tmp_path, monkeypatch, capsys):
    assert ann.token is not None
    monkeypatch.setenv("USERDB_TOKEN", ann.token)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out = io.StringIO()
        argv = ["--url", _base_url(runtime), "--ws-url", runtime.ws_url(),
                "--state-dir", str(tmp_path / "cli"), *args]  # fmt: skip
        code = cli.main(argv, out=out)
        return code, out.getvalue(), capsys.readouterr().err

    code, out, _ = run("docs", "put", "todos", '{"title": "milk", "done": false}')
    assert code == 0
    created = out.split()[0]
    assert run("docs", "put", "todos", "t9", "-", stdin='{"title": "stdin", "done": true}')[0] == 0
    code, out, _ = run("--json", "docs", "ls", "todos", "--where", '{"done": false}')
    assert [doc["id"] for doc in json.loads(out)] == [created]
    assert run("docs", "patch", "todos", created, '{"done": true}')[0] == 0
    code, out, _ = run("docs", "get", "todos", created)
    assert json.loads(out)["data"] == {"title": "milk", "done": True}
    code, _, err = run("docs", "patch", "todos", created, '{"done": false}', "--version", "1")
    assert code == cli.EXIT_CONFLICT and "version_mismatch" in err
    code, _, err = run("docs", "put", "todos", '{"title": 1}')
    assert code == cli.EXIT_REFUSED and "/data/title" in err
    assert run("docs", "put", "todos", "{not json")[0] == cli.EXIT_USAGE
    assert run("docs", "ls", "nope")[0] == cli.EXIT_NOT_FOUND
    assert run("docs", "rm", "todos", created, "t9")[0] == 0
    assert run("docs", "get", "todos", created)[0] == cli.EXIT_NOT_FOUND


def test_the_websocket_checks_the_collections_a_client_names(ann, runtime):
    assert ann.token is not None
    url = runtime.ws_url(token=ann.token, clientId=str(uuid.uuid4()))
    ws = websocket.create_connection(url, timeout=10)
    try:
        refusals = [
            (["Bad Name"], "validation_error"),
            (["todos", "nope"], "unknown_collection"),
            ([], "validation_error"),
        ]
        for names, code in refusals:
            ws.send(json.dumps({"action": "hello", "since": None, "collections": names}))
            reply = json.loads(ws.recv())
            assert (reply["type"], reply["code"]) == ("error", code)
        ws.send(json.dumps({"action": "hello", "since": None, "collections": ["todos"]}))
        assert json.loads(ws.recv())["type"] == "welcome"
        assert json.loads(ws.recv())["snapshot"] is True
    finally:
        ws.close()
