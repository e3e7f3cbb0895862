"""`userdb.Client`: accounts, documents of collections, notes and live sync against a
userdb server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from userdb.collection_api import CollectionApi, NotesApi, quote, write_headers
from userdb.errors import ApiError, NotSignedInError, UnauthorizedError
from userdb.http import HttpTransport, api_root
from userdb.live import ChangeCallback, StateCallback, Subscription, socket_url
from userdb.models import (
    BatchResult,
    Changes,
    Doc,
    DocKey,
    Note,
    SessionInfo,
    User,
)
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
        """The state folder (session, client id, cursor, cached documents)."""
        return self._store

    def signup(self, email: str, password: str, name: str) -> User:
        """Create an account and sign in (EmailTakenError if the email is in use)."""
        body = self._call(
            "POST",
            "/auth/signup",
            body={"email": email, "password": password, "name": name},
            auth=False,
        )
        return self._signed_in(body, email)

    def login(self, email: str, password: str) -> User:
        """Sign in (InvalidCredentialsError, or RateLimitedError after repeated failures).

        The device token the server gave this state folder at its last sign-in with this
        email goes along: a device that signed in before keeps its own failure counter,
        so wrong passwords sent from elsewhere do not lock it out (docs/security.md).
        """
        request = {"email": email, "password": password}
        device_token = self._store.load_device_token(email)
        if device_token is not None:
            request["device_token"] = device_token
        body = self._call("POST", "/auth/login", body=request, auth=False)
        return self._signed_in(body, email)

    def logout(self) -> None:
        """End the session on the server and forget it here, with the cached documents."""
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
        self._call("DELETE", f"/auth/sessions/{quote(session_id)}")

    def sync(
        self,
        since: int | None = None,
        limit: int | None = None,
        collections: Iterable[str] | None = None,
    ) -> Changes:
        """`GET /sync`: what changed since `since` (a snapshot if None or too old), of
        `collections` only when given."""
        query: dict[str, str | int | None] = {"since": since, "limit": limit}
        if collections is not None:
            query["collections"] = ",".join(collections)
        return Changes.from_json(self._call("GET", "/sync", query=query))

    # ------------------------------------------------------------------ documents
    def collection(self, name: str) -> CollectionApi:
        """The documents of one collection the app declares."""
        return CollectionApi(self, name)

    def collections(self) -> list[dict[str, Any]]:
        """The collections the app declares: `[{name, schema}]`."""
        return list(self._call("GET", "/collections").get("collections") or [])

    def batch(
        self, ops: Iterable[Mapping[str, Any]], *, idempotency_key: str | None = None
    ) -> BatchResult:
        """Several writes at once, all or nothing: each op is `{op: create|put|patch|delete,
        collection, id?, data?, if_match?}` (99 at most)."""
        body = {"ops": [dict(op) for op in ops]}
        reply = self._call(
            "POST", "/batch", body=body, headers=write_headers(None, idempotency_key)
        )
        result = BatchResult.from_json(reply)
        for item in result.results:
            if isinstance(item, Doc):
                self._written(item)
            else:
                self._deleted(item.key)
        return result

    # ------------------------------------------------------------------ live
    def cached_docs(self, collection: str | None = None) -> list[Doc]:
        """The documents (of `collection`, or all) as last synced, from the live
        subscription or else the state folder; most recently updated first."""
        with self._lock:
            if self._subscription is not None:
                return self._subscription.docs(collection)
        user = self._require_user()
        state = self._store.load_sync(user.id, self.base_url)
        held = [d for d in state.docs.values() if collection is None or d.collection == collection]
        return sorted(held, key=lambda d: (d.updated, d.version), reverse=True)

    def cached_notes(self) -> list[Note]:
        """The notes as last synced (from the live subscription, or else the state folder)."""
        return [Note.from_doc(doc) for doc in self.cached_docs("notes")]

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
        collections: Iterable[str] | None = None,
    ) -> Subscription:
        """Keep the cached documents in sync live (of `collections` only, when given);
        resumes from the state folder's cursor (a different set of collections than the
        folder's starts over from a snapshot).

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
            engine = SyncEngine(
                state, clock=time.monotonic, timings=self._timings, collections=collections
            )
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

    def _signed_in(self, body: dict[str, Any], email: str) -> User:
        user = User.from_json(body["user"])
        token = str(body["token"])
        device_token = body.get("device_token")
        if isinstance(device_token, str) and device_token:
            self._store.save_device_token(email, device_token)
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

    def _written(self, doc: Doc) -> None:
        with self._lock:
            subscription = self._subscription
        if subscription is not None:
            subscription.apply_local(doc)

    def _deleted(self, key: DocKey) -> None:
        with self._lock:
            subscription = self._subscription
        if subscription is not None:
            subscription.forget_local(key)
