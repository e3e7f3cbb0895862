"""Browser tests: Python Playwright driving Debian's chromium (never a downloaded browser)."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from infra.local.ports import free_port
from tests.support.clients_runtime import local_stack  # noqa: F401 - a fixture of these tests

CHROMIUM = Path("/usr/bin/chromium")
# What the end-of-run summary (tests/conftest.py) looks for in skip reasons.
CHROMIUM_MISSING = "Debian's chromium is not installed"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROJECT_DIR = Path(__file__).resolve().parents[2]
WEB_DIR = PROJECT_DIR / "web"
CLIENT_DIR = PROJECT_DIR / "clients" / "js" / "src"  # served at /client/, as the runtime does
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def chromium() -> str | None:
    """The chromium to drive: $USERDB_CHROMIUM, Debian's, or one on PATH."""
    chosen = os.environ.get("USERDB_CHROMIUM")
    if chosen is not None:
        return chosen if Path(chosen).is_file() else None
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")


# Module scope: Playwright's sync API keeps an event loop running while it is open,
# which would break later tests that call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    if executable is None:
        missing = f"{CHROMIUM_MISSING}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def translate_path(self, path: str) -> str:
        if path.startswith("/client/"):
            return str(CLIENT_DIR / path.removeprefix("/client/").split("?")[0])
        return super().translate_path(path)


@pytest.fixture(scope="session")
def static_web() -> Iterator[str]:
    """The web client's files and the package's (/client/), over HTTP (for module tests
    that need no server)."""
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(WEB_DIR))
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
