"""userdb: the Python SDK of a realtime database per user.

    import userdb

    client = userdb.Client("http://127.0.0.1:8000", "ws://127.0.0.1:8001/", "~/.userdb")
    client.login("ann@example.com", "correct horse battery")
    todos = client.collection("todos")
    todo = todos.create({"title": "buy milk", "done": False})
    todos.patch(todo.id, {"done": True})
    with client.subscribe(on_change=print, on_state=print) as live:
        live.wait_live()
        print(live.docs("todos"))

See docs/clients.md.
"""

__version__ = "0.1.0"

from userdb.client import Client, CurrentSession
from userdb.collection_api import CollectionApi, NotesApi
from userdb.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    DocExistsError,
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
    UnknownCollectionError,
    UnsupportedMediaTypeError,
    UserdbError,
    VersionMismatchError,
)
from userdb.live import Subscription
from userdb.models import (
    BatchResult,
    Changes,
    Deletion,
    Doc,
    DocsPage,
    Note,
    NotesPage,
    SessionInfo,
    User,
)
from userdb.sync import ChangeSet, ConnectionState, Status, SyncTimings

__all__ = [
    "ApiError",
    "BadRequestError",
    "BatchResult",
    "ChangeSet",
    "Changes",
    "Client",
    "CollectionApi",
    "ConflictError",
    "ConnectionState",
    "CurrentSession",
    "Deletion",
    "Doc",
    "DocExistsError",
    "DocsPage",
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
    "UnknownCollectionError",
    "UnsupportedMediaTypeError",
    "User",
    "UserdbError",
    "VersionMismatchError",
]
