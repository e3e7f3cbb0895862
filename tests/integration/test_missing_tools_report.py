"""Without chromium the browser tests skip, and the run ends by saying so loudly and how to
get it; with CI=true they fail instead. The suite itself runs, in a subprocess, with
chromium hidden through USERDB_CHROMIUM."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from infra.local.config import PROJECT_DIR

BROWSER_TESTS = "tests/browser/test_web_sync_engine.py"


def run_without_chromium(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", BROWSER_TESTS],
        cwd=PROJECT_DIR,
        env={**os.environ, "USERDB_CHROMIUM": "/nonexistent/chromium", "CI": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_skipped_browser_tests_are_announced_last_with_the_way_to_get_chromium():
    result = run_without_chromium()
    assert result.returncode == 0, result.stdout
    last_lines = result.stdout.strip().splitlines()[-3:]
    assert re.search(r"\b[1-9][0-9]* browser test\(s\) SKIPPED", last_lines[0])
    assert "apt-get install chromium" in last_lines[1]


def test_in_ci_missing_chromium_fails_the_run():
    result = run_without_chromium(CI="true")
    assert result.returncode != 0
    assert "the browser tests must run in CI" in result.stdout
