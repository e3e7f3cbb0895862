"""The `userdb` command line: accounts, notes, documents of any collection (`docs`), and
`watch` for live changes.

Settings come from flags or the environment: USERDB_URL, USERDB_WS_URL,
USERDB_STATE_DIR, USERDB_TOKEN (use this session instead of the saved one),
USERDB_PASSWORD (instead of the prompt, for scripts).

Exit codes: 0 done, 1 refused by the server, 2 bad usage, 3 not signed in,
wrong password or session ended, 4 not found, 5 conflict (email taken, document
changed meanwhile), 6 server unreachable, 7 state folder in use.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from userdb import __version__
from userdb.cli_docs import add_docs_commands
from userdb.cli_output import (
    EXIT_AUTH,
    EXIT_CONFLICT,
    EXIT_LOCKED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    UsageError,
    note_row,
    print_json,
    terminal_width,
)
from userdb.client import DEFAULT_STATE_DIR, DEFAULT_URL, DEFAULT_WS_URL, Client
from userdb.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    NetworkError,
    NotFoundError,
    NotSignedInError,
    ProtocolError,
    RateLimitedError,
    StateLockedError,
    UnauthorizedError,
    UserdbError,
    VersionMismatchError,
)
from userdb.live import Subscription
from userdb.sync import ChangeSet, Status
from userdb.watch_view import WatchView

# ---------------------------------------------------------------- input helpers


def _password(args: argparse.Namespace, *, confirm: bool) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get("USERDB_PASSWORD"):
        password = os.environ["USERDB_PASSWORD"]
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != password:
            raise UsageError("the passwords do not match")
    else:
        raise UsageError("no password: use --password-stdin or USERDB_PASSWORD")
    if not password:
        raise UsageError("the password is empty")
    return password


def _text_argument(words: Sequence[str]) -> str:
    if list(words) == ["-"]:
        return sys.stdin.read().rstrip("\n")
    text = " ".join(words)
    if not text.strip():
        raise UsageError("the note is empty")
    return text


def _edit_in_editor(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="userdb-") as folder:
        path = Path(folder) / "note.txt"
        path.write_text(text, encoding="utf-8")
        result = subprocess.run([*shlex.split(editor), str(path)], check=False)  # noqa: S603 - the user's own editor
        if result.returncode != 0:
            raise UsageError(f"the editor exited with status {result.returncode}; nothing saved")
        return path.read_text(encoding="utf-8").rstrip("\n")


# ---------------------------------------------------------------- commands


def cmd_signup(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb signup`: create an account and sign in."""
    password = _password(args, confirm=True)
    user = client.signup(args.email, password, args.name)
    out.write(f"Signed up and signed in as {user.email} ({user.name}).\n")
    return EXIT_OK


def cmd_login(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb login`: sign in and keep the session in the state folder."""
    password = _password(args, confirm=False)
    user = client.login(args.email, password)
    out.write(f"Signed in as {user.email} ({user.name}).\n")
    return EXIT_OK


def cmd_logout(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb logout`: end the session and forget the cached notes."""
    if not client.signed_in:
        out.write("Not signed in.\n")
        return EXIT_OK
    client.logout()
    out.write("Signed out; the cached notes were removed.\n")
    return EXIT_OK


def cmd_whoami(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb whoami`: who is signed in."""
    current = client.session()
    if args.json:
        print_json({"user": current.user.to_json(), "session_id": current.session.id}, out)
    else:
        out.write(f"{current.user.email} ({current.user.name}), user {current.user.id}\n")
    return EXIT_OK


def cmd_notes_ls(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb notes ls`: the notes, newest first (`--cached`: without the server)."""
    if args.cached:
        notes = client.cached_notes()
    else:
        notes = sorted(client.notes.all(), key=lambda n: (n.updated, n.version), reverse=True)
    if args.json:
        print_json([note.to_json() for note in notes], out)
        return EXIT_OK
    if not notes:
        out.write("No notes yet. Add one with: userdb notes add <text>\n")
        return EXIT_OK
    width = terminal_width(out)
    for note in notes:
        out.write(note_row(note, width) + "\n")
    return EXIT_OK


def cmd_notes_add(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb notes add TEXT|-`: add a note; prints its id."""
    note = client.notes.create(_text_argument(args.text))
    if args.json:
        print_json(note.to_json(), out)
    else:
        out.write(f"{note.id}\n")
    return EXIT_OK


def cmd_notes_edit(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb notes edit ID [TEXT]`: replace a note's text, refused if it changed meanwhile."""
    version = args.version
    if args.text:
        text = _text_argument(args.text)
        if version is None and not args.force:
            version = client.notes.get(args.id).version
    else:
        current = client.notes.get(args.id)
        version = version if version is not None else current.version
        text = _edit_in_editor(current.text)
        if text == current.text:
            out.write("No change.\n")
            return EXIT_OK
    note = client.notes.update(args.id, text, if_match=None if args.force else version)
    if args.json:
        print_json(note.to_json(), out)
    else:
        out.write(f"{note.id} saved (version {note.version})\n")
    return EXIT_OK


def cmd_notes_rm(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb notes rm ID...`: delete notes."""
    for note_id in args.ids:
        client.notes.delete(note_id, if_match=args.version)
        if not args.json:
            out.write(f"{note_id} deleted\n")
    if args.json:
        print_json({"deleted": args.ids}, out)
    return EXIT_OK


def cmd_watch(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    """`userdb watch [--collection NAME]...`: the cached documents, then every change live,
    with a status line (the notes collection by default)."""
    collections = sorted(set(args.collection or ["notes"]))
    view = WatchView(out, as_json=args.json, tty=out.isatty(), with_collection=len(collections) > 1)
    user = client.user or client.session().user
    if not args.json:
        view.line(f"Watching {', '.join(collections)} of {user.email} — Ctrl-C to stop")
    cached = [doc for doc in client.cached_docs() if doc.collection in collections]
    view.docs(cached, client.cached_cursor())
    with contextlib.suppress(KeyboardInterrupt), client.subscribe(collections=collections) as live:
        return _follow(live, view)
    return EXIT_OK  # Ctrl-C


def _follow(live: Subscription, view: WatchView) -> int:
    try:
        while not live.finished:
            for event in live.events(timeout=1.0):
                if isinstance(event, ChangeSet):
                    view.change(event, len(live.docs()))
                elif isinstance(event, Status):
                    view.state(event)
            if view.tty and view.status is not None:
                view.status = live.status  # counts the retry delay down
                view.draw_status()  # writes only if the line changed
        status = live.status
        if status.reason and status.reason.startswith("unauthorized"):
            view.close()
            sys.stderr.write("userdb: the session ended: sign in again with `userdb login`\n")
            return EXIT_AUTH
        return EXIT_OK
    finally:
        view.close()


# ---------------------------------------------------------------- parsing and errors


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; defaults come from the environment."""
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="userdb",
        description="Your data in a userdb server, from the command line.",
        epilog="Environment: USERDB_URL, USERDB_WS_URL, USERDB_STATE_DIR, USERDB_TOKEN, "
        "USERDB_PASSWORD. See docs/clients.md.",
    )
    parser.add_argument("--version", action="version", version=f"userdb {__version__}")
    parser.add_argument(
        "--url",
        default=env.get("USERDB_URL", DEFAULT_URL),
        help="the server (default: $USERDB_URL or %(default)s; the local runtime's API is /api)",
    )
    parser.add_argument(
        "--ws-url",
        default=env.get("USERDB_WS_URL", DEFAULT_WS_URL),
        help="the WebSocket endpoint (default: $USERDB_WS_URL or %(default)s)",
    )
    parser.add_argument(
        "--state-dir",
        default=env.get("USERDB_STATE_DIR", DEFAULT_STATE_DIR),
        help="session, client id, cursor and cached documents (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_account_commands(commands)
    _add_notes_commands(commands)
    add_docs_commands(commands)
    watch = commands.add_parser("watch", help="show documents changing live (notes by default)")
    watch.add_argument(
        "--collection",
        action="append",
        metavar="NAME",
        help="watch this collection (repeat for several; default: notes)",
    )
    watch.set_defaults(run=cmd_watch)
    return parser


def _add_account_commands(commands: Any) -> None:
    """signup, login, logout, whoami."""
    signup = commands.add_parser("signup", help="create an account and sign in")
    signup.add_argument("--email", required=True)
    signup.add_argument("--name", required=True)
    signup.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    signup.set_defaults(run=cmd_signup)

    login = commands.add_parser("login", help="sign in")
    login.add_argument("--email", required=True)
    login.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    login.set_defaults(run=cmd_login)

    commands.add_parser("logout", help="sign out and forget the cached documents").set_defaults(
        run=cmd_logout
    )
    commands.add_parser("whoami", help="who is signed in").set_defaults(run=cmd_whoami)


def _add_notes_commands(commands: Any) -> None:
    """notes ls|add|edit|rm."""
    notes = commands.add_parser("notes", help="list, add, edit and remove notes")
    note_commands = notes.add_subparsers(dest="notes_command", metavar="ACTION", required=True)
    ls = note_commands.add_parser("ls", help="list the notes, newest first")
    ls.add_argument("--cached", action="store_true", help="as last synced, without the server")
    ls.set_defaults(run=cmd_notes_ls)
    add = note_commands.add_parser("add", help="add a note (`-` reads it from stdin)")
    add.add_argument("text", nargs="+")
    add.set_defaults(run=cmd_notes_add)
    edit = note_commands.add_parser("edit", help="replace a note's text (without TEXT: in $EDITOR)")
    edit.add_argument("id")
    edit.add_argument("text", nargs="*")
    edit.add_argument("--version", type=int, help="only if the note is still at this version")
    edit.add_argument("--force", action="store_true", help="overwrite whatever changed")
    edit.set_defaults(run=cmd_notes_edit)
    rm = note_commands.add_parser("rm", help="delete notes")
    rm.add_argument("ids", nargs="+", metavar="id")
    rm.add_argument("--version", type=int, help="only if the note is still at this version")
    rm.set_defaults(run=cmd_notes_rm)


__all__ = [
    "EXIT_AUTH",
    "EXIT_CONFLICT",
    "EXIT_LOCKED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

# The first matching class gives the exit code.
_EXIT_CODES: list[tuple[type[UserdbError], int]] = [
    (NotSignedInError, EXIT_AUTH),
    (NetworkError, EXIT_UNREACHABLE),
    (StateLockedError, EXIT_LOCKED),
    (VersionMismatchError, EXIT_CONFLICT),
    (ConflictError, EXIT_CONFLICT),
    (NotFoundError, EXIT_NOT_FOUND),
]


def _exit_code(error: UserdbError) -> int:
    if isinstance(error, UnauthorizedError):
        return EXIT_AUTH
    return next((code for cls, code in _EXIT_CODES if isinstance(error, cls)), EXIT_REFUSED)


def _explain(error: UserdbError) -> tuple[int, str]:
    """An exit code and a message a person can act on."""
    code = _exit_code(error)
    if not isinstance(error, ApiError):
        hints = {EXIT_UNREACHABLE: " (is the server running? try `make run`)"}
        hint = " (check --url)" if isinstance(error, ProtocolError) else hints.get(code, "")
        return code, f"{error}{hint}"
    message = f"{error.message} [{error.code}]"
    if isinstance(error, BadRequestError) and error.details:
        fields = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.details)
        message += f" ({fields})"
    if isinstance(error, RateLimitedError) and error.retry_after:
        message += f" Try again in {error.retry_after:.0f} s."
    if isinstance(error, VersionMismatchError):
        message += " Someone changed it meanwhile; look again and retry."
    if code == EXIT_AUTH and error.code != "invalid_credentials":
        message += " Sign in again with `userdb login`."
    return code, message


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns (and, as a script, exits with) the exit code."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[Client, argparse.Namespace, TextIO], int] = args.run
    try:
        client = Client(
            args.url, args.ws_url, args.state_dir, token=os.environ.get("USERDB_TOKEN") or None
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        with client:
            return command(client, args, out)
    except UsageError as error:
        sys.stderr.write(f"userdb: {error}\n")
        return EXIT_USAGE
    except UserdbError as error:
        code, message = _explain(error)
        sys.stderr.write(f"userdb: {message}\n")
        return code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
