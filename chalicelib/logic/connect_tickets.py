"""WebSocket connect tickets: a session token never needs to travel in a URL.

`POST /auth/ws-ticket` gives the signed-in caller a ticket that opens one WebSocket
connection within 60 seconds: browsers cannot send headers with a WebSocket upgrade,
so what authenticates it goes in the query string, and ends up in access logs and
browser consoles. A ticket there is worth little: used once, soon expired, and only
as good as the session it was issued to (ending the session voids it).
"""

from __future__ import annotations

import secrets

from chalicelib.dal.connect_tickets import ConnectTicketStore
from chalicelib.errors import UnauthorizedError
from chalicelib.logic.clock import Clock, epoch_s
from chalicelib.logic.sessions import SessionService
from chalicelib.logic.tokens import hash_token
from chalicelib.models.accounts import Session

TICKET_SECONDS = 60
TICKET_BYTES = 32
# Our tickets are 43 characters; anything far longer is not ours and is not hashed.
MAX_TICKET_LENGTH = 256


class ConnectTickets:
    """Issues tickets for a session and redeems each one once."""

    def __init__(self, store: ConnectTicketStore, sessions: SessionService, clock: Clock) -> None:
        self._store = store
        self._sessions = sessions
        self._clock = clock

    def issue(self, session: Session) -> tuple[str, int]:
        """A new ticket for `session` (only its hash is stored) and when it expires (epoch s)."""
        ticket = secrets.token_urlsafe(TICKET_BYTES)
        expires = epoch_s(self._clock) + TICKET_SECONDS
        self._store.add(hash_token(ticket), session.token_hash, expires)
        return ticket, expires

    def redeem(self, ticket: str) -> Session:
        """The live session the ticket was issued to; the ticket is used up.

        UnauthorizedError if it is unknown, used already, expired, or its session ended.
        """
        if not ticket or len(ticket) > MAX_TICKET_LENGTH:
            raise UnauthorizedError()
        taken = self._store.take(hash_token(ticket))
        # TTL deletes up to days late: expiry is checked here.
        if taken is None or taken.expires <= self._clock.now():
            raise UnauthorizedError()
        return self._sessions.validate_key(taken.session_key)
