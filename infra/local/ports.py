"""Port checks with a message a person can act on."""

from __future__ import annotations

import socket


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


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and embedded runs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
