"""Ports for tests and embedded runs."""

import socket

from infra.local import ports
from infra.local.ports import free_port


def test_free_ports_come_from_below_the_ephemeral_range_and_can_be_bound():
    # Given the kernel's ephemeral range (outgoing connections take their ports there)
    start = ports._ephemeral_start()
    # When ports are handed out
    chosen = {free_port() for _ in range(20)}
    # Then none is one an outgoing connection could be holding, and each can be bound
    assert all(20_000 <= port < start for port in chosen)
    for port in chosen:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))


def test_a_port_in_use_is_not_handed_out(monkeypatch):
    # Given the only candidate port is taken by a listening server
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        monkeypatch.setattr("infra.local.ports.random.randint", lambda low, high: taken)
        # When a port is asked for
        port = free_port()
    # Then another one is given (the kernel's choice, after the candidates fail)
    assert port != taken
