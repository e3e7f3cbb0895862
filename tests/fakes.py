"""In-memory fakes of our interfaces (preferred over mock.patch)."""

from __future__ import annotations

from chalicelib.dal.accounts import LoginAttempts
from chalicelib.models.accounts import Session


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


class InMemorySessionStore:
    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.reads = 0

    def put(self, session: Session) -> None:
        self.sessions[session.token_hash] = session

    def get(self, token_hash: str) -> Session | None:
        self.reads += 1
        return self.sessions.get(token_hash)

    def renew(self, session: Session) -> bool:
        if session.token_hash not in self.sessions:
            return False
        self.sessions[session.token_hash] = session
        return True

    def delete(self, token_hash: str) -> None:
        self.sessions.pop(token_hash, None)

    def list_for_user(self, user_id: str) -> list[Session]:
        return [s for s in self.sessions.values() if s.user_id == user_id]


class InMemoryLoginAttemptsStore:
    def __init__(self) -> None:
        self.attempts: dict[str, LoginAttempts] = {}

    def get(self, email: str) -> LoginAttempts | None:
        return self.attempts.get(email)

    def save(self, email: str, attempts: LoginAttempts, expected_revision: int) -> bool:
        current = self.attempts.get(email)
        if (current.revision if current else 0) != expected_revision:
            return False
        self.attempts[email] = LoginAttempts(
            failures=attempts.failures,
            window_started=attempts.window_started,
            lockouts=attempts.lockouts,
            locked_until=attempts.locked_until,
            revision=expected_revision + 1,
            expires=attempts.expires,
        )
        return True
