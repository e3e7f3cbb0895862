"""Which Python makes LocalStack's virtualenv, and so which pinned LocalStack it gets
(fake interpreters: shell scripts that answer the probe as Python would)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.localstack.pythons import (
    CURRENT,
    FALLBACK,
    Interpreter,
    NoPythonForLocalStackError,
    choose,
    find,
)


def fake_python(folder: Path, name: str, version: str, can_make_venvs: bool = True) -> Path:
    """A `python` that prints its version for the probe, or fails it as a Python without
    the venv module does."""
    folder.mkdir(parents=True, exist_ok=True)
    python = folder / name
    major, minor = version.split(".")
    body = f"echo {major} {minor}" if can_make_venvs else "echo 'No module named venv' >&2; exit 1"
    python.write_text(f"#!/bin/sh\n{body}\n")
    python.chmod(0o755)
    return python


def at(*versions: tuple[int, int]) -> list[Interpreter]:
    return [Interpreter(Path(f"/py/{major}.{minor}"), (major, minor)) for major, minor in versions]


def test_python_3_13_gets_the_current_localstack_and_3_11_the_fallback():
    # Given interpreters of every kind
    # When the best is chosen
    best = choose(at((3, 10), (3, 11), (3, 12), (3, 14), (3, 13)))
    # Then 3.13 wins, with LocalStack 2026.3.0
    assert best is not None
    assert (best.interpreter.version, best.requirements) == ((3, 13), CURRENT)
    assert (best.localstack_version, best.is_fallback) == ("2026.3.0", False)
    # And without 3.13: a newer one, else the newest of 3.11-3.12 with the fallback
    assert choose(at((3, 12), (3, 14))).interpreter.version == (3, 14)  # type: ignore[union-attr]
    fallback = choose(at((3, 11), (3, 12)))
    assert fallback is not None
    assert (fallback.interpreter.version, fallback.requirements) == ((3, 12), FALLBACK)
    assert (fallback.localstack_version, fallback.is_fallback) == ("4.9.2", True)
    # And older ones are no choice at all
    assert choose(at((3, 10), (2, 7))) is None


def test_the_pinned_files_pin_every_package(tmp_path):
    for requirements in (CURRENT, FALLBACK):
        lines = [
            line
            for line in requirements.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert all("==" in line for line in lines), requirements.name
        # The versions held back on purpose (see the files' comments)
        pins = dict(line.split("==") for line in lines)
        assert pins["cbor2"].startswith("5.")
        assert pins["pyOpenSSL"].startswith("24.")


def test_pythons_are_found_on_path_and_in_pyenv_and_the_best_one_wins(tmp_path):
    # Given a python3.11 on PATH and pyenv's 3.12 and 3.13, one without venv
    fake_python(tmp_path / "bin", "python3.11", "3.11")
    fake_python(tmp_path / "pyenv/versions/3.12.1/bin", "python", "3.12")
    fake_python(tmp_path / "pyenv/versions/3.13.0/bin", "python", "3.13")
    fake_python(tmp_path / "pyenv/versions/3.13.1/bin", "python", "3.13", can_make_venvs=False)
    environ = {"PATH": str(tmp_path / "bin"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    # When the interpreter is looked for
    choice = find(environ)
    # Then pyenv's working 3.13 is chosen
    assert choice.interpreter.path == tmp_path / "pyenv/versions/3.13.0/bin/python"
    assert choice.requirements == CURRENT


def test_a_named_python_is_the_only_one_tried_and_a_missing_one_says_what_to_do(tmp_path):
    # Given LOCALSTACK_PYTHON naming a 3.11, and a 3.13 elsewhere on PATH
    named = fake_python(tmp_path / "mine", "python", "3.11")
    fake_python(tmp_path / "bin", "python3.13", "3.13")
    environ = {"PATH": str(tmp_path / "bin"), "LOCALSTACK_PYTHON": str(named)}
    # Then the named one is used, with the fallback
    assert find(environ).interpreter.path == named
    # And one that cannot make a venv is refused with the ways out
    broken = fake_python(tmp_path / "old", "python", "3.13", can_make_venvs=False)
    with pytest.raises(NoPythonForLocalStackError) as refused:
        find({"PATH": "", "LOCALSTACK_PYTHON": str(broken)})
    message = str(refused.value)
    assert "LOCALSTACK_PYTHON" in message
    assert "pyenv install 3.13" in message
    assert "python3-venv" in message
