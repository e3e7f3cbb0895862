"""The `userdb` command line against the local runtime."""

from __future__ import annotations

import io
import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.local.ports import free_port
from tests.support.clients_runtime import LocalStack
from userdb import cli

PASSWORD = "correct horse battery"


class Cli:
    """Runs `userdb` in-process with one state folder; returns (exit code, stdout, stderr)."""

    def __init__(self, stack: LocalStack, state_dir: Path) -> None:
        self.stack = stack
        self.state_dir = state_dir

    def __call__(
        self,
        *args: str,
        stdin: str = "",
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        out = io.StringIO()
        argv = [
            "--url", self.stack.base_url,
            "--ws-url", self.stack.ws_url,
            "--state-dir", str(self.state_dir),
            *args,
        ]  # fmt: skip
        code = cli.main(argv, out=out)
        return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def run(local_stack, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("USERDB_TOKEN", raising=False)
    monkeypatch.delenv("USERDB_PASSWORD", raising=False)
    tool = Cli(local_stack, tmp_path / "state")

    def invoke(*args: str, stdin: str = "") -> tuple[int, str, str]:
        return tool(*args, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)

    return invoke


def new_email() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}@example.com"


def test_signup_whoami_logout_and_the_errors_a_person_meets(run, tmp_path):
    email = new_email()
    # Given a new account made from the command line
    code, out, _ = run(
        "signup", "--email", email, "--name", "Ann", "--password-stdin", stdin=PASSWORD
    )
    assert code == 0 and email in out
    # Then it is signed in, and the session is in the state folder (private)
    code, out, _ = run("whoami")
    assert code == 0 and email in out
    assert (tmp_path / "state" / "session.json").stat().st_mode & 0o077 == 0
    # When the same email signs up again: a conflict, exit 5
    code, _, err = run(
        "signup", "--email", email, "--name", "Ann", "--password-stdin", stdin=PASSWORD
    )
    assert code == cli.EXIT_CONFLICT and "email_taken" in err
    # When logged out, commands that need a session say so, exit 3
    assert run("logout")[0] == 0
    code, _, err = run("whoami")
    assert code == cli.EXIT_AUTH and "login" in err
    # A wrong password: exit 3, a clear message
    code, _, err = run("login", "--email", email, "--password-stdin", stdin="wrong password")
    assert code == cli.EXIT_AUTH and "invalid_credentials" in err
    # The right one signs in again
    code, out, _ = run("login", "--email", email, "--password-stdin", stdin=PASSWORD)
    assert code == 0 and "Signed in" in out


def test_invalid_input_is_explained_with_the_fields(run):
    code, _, err = run(
        "signup", "--email", "not-an-email", "--name", "Ann", "--password-stdin", stdin=PASSWORD
    )
    assert code == cli.EXIT_REFUSED
    assert "validation_error" in err and "email" in err


def test_a_server_that_is_not_running_exits_6(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("USERDB_PASSWORD", PASSWORD)
    url = f"http://127.0.0.1:{free_port()}"
    code = cli.main(
        ["--url", url, "--state-dir", str(tmp_path), "login", "--email", new_email()],
        out=io.StringIO(),
    )
    assert code == cli.EXIT_UNREACHABLE
    assert "make run" in capsys.readouterr().err


def test_bad_usage_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--state-dir", str(tmp_path), "notes", "frobnicate"])
    assert exited.value.code == 2


def test_notes_ls_add_edit_rm(run, local_stack):
    local_stack.require_notes()
    run("signup", "--email", new_email(), "--name", "Ann", "--password-stdin", stdin=PASSWORD)
    code, out, _ = run("notes", "add", "buy", "milk")
    assert code == 0
    note_id = out.strip()
    assert run("notes", "add", "-", stdin="from\nstdin\n")[0] == 0
    code, out, _ = run("--json", "notes", "ls")
    listed = {note["id"]: note for note in json.loads(out)}
    assert listed[note_id]["text"] == "buy milk" and len(listed) == 2
    # Editing with a stale version is refused (exit 5) and changes nothing
    version = listed[note_id]["version"]
    assert run("notes", "edit", note_id, "oat milk")[0] == 0
    code, _, err = run("notes", "edit", note_id, "stale", "--version", str(version))
    assert code == cli.EXIT_CONFLICT and "version_mismatch" in err
    code, out, _ = run("notes", "ls")
    assert "oat milk" in out and "stale" not in out
    # Removing: gone, and removing again is "not found" (exit 4)
    assert run("notes", "rm", note_id)[0] == 0
    assert run("notes", "rm", note_id)[0] == cli.EXIT_NOT_FOUND
    code, out, _ = run("--json", "notes", "ls")
    assert note_id not in {note["id"] for note in json.loads(out)}


def test_edit_without_text_opens_the_editor(run, local_stack, tmp_path, monkeypatch):
    local_stack.require_notes()
    run("signup", "--email", new_email(), "--name", "Ann", "--password-stdin", stdin=PASSWORD)
    note_id = run("notes", "add", "first draft")[1].strip()
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/first/second/" "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    assert run("notes", "edit", note_id)[0] == 0
    assert "second draft" in run("notes", "ls")[1]


def test_watch_shows_changes_live_and_the_connection_state(local_stack, tmp_path):
    local_stack.require_realtime()
    account = local_stack.signup("Watcher")
    env = {
        "USERDB_URL": local_stack.base_url,
        "USERDB_WS_URL": local_stack.ws_url,
        "USERDB_STATE_DIR": str(tmp_path / "watch"),
        "USERDB_PASSWORD": PASSWORD,
        "PATH": str(Path(sys.executable).parent),
    }
    userdb = str(Path(sys.executable).parent / "userdb")
    subprocess.run([userdb, "login", "--email", account["email"]], env=env, check=True)
    watcher = subprocess.Popen(
        [userdb, "--json", "watch"], env=env, stdout=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = watcher.stdout
    assert stdout is not None

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    def read_until(predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        seen = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                event = json.loads(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                break
            seen.append(event)
            if predicate(event):
                return dict(event)
        raise AssertionError(f"not seen; got {seen}")

    try:
        read_until(lambda e: e["event"] == "status" and e["state"] == "live")
        status, _ = local_stack.call(
            "POST", "/notes", {"text": "seen live"}, token=account["token"]
        )
        assert status == 201
        change = read_until(lambda e: e["event"] == "change" and bool(e["upserted"]))
        assert change["upserted"][0]["data"] == {"text": "seen live"}
    finally:
        watcher.terminate()
        watcher.wait(10)


def test_the_console_script_is_installed():
    userdb = Path(sys.executable).parent / "userdb"
    result = subprocess.run([str(userdb), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "watch" in result.stdout
