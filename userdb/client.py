"""`userdb.Client`: accounts, notes and live sync against a userdb server."""

from __future__ import annotations

import builtins
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from userdb.errors import ApiError, NotSignedInError, UnauthorizedError
from userdb.http import HttpTransport, api_root
from userdb.live import ChangeCallback, StateCallback, Subscription, socket_url
from userdb.models import Changes, Note, NotesPage, SessionInfo, User
from userdb.state import StateStore, StoredSession
from userdb.sync import SyncEngine, SyncState, SyncTimings

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_WS_URL = "ws://127.0.0.1:8001/"
DEFAULT_STATE_DIR = "~/.userdb"


@dataclass(frozen=True)
class CurrentSession:
    """`GET /auth/session`: who is signed in, and with which session."""

    user: User
    session: SessionInfo


def _version_header(version: int | None) -> dict[str, str]:
    return {} if version is None else {"If-Match": f'"{version}"'}


class NotesApi:
    """The signed-in user's notes over REST (`client.notes`)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, limit: int | None = None, cursor: str | None = None) -> NotesPage:
        """One page of notes (by id); pass the page's `cursor` back for the next one."""
        body = self._client._call("GET", "/notes", query={"limit": limit, "cursor": cursor})
        return NotesPage(
            notes=[Note.from_json(item) for item in body.get("notes") or []],
            cursor=body.get("cursor"),
            version=int(body.get("version") or 0),
        )

    def all(self) -> builtins.list[Note]:
        """Every note, following the pages."""
        notes: builtins.list[Note] = []
        cursor: str | None = None
        while True:
            page = self.list(limit=100, cursor=cursor)
            notes.extend(page.notes)
            if not page.cursor:
                return notes
            cursor = page.cursor

    def create(
        self,
        text: str,
        *,
        id: str | None = None,  # the API's field name
        idempotency_key: str | None = None,
    ) -> Note:
        """Create a note (`id`: a client-chosen `note_` + 16 of [a-z0-9]).

        An Idempotency-Key is always sent, a fresh one unless given: retrying a
        call with the same key never creates the note twice.
        """
        body: dict[str, str] = {"text": text}
        if id is not None:
            body["id"] = id
        key = idempotency_key or str(uuid.uuid4())
        reply = self._client._call("POST", "/notes", body=body, headers={"Idempotency-Key": key})
        note = Note.from_json(reply["note"])
        self._client._written(note)
        return note

    def get(self, note_id: str) -> Note:
        """One note; NotFoundError if it does not exist (or was deleted)."""
        return Note.from_json(self._client._call("GET", f"/notes/{_quote(note_id)}")["note"])

    def update(self, note_id: str, text: str, *, if_match: int | None = None) -> Note:
        """Replace a note's text. With `if_match`, VersionMismatchError if it changed since."""
        reply = self._client._call(
            "PUT",
            f"/notes/{_quote(note_id)}",
            body={"text": text},
            headers=_version_header(if_match),
        )
        note = Note.from_json(reply["note"])
        self._client._written(note)
        return note

    def delete(self, note_id: str, *, if_match: int | None = None) -> None:
        """Delete a note. With `if_match`, VersionMismatchError if it changed since."""
        self._client._call("DELETE", f"/notes/{_quote(note_id)}", headers=_version_header(if_match))
        self._client._deleted(note_id)


def _quote(note_id: str) -> str:
    return urllib.parse.quote(note_id, safe="")


class Client:
    """A userdb client: REST calls, a state folder, and live sync.

    `base_url` is the server (`http://127.0.0.1:8000` for the local runtime, whose
    API is under `/api`; on AWS the stage URL); `ws_url` the WebSocket endpoint;
    `state_dir` keeps the session, client id, cursor and cached notes across
    restarts (None: keep them in memory only). Thread-safe.

        client = userdb.Client()
        client.login("ann@example.com", "correct horse battery")
        client.notes.create("buy milk")
        with client.subscribe(on_change=print) as live:
            live.wait_live()
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        ws_url: str = DEFAULT_WS_URL,
        state_dir: str | Path | None = DEFAULT_STATE_DIR,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        api_prefix: str | None = None,
        timings: SyncTimings | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = ws_url
        socket_url(ws_url, "", "")  # a bad URL fails here, not on the first subscribe
        self._http = HttpTransport(api_root(base_url, api_prefix), timeout=timeout)
        self._store = StateStore(state_dir)
        self._timings = timings
        self._lock = threading.RLock()
        self._subscription: Subscription | None = None
        stored = self._store.load_session()
        if token is not None:
            self._session: StoredSession | None = StoredSession(self.base_url, token, None)
        elif stored is not None and stored.base_url == self.base_url:
            self._session = stored
        else:
            self._session = None
        self.notes = NotesApi(self)

    # ------------------------------------------------------------------ session
    @property
    def token(self) -> str | None:
        """The session token, if signed in."""
        with self._lock:
            return self._session.token if self._session else None

    @property
    def user(self) -> User | None:
        """The signed-in user as last seen (None if unknown or signed out)."""
        with self._lock:
            return self._session.user if self._session else None

    @property
    def signed_in(self) -> bool:
        """True while the client holds a session token."""
        return self.token is not None

    @property
    def state(self) -> StateStore:
        """The state folder (session, client id, cursor, cached notes)."""
        return self._store

    def signup(self, email: str, password: str, name: str) -> User:
        """Create an account and sign in (EmailTakenError if the email is in use)."""
        body = self._call(
            "POST",
            "/auth/signup",
            body={"email": email, "password": password, "name": name},
            auth=False,
        )
        return self._signed_in(body)

    def login(self, email: str, password: str) -> User:
        """Sign in (InvalidCredentialsError, or RateLimitedError after repeated failures)."""
        body = self._call(
            "POST", "/auth/login", body={"email": email, "password": password}, auth=False
        )
        return self._signed_in(body)

    def logout(self) -> None:
        """End the session on the server and forget it here, with the cached notes."""
        self.close()
        try:
            if self.token is not None:
                self._call("POST", "/auth/logout")
        except UnauthorizedError:
            pass  # already ended on the server: forgetting it locally is what remains
        finally:
            with self._lock:
                self._session = None
                self._store.save_session(None)
                self._store.clear_sync()

    def session(self) -> CurrentSession:
        """The signed-in user and session (UnauthorizedError if the session ended)."""
        body = self._call("GET", "/auth/session")
        current = CurrentSession(
            User.from_json(body["user"]), SessionInfo.from_json(body["session"])
        )
        self._remember_user(current.user)
        return current

    def me(self) -> User:
        """The signed-in user's account."""
        user = User.from_json(self._call("GET", "/me")["user"])
        self._remember_user(user)
        return user

    def sessions(self) -> list[SessionInfo]:
        """Every live session of the account."""
        body = self._call("GET", "/auth/sessions")
        return [SessionInfo.from_json(item) for item in body.get("sessions") or []]

    def revoke_session(self, session_id: str) -> None:
        """End one of the account's sessions (its sockets close too)."""
        self._call("DELETE", f"/auth/sessions/{_quote(session_id)}")

    def sync(self, since: int | None = None, limit: int | None = None) -> Changes:
        """`GET /sync`: what changed since `since` (a snapshot if None or too old)."""
        return Changes.from_json(self._call("GET", "/sync", query={"since": since, "limit": limit}))

    # ------------------------------------------------------------------ live
    def cached_notes(self) -> list[Note]:
        """The notes as last synced (from the live subscription, or else the state folder)."""
        with self._lock:
            if self._subscription is not None:
                return self._subscription.notes()
        user = self._require_user()
        state = self._store.load_sync(user.id, self.base_url)
        return sorted(state.notes.values(), key=lambda n: (n.updated, n.version), reverse=True)

    def cached_cursor(self) -> int | None:
        """The version the cached notes are complete up to (None: never synced)."""
        user = self._require_user()
        return self._store.load_sync(user.id, self.base_url).cursor

    def subscribe(
        self,
        on_change: ChangeCallback | None = None,
        on_state: StateCallback | None = None,
        *,
        start: bool = True,
    ) -> Subscription:
        """Keep the cached notes in sync live; resumes from the state folder's cursor.

        One subscription per client and per state folder (StateLockedError if
        another process holds it). Close it (or use `with`) to stop.
        """
        user = self._require_user()
        token = self.token
        assert token is not None
        with self._lock:
            if self._subscription is not None:
                raise RuntimeError("this client already has a live subscription; close it first")
            self._store.acquire()
            state = self._store.load_sync(user.id, self.base_url)
            engine = SyncEngine(state, clock=time.monotonic, timings=self._timings)
            base_url = self.base_url

            def persist(snapshot: SyncState) -> None:
                """Save the sync state for this user and server."""
                self._store.save_sync(user.id, base_url, snapshot)

            subscription = Subscription(
                engine,
                lambda: self._socket_url(token, state.client_id),
                persist=persist,
                on_change=on_change,
                on_state=on_state,
                on_exit=lambda: self._subscription_ended(subscription),
            )
            self._subscription = subscription
        return subscription.start() if start else subscription

    def _socket_url(self, token: str, client_id: str) -> str:
        """Where to connect: with a single-use ticket (`POST /auth/ws-ticket`), so the
        session token stays out of URLs; with the token where a server has no tickets."""
        try:
            reply = self._http.request("POST", "/auth/ws-ticket", token=token)
        except ApiError as error:
            # 404, or API Gateway's 403 "Missing Authentication Token" for a route it lacks.
            if error.status == 404 or (error.status == 403 and error.code == "http_403"):
                return socket_url(self.ws_url, token, client_id)
            raise
        return socket_url(self.ws_url, token, client_id, ticket=str(reply.body["ticket"]))

    def close(self) -> None:
        """Stop the live subscription, if any (the session stays)."""
        with self._lock:
            subscription = self._subscription
        if subscription is not None:
            subscription.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _subscription_ended(self, subscription: Subscription) -> None:
        with self._lock:
            if self._subscription is subscription:
                self._subscription = None
                self._store.release()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        query: dict[str, str | int | None] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> dict[str, Any]:
        token = None
        if auth:
            token = self.token
            if token is None:
                raise NotSignedInError()
        reply = self._http.request(
            method, path, body=body, query=query, token=token, headers=headers
        )
        return reply.body if isinstance(reply.body, dict) else {}

    def _signed_in(self, body: dict[str, Any]) -> User:
        user = User.from_json(body["user"])
        token = str(body["token"])
        self.close()
        with self._lock:
            self._session = StoredSession(self.base_url, token, user)
            self._store.save_session(self._session)
        return user

    def _remember_user(self, user: User) -> None:
        with self._lock:
            if self._session is not None and self._session.user != user:
                self._session = StoredSession(self._session.base_url, self._session.token, user)
                self._store.save_session(self._session)

    def _require_user(self) -> User:
        user = self.user
        if user is None:
            if self.token is None:
                raise NotSignedInError()
            user = self.session().user
        return user

    def _written(self, note: Note) -> None:
        with self._lock:
            subscription = self._subscription
        if subscription is not None:
            subscription.apply_local(note)

    def _deleted(self, note_id: str) -> None:
        with self._lock:
            subscription = self._subscription
        if subscription is not None:
            subscription.forget_local(note_id)
