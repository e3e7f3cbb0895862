"""Starting and stopping the runtime: a port in use, Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest

from infra.local.ports import ensure_free, free_port
from tests.support.runtime_process import (
    PROJECT_DIR,
    WS_ECHO_APP,
    close_frame,
    connect,
    connection_id,
    start_runtime,
)


@pytest.mark.parametrize("flag", ["--port", "--ws-port"])
def test_a_port_in_use_is_named_with_its_flag(flag):
    # Given something already listening where the runtime wants to
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        ports = {"--port": free_port(), "--ws-port": free_port(), "--ddb-port": free_port()}
        ports[flag] = busy
        args = [arg for pair in ports.items() for arg in (pair[0], str(pair[1]))]
        # When the runtime starts
        command = [sys.executable, "-m", "infra.local", "up", "--backend", "moto"]
        command += ["--app-dir", str(WS_ECHO_APP), *args]
        result = subprocess.run(
            command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False
        )
    # Then it exits at once with a message naming the port and the flag to change
    assert result.returncode != 0
    assert f"Port {busy} on 127.0.0.1 is already in use" in result.stderr
    assert flag in result.stderr


def test_ctrl_c_closes_sockets_and_stops_every_part():
    # Given a running runtime with a connected client
    runtime = start_runtime(WS_ECHO_APP)
    try:
        ws = connect(runtime)
        connection_id(ws)
        # When the user presses Ctrl-C
        process = runtime.process
        assert process is not None
        process.send_signal(signal.SIGINT)
        # Then the client is told the server is going away
        assert close_frame(ws)[0] == 1001
        # And the process exits cleanly, saying so, and frees every port
        assert process.wait(timeout=30) == 0
    finally:
        runtime.stop(signal.SIGKILL)
    output = runtime.output_text()
    assert "stopped" in output
    assert "Traceback" not in output
    assert "REPORT RequestId" in output and "websocket_disconnect" in output
    for port, flag in ((runtime.port, "--port"), (runtime.ws_port, "--ws-port")):
        ensure_free("127.0.0.1", port, flag)
    ensure_free("127.0.0.1", runtime.ddb_port, "--ddb-port")
