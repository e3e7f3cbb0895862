"""`python -m infra.localstack install|start|stop|status|run -- COMMAND`: LocalStack on
127.0.0.1 without Docker (docs/localstack.md), for `make localstack` and `make test-localstack`."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
from types import FrameType

from infra.localstack.install import VENV_DIR, install
from infra.localstack.process import LocalStackStartError, health
from infra.localstack.processes import stop_pid
from infra.localstack.pythons import find
from infra.localstack.service import (
    DEFAULT_URL,
    LocalStackFiles,
    already_there,
    describe,
    loopback_port,
    own_process,
    say,
)


def start(url: str) -> int:
    if already_there(url):
        say(f"LocalStack already answers on {url}; left as it is")
        return 0
    process = own_process(url, tied=False)
    report = process.start()
    LocalStackFiles(process.port).pid_file.write_text(json.dumps({"pid": report.pid}) + "\n")
    say(describe(process, report) + "\n  stop it: make localstack-stop")
    return 0


def _started_pid(files: LocalStackFiles) -> int | None:
    try:
        return int(json.loads(files.pid_file.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stop(url: str) -> int:
    files = LocalStackFiles(loopback_port(url))
    pid = _started_pid(files)
    if pid is not None and stop_pid(pid):
        say(f"stopped LocalStack (pid {pid})")
    elif health(url) is not None:
        say(f"the LocalStack on {url} was not started by `make localstack`: left running")
    else:
        say(f"no LocalStack running on {url}")
    files.pid_file.unlink(missing_ok=True)
    return 0


def status(url: str) -> int:
    report = health(url)
    if report is None:
        say(f"nothing answers on {url}")
        return 1
    files = LocalStackFiles(loopback_port(url))
    pid = _started_pid(files)
    say(f"LocalStack {report.get('version')} on {url}" + (f" (pid {pid})" if pid else ""))
    say(json.dumps(report.get("services", {}), sort_keys=True))
    if pid:
        say(f"log: {files.log}")
    return 0


def run_child(command: list[str]) -> int:
    """Run `command` to its end. Ctrl-C reaches it through the terminal's process group;
    a SIGTERM sent to this process is passed on. Either way the caller's cleanup runs after."""
    child = subprocess.Popen(command)  # noqa: S603 - the user's own command

    def pass_on(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGTERM:
            child.send_signal(signum)

    previous = {s: signal.signal(s, pass_on) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


def run(url: str, command: list[str]) -> int:
    """`command` with LocalStack on `url`: the one already there (left running), or one
    started for it and stopped afterwards, however the command ends."""
    if not command:
        raise SystemExit("run: give the command after --")
    if already_there(url):
        say(f"using the LocalStack already on {url} (left running afterwards)")
        return run_child(command)
    process = own_process(url, tied=True)
    try:
        say(describe(process, process.start()) + "\n  (stopped when the command ends)")
        code = run_child(command)
    finally:
        process.stop()
        say(f"LocalStack on {url} stopped")
    return code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.localstack", description=__doc__)
    parser.add_argument("--endpoint", default=DEFAULT_URL, help="default: %(default)s")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install the pinned LocalStack into .cache/localstack")
    commands.add_parser("start", help="start it in the background and wait until it answers")
    commands.add_parser("stop", help="stop the one `start` started")
    commands.add_parser("status", help="what answers on the endpoint")
    runner = commands.add_parser("run", help="run a command with LocalStack up (-- COMMAND)")
    runner.add_argument("argv", nargs=argparse.REMAINDER)
    return parser.parse_args(argv)


def install_command(_url: str) -> int:
    """Install the LocalStack for the best Python found (replacing another one)."""
    say(install(find(), say=say).describe() + f" is installed in {VENV_DIR}")
    return 0


COMMANDS = {"install": install_command, "start": start, "stop": stop, "status": status}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command in COMMANDS:
            return COMMANDS[args.command](args.endpoint)
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        return run(args.endpoint, command)
    except LocalStackStartError as error:
        say(str(error))
        return 1
    except KeyboardInterrupt:  # Ctrl-C while LocalStack started: it was stopped on the way out
        return 128 + signal.SIGINT
