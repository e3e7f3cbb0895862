"""Port checks with a message a person can act on."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Ports handed out below the kernel's ephemeral range: a port chosen from that range
# (bind to port 0) can be taken as the source port of some outgoing connection before
# the server that was meant to get it binds, and the start fails with "in use".
_LOWEST = 20_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class PortInUseError(SystemExit):
    pass


def ensure_free(host: str, port: int, flag: str) -> None:
    """Exit with a clear message if `port` is taken (before anything has started)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUseError(
                f"Port {port} on {host} is already in use (is `make run` already running?). "
                f"Stop what holds it, or choose another with {flag}."
            ) from None


def _ephemeral_start() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default; other systems start higher


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing uses right now, outside the ephemeral range when it can (for tests
    and embedded runs)."""
    highest = _ephemeral_start() - 1
    for _ in range(50) if highest > _LOWEST else ():
        port = random.randint(_LOWEST, highest)  # noqa: S311 - not a secret
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
