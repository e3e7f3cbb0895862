"""How the API's answers look as documents, for tests that compare them."""

from __future__ import annotations

from typing import Any


def note_as_doc(note: dict[str, Any]) -> dict[str, Any]:
    """A note as `/notes` returns it, as sync and the collections API show it: a document."""
    return {
        "collection": "notes",
        "id": note["id"],
        "data": {"text": note["text"]},
        "version": note["version"],
        "created": note["created"],
        "updated": note["updated"],
    }
