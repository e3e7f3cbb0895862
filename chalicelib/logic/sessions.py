"""Sessions: start, validate (cached), renew, list and revoke."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.dal.sessions import SessionStore
from chalicelib.errors import NotFoundError, UnauthorizedError
from chalicelib.logic.clock import Clock, epoch_s
from chalicelib.logic.session_cache import SessionCache
from chalicelib.logic.tokens import hash_token, new_id, new_session_token
from chalicelib.models.accounts import Session

# Tokens are 43 characters; anything far longer is not ours and is not hashed.
MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, kept with the session for "my sessions"."""

    ip: str | None = None
    user_agent: str | None = None


class SessionService:
    """Sessions expire `lifetime_seconds` after their last renewal, renewed at most once a day."""

    def __init__(
        self,
        store: SessionStore,
        cache: SessionCache,
        clock: Clock,
        *,
        lifetime_seconds: int,
        renew_after_seconds: int,
    ) -> None:
        self._store = store
        self._cache = cache
        self._clock = clock
        self._lifetime = lifetime_seconds
        self._renew_after = renew_after_seconds
        self._end_listeners: list[Callable[[Session], object]] = []

    def on_end(self, listener: Callable[[Session], object]) -> None:
        """Call `listener` whenever a session ends (logout, revocation, account deletion)."""
        self._end_listeners.append(listener)

    def start(self, user_id: str, client: ClientInfo) -> tuple[str, Session]:
        """A new session for `user_id`: returns the token (shown once) and the session."""
        token = new_session_token()
        now = epoch_s(self._clock)
        session = Session(
            id=new_id("ses"),
            token_hash=hash_token(token),
            user_id=user_id,
            created=now,
            renewed=now,
            expires=now + self._lifetime,
            last_seen=now,
            ip=client.ip,
            user_agent=(client.user_agent or "")[:512] or None,
        )
        self._store.put(session)
        self._cache.put(session)
        return token, session

    def validate(self, token: str) -> Session:
        """The live session of `token`, or UnauthorizedError. Cached for a few seconds."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise UnauthorizedError()
        return self.validate_key(hash_token(token))

    def validate_key(self, token_hash: str) -> Session:
        """The live session stored under `token_hash` (its key), or UnauthorizedError."""
        now = self._clock.now()
        cached = self._cache.get(token_hash)
        if cached is not None and cached.expires > now:
            return cached
        session = self._store.get(token_hash)
        # DynamoDB deletes expired items up to days late: expiry is checked on every read.
        if session is None or session.expires <= now:
            self._cache.evict(token_hash)
            raise UnauthorizedError()
        if now - session.renewed >= self._renew_after:
            session = self._renewed(session, int(now))
        self._cache.put(session)
        return session

    def _renewed(self, session: Session, now: int) -> Session:
        renewed = session.model_copy(
            update={"renewed": now, "expires": now + self._lifetime, "last_seen": now}
        )
        if not self._store.renew(renewed):
            raise UnauthorizedError()
        return renewed

    def end(self, session: Session) -> None:
        """Sign out: the session is deleted and evicted from this instance's cache."""
        self._store.delete(session.token_hash)
        self._cache.evict(session.token_hash)
        for listener in self._end_listeners:
            listener(session)

    def live_sessions(self, user_id: str) -> list[Session]:
        """The user's sessions that have not expired, newest first."""
        now = self._clock.now()
        live = [s for s in self._store.list_for_user(user_id) if s.expires > now]
        return sorted(live, key=lambda s: s.created, reverse=True)

    def revoke(self, user_id: str, session_id: str) -> Session:
        """End one of the user's sessions by its id; NotFoundError if it is not theirs."""
        for session in self._store.list_for_user(user_id):
            if session.id == session_id:
                self.end(session)
                return session
        raise NotFoundError("No such session.")

    def end_all(self, user_id: str) -> list[Session]:
        """End every session of the user (account deletion)."""
        sessions = self._store.list_for_user(user_id)
        for session in sessions:
            self.end(session)
        self._cache.evict_user(user_id)
        return sessions
