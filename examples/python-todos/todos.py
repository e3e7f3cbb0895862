"""A todo list on userdb, with the Python SDK: add, done, ls, watch.

Run the local stack with this app's collections declared:

    make run RUN_ARGS='--env USERDB_COLLECTIONS=examples/python-todos/collections.json'

then, from the project folder (after `make venv`):

    .venv/bin/python examples/python-todos/todos.py signup ann@example.com
    .venv/bin/python examples/python-todos/todos.py add buy milk --list home
    .venv/bin/python examples/python-todos/todos.py ls
    .venv/bin/python examples/python-todos/todos.py done <id>
    .venv/bin/python examples/python-todos/todos.py watch      # live, in another terminal

USERDB_URL, USERDB_WS_URL and USERDB_PASSWORD override the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from pathlib import Path

import userdb

STATE = Path("~/.userdb-todos").expanduser()


def client() -> userdb.Client:
    return userdb.Client(
        os.environ.get("USERDB_URL", "http://127.0.0.1:8000"),
        os.environ.get("USERDB_WS_URL", "ws://127.0.0.1:8001/"),
        STATE,
    )


def password() -> str:
    return os.environ.get("USERDB_PASSWORD") or getpass.getpass("Password: ")


def show(todo: userdb.Doc) -> str:
    data = todo.data
    mark = "x" if data.get("done") else " "
    where = f"  [{data['list']}]" if data.get("list") else ""
    return f"[{mark}] {todo.id}  {data['title']}{where}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="todos")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("signup", "login"):
        commands.add_parser(name).add_argument("email")
    add = commands.add_parser("add")
    add.add_argument("title", nargs="+")
    add.add_argument("--list")
    commands.add_parser("done").add_argument("id")
    ls = commands.add_parser("ls")
    ls.add_argument("--all", action="store_true", help="done ones too")
    commands.add_parser("watch")
    args = parser.parse_args()

    app = client()
    todos = app.collection("todos")
    try:
        if args.command == "signup":
            app.signup(args.email, password(), args.email.split("@")[0])
        elif args.command == "login":
            app.login(args.email, password())
        elif args.command == "add":
            data = {"title": " ".join(args.title), "done": False}
            if args.list:
                data["list"] = args.list
            print(show(todos.create(data)))
        elif args.command == "done":
            print(show(todos.patch(args.id, {"done": True})))
        elif args.command == "ls":
            for todo in todos.all(where=None if args.all else {"done": False}):
                print(show(todo))
        elif args.command == "watch":
            watch(app)
    except userdb.UserdbError as error:
        print(f"todos: {error}", file=sys.stderr)
        return 1
    return 0


def watch(app: userdb.Client) -> None:
    def redraw(change: userdb.ChangeSet) -> None:
        print("\033[2J\033[H" + "\n".join(show(t) for t in live.docs("todos")), flush=True)

    with app.subscribe(collections=["todos"], on_change=redraw) as live:
        live.wait_live()
        with contextlib.suppress(KeyboardInterrupt):
            live.wait_for(lambda s: s.finished, timeout=10**9)


if __name__ == "__main__":
    sys.exit(main())
