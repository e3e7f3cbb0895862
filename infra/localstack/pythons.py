"""Which Python LocalStack's virtualenv is made with, and so which LocalStack it gets.

localstack-core 2026.3.0 needs Python 3.13; 4.9.2, the last release that runs on 3.11 and
3.12, is the fallback. Each has its pinned requirements file beside this module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CURRENT = HERE / "requirements-py313.txt"
FALLBACK = HERE / "requirements-py311.txt"
PYTHON_VARIABLE = "LOCALSTACK_PYTHON"
_PINNED = re.compile(r"^localstack-core(?:\[[a-z,-]+\])?==(\S+)", re.MULTILINE)

MISSING = (
    "No Python can run LocalStack here: it needs Python 3.13 (for LocalStack 2026.3.0) or "
    "3.11-3.12 (for 4.9.2), with the venv module. Install one (`pyenv install 3.13`; on "
    "Debian `apt-get install python3-venv`), or name it: LOCALSTACK_PYTHON=/path/to/python."
)


class NoPythonForLocalStackError(SystemExit):
    """No interpreter found can make LocalStack's virtualenv; the message says what to do."""


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: tuple[int, int]

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True)
class Choice:
    """An interpreter and the requirements file its LocalStack is pinned in."""

    interpreter: Interpreter
    requirements: Path

    @property
    def localstack_version(self) -> str:
        match = _PINNED.search(self.requirements.read_text())
        assert match, f"{self.requirements} pins no localstack-core"
        return match.group(1)

    @property
    def is_fallback(self) -> bool:
        return self.requirements == FALLBACK


def requirements_for(version: tuple[int, int]) -> Path | None:
    """The requirements file for an interpreter of `version`, None if none runs there."""
    if version >= (3, 13):
        return CURRENT
    if version >= (3, 11):
        return FALLBACK
    return None


def choose(found: Iterable[Interpreter]) -> Choice | None:
    """The best of `found`: 3.13 (the release LocalStack was tested on), then newer, then
    3.12 and 3.11 with the fallback release."""
    usable = [i for i in found if requirements_for(i.version) is not None]
    if not usable:
        return None
    best = min(usable, key=lambda i: (i.version != (3, 13), i.version < (3, 13), -i.version[1]))
    requirements = requirements_for(best.version)
    assert requirements is not None
    return Choice(best, requirements)


def candidate_paths(environ: Mapping[str, str]) -> list[Path]:
    """Interpreters to try: `python3.N` on PATH, pyenv's versions, then this one."""
    found: list[Path] = []
    for name in ("python3.13", "python3.12", "python3.11", "python3"):
        path = shutil.which(name, path=environ.get("PATH"))
        if path:
            found.append(Path(path))
    pyenv_root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found.extend(sorted(pyenv_root.glob("versions/3.1[1-9]*/bin/python"), reverse=True))
    found.append(Path(sys.executable))
    return list(dict.fromkeys(found))


def probe(path: Path) -> Interpreter | None:
    """`path`'s version, if it runs and can make a virtualenv with pip."""
    try:
        completed = subprocess.run(  # noqa: S603 - an interpreter we found, fixed arguments
            [str(path), "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = completed.stdout.split()
    if completed.returncode != 0 or len(parts) != 2:
        return None
    return Interpreter(path, (int(parts[0]), int(parts[1])))


def find(environ: Mapping[str, str] = os.environ) -> Choice:
    """The interpreter to use (LOCALSTACK_PYTHON when set), or exit saying what is missing."""
    named = environ.get(PYTHON_VARIABLE)
    paths = [Path(named)] if named else candidate_paths(environ)
    choice = choose(i for i in map(probe, paths) if i is not None)
    if choice is None:
        where = f"{PYTHON_VARIABLE}={named} does not qualify. " if named else ""
        raise NoPythonForLocalStackError(where + MISSING)
    return choice
