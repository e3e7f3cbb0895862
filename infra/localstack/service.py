"""LocalStack on an endpoint: the one already answering there, or one this project starts
(installed first if need be), with its files, log and pid in .cache/localstack/port-PORT."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from infra.localstack.install import CACHE_DIR, Installation, install, installed
from infra.localstack.process import LocalStackProcess, StartReport, health, serves_dynamodb
from infra.localstack.pythons import find

DEFAULT_URL = "http://127.0.0.1:4566"


@dataclass(frozen=True)
class LocalStackFiles:
    """Where a LocalStack started here on `port` keeps its files (one folder per port: two
    of them never share a FILESYSTEM_ROOT, whose temporary files LocalStack clears at start)."""

    port: int

    @property
    def folder(self) -> Path:
        return CACHE_DIR / f"port-{self.port}"

    @property
    def filesystem_root(self) -> Path:
        return self.folder / "filesystem"

    @property
    def log(self) -> Path:
        return self.folder / "localstack.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / "localstack.pid"


def loopback_port(url: str) -> int:
    """The port of `url`, which must be on 127.0.0.1: LocalStack is started there only."""
    parsed = urlparse(url)
    if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"LocalStack is started on 127.0.0.1 only, not on {url}")
    return parsed.port or 80


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_installed() -> Installation:
    """The LocalStack installed here, or the one for the best Python found, installed now.
    (An installation is never swapped for another here: `make localstack-install` does it.)"""
    return installed() or install(find(), say=say)


def already_there(url: str) -> bool:
    """True if a LocalStack serving DynamoDB answers at `url`; exits if one that does not."""
    report = health(url)
    if report is None:
        return False
    if not serves_dynamodb(report):
        raise SystemExit(f"LocalStack at {url} does not serve DynamoDB and its streams: {report}")
    return True


def own_process(url: str, tied: bool) -> LocalStackProcess:
    """A LocalStack to start on `url` (127.0.0.1 only), installing it first if need be."""
    port = loopback_port(url)
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(
                f"127.0.0.1:{port} is taken by something that is not LocalStack: stop it, or "
                "choose another endpoint (LOCALSTACK_ENDPOINT=http://127.0.0.1:PORT for make)"
            )
    files = LocalStackFiles(port)
    return LocalStackProcess(
        ensure_installed(),
        host="127.0.0.1",
        port=port,
        filesystem_root=files.filesystem_root,
        log=files.log,
        tied=tied,
    )


def describe(process: LocalStackProcess, report: StartReport) -> str:
    return (
        f"{process.installation.describe()} on {report.url} (pid {report.pid}): healthy in "
        f"{report.healthy_s:.1f} s, DynamoDB answering in {report.dynamodb_ready_s:.1f} s\n"
        f"  log: {report.log}"
    )
