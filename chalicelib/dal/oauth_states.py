"""Sign-ins in flight: what `/start` remembers for `/callback`, in `{prefix}-accounts`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.dal.items import OAuthStateItem
from chalicelib.dal.tables import TableBinding


@dataclass(frozen=True)
class PendingSignIn:
    """One authorization request sent to a provider, waiting for its callback."""

    provider: str
    code_verifier: str
    nonce: str | None
    redirect: str
    link_user_id: str | None
    created: int
    expires: int


class OAuthStateStore(Protocol):
    def put(self, state: str, pending: PendingSignIn) -> None:
        """Remember `pending` under `state` until `pending.expires` (epoch seconds)."""
        ...

    def take(self, state: str) -> PendingSignIn | None:
        """The sign-in of `state`, removed as it is read: a second take gets None."""
        ...


def _state_key(state: str) -> str:
    # The state travels in URLs and provider logs; the table keeps only its hash.
    return "oauthstate#" + hashlib.sha256(state.encode("utf-8")).hexdigest()


class DynamoOAuthStateStore:
    """OAuthStateStore on DynamoDB: items expire by TTL and are consumed by a conditional delete."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(OAuthStateItem)

    def put(self, state: str, pending: PendingSignIn) -> None:
        self._items(
            _state_key(state),
            provider=pending.provider,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            redirect=pending.redirect,
            link_user_id=pending.link_user_id,
            created=pending.created,
            expires=pending.expires,
        ).save(condition=self._items.pk.does_not_exist())

    def take(self, state: str) -> PendingSignIn | None:
        try:
            item = self._items.get(_state_key(state), consistent_read=True)
        except DoesNotExist:
            return None
        try:
            # Of two callbacks racing with one state, only one delete finds the item.
            item.delete(condition=self._items.pk.exists())
        except DeleteError as error:
            if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
                return None
            raise
        return PendingSignIn(
            provider=item.provider,
            code_verifier=item.code_verifier,
            nonce=item.nonce,
            redirect=item.redirect,
            link_user_id=item.link_user_id,
            created=int(item.created),
            expires=int(item.expires),
        )
