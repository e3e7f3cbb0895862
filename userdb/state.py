"""The state folder: the session, the client id, the cursor and the cached documents.

Two files, each replaced atomically (write a temporary file, fsync, rename), so
a crash leaves the old or the new version and never half of one:

- `session.json` (mode 0600): the server's URL, the session token and the user;
- `devices.json` (mode 0600): per email, the device token the server gave at sign-in,
  sent on the next login so that this device keeps its own failure counter;
- `sync.json`: the client id (kept for the life of the folder), the user and
  server it belongs to, the collections it follows, the cursor and the documents as
  of that cursor. A file written by an SDK from before collections (format 1, `notes`)
  is read as documents of the notes collection.

A live subscription holds `sync.lock` (an advisory lock), because two processes
with one client id would keep replacing each other's connection on the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from userdb.errors import StateLockedError
from userdb.models import Doc, Note, User
from userdb.sync import SyncState

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one process per folder
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("userdb")

FORMAT = 2
SESSION_FILE = "session.json"
SYNC_FILE = "sync.json"
DEVICES_FILE = "devices.json"
LOCK_FILE = "sync.lock"


@dataclass(frozen=True)
class StoredSession:
    """A signed-in session as kept on disk."""

    base_url: str
    token: str
    user: User | None


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, whole."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable %s: %s", path, error)
        return None
    return data if isinstance(data, dict) else None


def _device_key(email: str) -> str:
    """An email as the server compares it (NFKC, trimmed, lower case)."""
    return unicodedata.normalize("NFKC", email).strip().lower()


class StateStore:
    """Reads and writes the state folder; `directory=None` keeps everything in memory."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else None
        self._lock = threading.Lock()
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock_handle: IO[str] | None = None

    # ------------------------------------------------------------------ files
    def _read(self, name: str) -> dict[str, Any] | None:
        if self.directory is None:
            found = self._memory.get(name)
            return json.loads(json.dumps(found)) if found is not None else None
        return _read_json(self.directory / name)

    def _write(self, name: str, data: dict[str, Any]) -> None:
        if self.directory is None:
            self._memory[name] = json.loads(json.dumps(data))
            return
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        write_atomically(self.directory / name, encoded)

    def _delete(self, name: str) -> None:
        if self.directory is None:
            self._memory.pop(name, None)
            return
        with contextlib.suppress(FileNotFoundError):
            (self.directory / name).unlink()

    # ------------------------------------------------------------------ session
    def load_session(self) -> StoredSession | None:
        """The saved session, or None (absent or unreadable)."""
        with self._lock:
            data = self._read(SESSION_FILE)
        if not data or not isinstance(data.get("token"), str):
            return None
        user = data.get("user")
        try:
            parsed = User.from_json(user) if isinstance(user, dict) else None
        except (KeyError, TypeError, ValueError):
            parsed = None
        return StoredSession(str(data.get("base_url", "")), data["token"], parsed)

    def save_session(self, session: StoredSession | None) -> None:
        """Save the session (None forgets it)."""
        with self._lock:
            if session is None:
                self._delete(SESSION_FILE)
                return
            self._write(
                SESSION_FILE,
                {
                    "format": FORMAT,
                    "base_url": session.base_url,
                    "token": session.token,
                    "user": session.user.to_json() if session.user else None,
                },
            )

    # ------------------------------------------------------------------ device tokens
    def load_device_token(self, email: str) -> str | None:
        """The device token the server gave this folder for `email`, if any."""
        with self._lock:
            data = self._read(DEVICES_FILE) or {}
        token = (data.get("tokens") or {}).get(_device_key(email))
        return token if isinstance(token, str) else None

    def save_device_token(self, email: str, token: str) -> None:
        """Keep the device token for `email` (it outlives sessions: it names this device)."""
        with self._lock:
            data = self._read(DEVICES_FILE) or {}
            tokens = dict(data.get("tokens") or {})
            tokens[_device_key(email)] = token
            self._write(DEVICES_FILE, {"format": FORMAT, "tokens": tokens})

    # ------------------------------------------------------------------ sync
    def _client_id(self, data: dict[str, Any] | None) -> str:
        raw = (data or {}).get("client_id")
        try:
            return str(uuid.UUID(str(raw)))
        except ValueError:
            return str(uuid.uuid4())

    def load_sync(self, user_id: str, base_url: str) -> SyncState:
        """The sync state for this user and server; a fresh one (same client id) otherwise."""
        with self._lock:
            data = self._read(SYNC_FILE)
            client_id = self._client_id(data)
            if data is None or "client_id" not in data:
                self._write(SYNC_FILE, {"format": FORMAT, "client_id": client_id})
        if not data or data.get("user_id") != user_id or data.get("base_url") != base_url:
            return SyncState(client_id)
        try:
            cursor = data.get("cursor")
            docs = [Doc.from_json(item) for item in data.get("docs") or []]
            # Format 1 kept notes only (and followed every collection there was).
            docs += [Note.from_json(item).to_doc() for item in data.get("notes") or []]
            collections = data.get("collections")
            return SyncState(
                client_id,
                int(cursor) if cursor is not None else None,
                {doc.key: doc for doc in docs},
                tuple(str(name) for name in collections) if collections is not None else None,
            )
        except (KeyError, TypeError, ValueError) as error:
            log.warning("ignoring unreadable cached documents: %s", error)
            return SyncState(client_id)

    def save_sync(self, user_id: str, base_url: str, state: SyncState) -> None:
        """Save the cursor and the documents it covers (atomically, together)."""
        data = {
            "format": FORMAT,
            "client_id": state.client_id,
            "user_id": user_id,
            "base_url": base_url,
            "collections": list(state.collections) if state.collections is not None else None,
            "cursor": state.cursor,
            "docs": [doc.to_json() for doc in state.docs.values()],
        }
        with self._lock:
            self._write(SYNC_FILE, data)

    def clear_sync(self) -> None:
        """Forget the cursor and cached documents (on logout); keep the client id."""
        with self._lock:
            client_id = self._client_id(self._read(SYNC_FILE))
            self._write(SYNC_FILE, {"format": FORMAT, "client_id": client_id})

    # ------------------------------------------------------------------ lock
    def acquire(self) -> None:
        """Take the folder's sync lock, or raise StateLockedError if another process has it."""
        if self.directory is None or fcntl is None or self._lock_handle is not None:
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = (self.directory / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateLockedError(
                f"{self.directory} is already being synced by {holder}; "
                "stop it or use another state folder (--state-dir / USERDB_STATE_DIR)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock_handle = handle

    def release(self) -> None:
        """Give the sync lock back."""
        handle, self._lock_handle = self._lock_handle, None
        if handle is not None:
            handle.close()
