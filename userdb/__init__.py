"""userdb: the Python SDK of a realtime database per user.

    import userdb

    client = userdb.Client("http://127.0.0.1:8000", "ws://127.0.0.1:8001/", "~/.userdb")
    client.login("ann@example.com", "correct horse battery")
    note = client.notes.create("buy milk")
    with client.subscribe(on_change=print, on_state=print) as live:
        live.wait_live()
        ...

See docs/clients.md.
"""

__version__ = "0.1.0"

from userdb.client import Client, CurrentSession, NotesApi
from userdb.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    EmailTakenError,
    ForbiddenError,
    InvalidCredentialsError,
    NetworkError,
    NotFoundError,
    NotSignedInError,
    PayloadTooLargeError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    StateLockedError,
    TenantProvisioningError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    UserdbError,
    VersionMismatchError,
)
from userdb.live import Subscription
from userdb.models import Changes, Deletion, Note, NotesPage, SessionInfo, User
from userdb.sync import ChangeSet, ConnectionState, Status, SyncTimings

__all__ = [
    "ApiError",
    "BadRequestError",
    "ChangeSet",
    "Changes",
    "Client",
    "ConflictError",
    "ConnectionState",
    "CurrentSession",
    "Deletion",
    "EmailTakenError",
    "ForbiddenError",
    "InvalidCredentialsError",
    "NetworkError",
    "NotFoundError",
    "NotSignedInError",
    "Note",
    "NotesApi",
    "NotesPage",
    "PayloadTooLargeError",
    "ProtocolError",
    "RateLimitedError",
    "ServerError",
    "ServiceUnavailableError",
    "SessionInfo",
    "StateLockedError",
    "Status",
    "Subscription",
    "SyncTimings",
    "TenantProvisioningError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "User",
    "UserdbError",
    "VersionMismatchError",
]
