"""A userdb user over real HTTP (requests): sign up or log in, call the REST API, read state."""

from __future__ import annotations

import uuid
from typing import Any

import requests

PASSWORD = "correct horse battery"


class RestUser:
    """One session of one account; `login()` opens another session of the same account."""

    def __init__(self, api_url: str, token: str, user: dict[str, Any], email: str) -> None:
        self.api = api_url
        self.token = token
        self.user = user
        self.email = email
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @classmethod
    def sign_up(cls, api_url: str, name: str = "Test") -> RestUser:
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        reply = requests.post(
            f"{api_url}/auth/signup",
            json={"email": email, "password": PASSWORD, "name": name},
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return cls(api_url, body["token"], body["user"], email)

    def login(self) -> RestUser:
        """A second session of this account."""
        reply = requests.post(
            f"{self.api}/auth/login", json={"email": self.email, "password": PASSWORD}, timeout=30
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        return RestUser(self.api, body["token"], body["user"], self.email)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.api + path, timeout=30, **kwargs)

    def create(self, text: str) -> dict[str, Any]:
        reply = self.call("POST", "/notes", json={"text": text})
        assert reply.status_code == 201, reply.text
        return dict(reply.json()["note"])

    def session_id(self) -> str:
        reply = self.call("GET", "/auth/session")
        assert reply.status_code == 200, reply.text
        return str(reply.json()["session"]["id"])

    def server_state(self) -> tuple[int, dict[str, tuple[str, int]]]:
        """The tenant's version and its notes (id -> (text, version)), every page of GET /notes."""
        notes: dict[str, tuple[str, int]] = {}
        cursor: str | None = None
        version = -1
        while True:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            reply = self.call("GET", "/notes", params=params)
            assert reply.status_code == 200, reply.text
            page = reply.json()
            version = max(version, int(page["version"]))
            notes.update({n["id"]: (n["text"], int(n["version"])) for n in page["notes"]})
            cursor = page["cursor"]
            if not cursor:
                return version, notes
