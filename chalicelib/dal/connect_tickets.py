"""Single-use WebSocket connect tickets in `{prefix}-sessions`, keyed by their hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import DeleteError

from chalicelib.dal.items import ConnectTicketItem
from chalicelib.dal.tables import TableBinding


@dataclass(frozen=True)
class StoredTicket:
    session_key: str
    expires: int


class ConnectTicketStore(Protocol):
    def add(self, ticket_hash: str, session_key: str, expires: int) -> None: ...

    def take(self, ticket_hash: str) -> StoredTicket | None:
        """Remove the ticket and return what it was, atomically: of any number of
        concurrent takes, one gets it. None if absent (never issued, or taken)."""
        ...


def _ticket_key(ticket_hash: str) -> str:
    return f"ticket#{ticket_hash}"


class DynamoConnectTicketStore:
    """ConnectTicketStore on DynamoDB: a conditional DeleteItem returning the old item."""

    def __init__(self, table: TableBinding) -> None:
        self._items = table.model(ConnectTicketItem)

    def add(self, ticket_hash: str, session_key: str, expires: int) -> None:
        self._items(_ticket_key(ticket_hash), session_key=session_key, expires=expires).save()

    def take(self, ticket_hash: str) -> StoredTicket | None:
        items = self._items
        try:
            reply = items._get_connection().delete_item(
                _ticket_key(ticket_hash),
                condition=items.pk.exists(),
                return_values="ALL_OLD",
            )
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        taken = items.from_raw_data(reply["Attributes"])
        return StoredTicket(str(taken.session_key), int(taken.expires))
