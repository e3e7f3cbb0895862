"""WebSocket connect tickets: single use, 60 seconds, only as good as their session."""

import uuid

import pytest

from chalicelib.errors import UnauthorizedError
from chalicelib.logic.connect_tickets import TICKET_SECONDS, ConnectTickets
from chalicelib.logic.connections import ConnectionService
from chalicelib.logic.sessions import ClientInfo
from chalicelib.logic.tokens import hash_token
from tests.support.fakes import (
    FakeChangeFeed,
    FakeClock,
    InMemoryConnectionStore,
    InMemoryConnectTicketStore,
    RecordingPush,
    memory_sessions,
)

CLIENT = str(uuid.uuid4())


@pytest.fixture
def world():
    clock = FakeClock()
    sessions = memory_sessions(clock)
    store = InMemoryConnectTicketStore()
    tickets = ConnectTickets(store, sessions, clock)
    connections = ConnectionService(
        sessions,
        InMemoryConnectionStore(),
        FakeChangeFeed(),
        clock,
        RecordingPush(),
        tickets=tickets,
    )
    token, session = sessions.start("usr_a", ClientInfo())
    return clock, sessions, store, tickets, connections, token, session


def test_a_ticket_opens_one_connection_of_its_session(world):
    _, _, _, tickets, connections, _, session = world
    ticket, _ = tickets.issue(session)
    connection = connections.connect("c1", None, CLIENT, ticket)
    assert (connection.tenant_id, connection.session_id) == ("usr_a", session.id)
    # Used up: a second connection with it is refused
    with pytest.raises(UnauthorizedError):
        connections.connect("c2", None, CLIENT, ticket)


def test_only_the_tickets_hash_is_stored(world):
    _, _, store, tickets, _, _, session = world
    ticket, _ = tickets.issue(session)
    assert list(store.tickets) == [hash_token(ticket)]
    assert store.tickets[hash_token(ticket)].session_key == session.token_hash
    assert ticket not in repr(store.tickets)
    assert len(ticket) == 43


def test_a_ticket_expires_after_sixty_seconds(world):
    clock, _, _, tickets, connections, _, session = world
    ticket, expires = tickets.issue(session)
    assert expires == int(clock.now()) + TICKET_SECONDS
    clock.advance(TICKET_SECONDS)
    with pytest.raises(UnauthorizedError):
        connections.connect("c1", None, CLIENT, ticket)


def test_a_ticket_of_an_ended_session_is_refused(world):
    _, sessions, _, tickets, connections, _, session = world
    ticket, _ = tickets.issue(session)
    sessions.end(session)
    with pytest.raises(UnauthorizedError):
        connections.connect("c1", None, CLIENT, ticket)


@pytest.mark.parametrize("ticket", ["", "unknown", "x" * 10_000])
def test_unknown_tickets_are_refused(world, ticket):
    _, _, _, _, connections, _, _ = world
    with pytest.raises(UnauthorizedError):
        connections.connect("c1", None, CLIENT, ticket)


def test_a_ticket_wins_over_a_token_which_still_works_alone(world):
    _, _, _, _, connections, token, _ = world
    # A bad ticket is not rescued by a good token beside it
    with pytest.raises(UnauthorizedError):
        connections.connect("c1", token, CLIENT, "unknown")
    # The token alone (deprecated) still connects
    assert connections.connect("c2", token, CLIENT).tenant_id == "usr_a"
