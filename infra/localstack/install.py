"""LocalStack's own virtualenv under .cache/localstack/venv, installed from a pinned
requirements file and reinstalled only when that file or the chosen Python changes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.local.config import PROJECT_DIR
from infra.localstack.pythons import CURRENT, HERE, Choice

CACHE_DIR = PROJECT_DIR / ".cache" / "localstack"
VENV_DIR = CACHE_DIR / "venv"
_STAMP = ".userdb-installed.json"


class LocalStackNotInstalledError(SystemExit):
    """LocalStack's virtualenv is missing (or its install failed); the message says why."""


@dataclass(frozen=True)
class Installation:
    venv: Path
    localstack_version: str
    python_version: str

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def describe(self) -> str:
        return f"LocalStack {self.localstack_version} on Python {self.python_version}"


def _wanted(choice: Choice) -> dict[str, str]:
    return {
        "requirements": choice.requirements.name,
        "sha256": hashlib.sha256(choice.requirements.read_bytes()).hexdigest(),
        "python": choice.interpreter.version_text,
        "localstack": choice.localstack_version,
    }


def _read_stamp(venv: Path) -> dict[str, str] | None:
    try:
        stamp = json.loads((venv / _STAMP).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or not (venv / "bin" / "python").exists():
        return None
    return {str(k): str(v) for k, v in stamp.items()}


def installed(venv: Path = VENV_DIR) -> Installation | None:
    """The LocalStack installed in `venv`; None if there is none, it did not finish, or its
    requirements file has changed since."""
    stamp = _read_stamp(venv) or {}
    requirements = HERE / stamp.get("requirements", "-")
    if not requirements.is_file():
        return None
    if hashlib.sha256(requirements.read_bytes()).hexdigest() != stamp.get("sha256"):
        return None
    return Installation(venv, stamp["localstack"], stamp["python"])


def install(
    choice: Choice, venv: Path = VENV_DIR, say: Callable[[str], None] = print
) -> Installation:
    """Make `venv` hold exactly `choice`'s pinned LocalStack (a minute and ~500 MB, once)."""
    wanted = _wanted(choice)
    if _read_stamp(venv) == wanted:
        return Installation(venv, wanted["localstack"], wanted["python"])
    say(
        f"installing LocalStack {wanted['localstack']} with Python {wanted['python']} "
        f"({choice.interpreter.path}) into {venv} from {choice.requirements.name}"
    )
    if choice.is_fallback:
        say(
            f"  ({choice.localstack_version} is the last LocalStack that runs on Python 3.11 "
            "and 3.12; with a Python 3.13 found, or named by LOCALSTACK_PYTHON, it would be "
            f"{Choice(choice.interpreter, CURRENT).localstack_version})"
        )
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    commands = [
        [str(choice.interpreter.path), "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", "-r", str(choice.requirements),
        ],
    ]  # fmt: skip
    for command in commands:
        if subprocess.run(command, check=False).returncode != 0:  # noqa: S603 - fixed arguments
            raise LocalStackNotInstalledError(
                f"installing LocalStack failed at: {' '.join(command)}"
            )
    (venv / _STAMP).write_text(json.dumps(wanted, indent=2) + "\n")
    return Installation(venv, wanted["localstack"], wanted["python"])
