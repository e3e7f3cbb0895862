"""Sessions in `{prefix}-sessions`, keyed by the SHA-256 of their token."""

from __future__ import annotations

from typing import Protocol

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.dal.items import SessionItem
from chalicelib.dal.tables import TableBinding
from chalicelib.models.accounts import Session


class SessionStore(Protocol):
    def put(self, session: Session) -> None: ...

    def get(self, token_hash: str) -> Session | None:
        """The session stored under `token_hash`, read consistently (expired or not)."""
        ...

    def renew(self, session: Session) -> bool:
        """Write the session's new `renewed`, `expires` and `last_seen`; False if it is gone."""
        ...

    def delete(self, token_hash: str) -> None: ...

    def list_for_user(self, user_id: str) -> list[Session]: ...


def _to_session(item: SessionItem) -> Session:
    return Session(
        id=item.session_id,
        token_hash=item.pk,
        user_id=item.user_id,
        created=int(item.created),
        expires=int(item.expires),
        renewed=int(item.renewed),
        last_seen=int(item.last_seen),
        ip=item.ip,
        user_agent=item.user_agent,
    )


class DynamoSessionStore:
    """SessionStore on DynamoDB; `expires` is the table's TTL attribute."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(SessionItem)

    def put(self, session: Session) -> None:
        self._items(
            session.token_hash,
            session_id=session.id,
            user_id=session.user_id,
            created=session.created,
            renewed=session.renewed,
            expires=session.expires,
            last_seen=session.last_seen,
            ip=session.ip,
            user_agent=session.user_agent,
        ).save()

    def get(self, token_hash: str) -> Session | None:
        try:
            return _to_session(self._items.get(token_hash, consistent_read=True))
        except DoesNotExist:
            return None

    def renew(self, session: Session) -> bool:
        items = self._items
        try:
            items(session.token_hash).update(
                actions=[
                    items.renewed.set(session.renewed),
                    items.expires.set(session.expires),
                    items.last_seen.set(session.last_seen),
                ],
                # A session revoked meanwhile must not come back as a partial item.
                condition=items.pk.exists(),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete(self, token_hash: str) -> None:
        self._items(token_hash).delete()

    def list_for_user(self, user_id: str) -> list[Session]:
        return [_to_session(item) for item in self._items.by_user.query(user_id)]
