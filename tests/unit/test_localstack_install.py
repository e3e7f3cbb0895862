"""Which LocalStack installation counts as installed (its stamp against its pinned file)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from infra.localstack.install import Installation, installed
from infra.localstack.pythons import CURRENT


def fake_venv(folder: Path, sha256: str) -> Path:
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").write_text("")
    stamp = {
        "requirements": CURRENT.name,
        "sha256": sha256,
        "python": "3.13",
        "localstack": "2026.3.0",
    }
    (folder / ".userdb-installed.json").write_text(json.dumps(stamp))
    return folder


def test_an_install_counts_while_its_pinned_file_is_unchanged(tmp_path):
    # Given a finished install of the current pins
    venv = fake_venv(tmp_path / "venv", hashlib.sha256(CURRENT.read_bytes()).hexdigest())
    # Then it is the installation, described as the user will read it
    found = installed(venv)
    assert found == Installation(venv, "2026.3.0", "3.13")
    assert found.describe() == "LocalStack 2026.3.0 on Python 3.13"
    assert found.python == venv / "bin" / "python"


def test_an_install_of_older_pins_or_one_cut_short_does_not_count(tmp_path):
    # Given an install made from pins that have changed since
    assert installed(fake_venv(tmp_path / "old", "0" * 64)) is None
    # And one whose interpreter is missing (cut short), and none at all
    venv = fake_venv(tmp_path / "short", hashlib.sha256(CURRENT.read_bytes()).hexdigest())
    (venv / "bin" / "python").unlink()
    assert installed(venv) is None
    assert installed(tmp_path / "none") is None
