"""How the command line shows things (times, one-line summaries, rows, JSON) and ends
(exit codes, usage errors)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from typing import Any, TextIO

from userdb.models import NOTES, Doc, Note

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_AUTH = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_UNREACHABLE, EXIT_LOCKED = 4, 5, 6, 7


class UsageError(Exception):
    """A mistake in the command line the user can fix."""


def when(epoch_ms: int) -> str:
    """A time as a person reads it: the hour today, else the date."""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000).astimezone()
    if moment.date() == dt.datetime.now().astimezone().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d")


def one_line(text: str, width: int) -> str:
    """`text` on one line, cut with an ellipsis to `width`."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(1, width - 1)] + "…"


def summary(doc: Doc) -> str:
    """What a row shows of a document: a note's text, else its data as compact JSON."""
    text = doc.data.get("text") if doc.collection == NOTES else None
    if isinstance(text, str):
        return text
    return json.dumps(doc.data, ensure_ascii=False, separators=(",", ":"))


def note_row(note: Note, width: int) -> str:
    prefix = f"{note.id}  {when(note.updated):>10}  "
    return prefix + one_line(note.text, max(10, width - len(prefix)))


def doc_row(doc: Doc, width: int, *, with_collection: bool = False) -> str:
    name = f"{doc.collection}/{doc.id}" if with_collection else doc.id
    prefix = f"{name}  {when(doc.updated):>10}  "
    return prefix + one_line(summary(doc), max(10, width - len(prefix)))


def terminal_width(out: TextIO) -> int:
    return shutil.get_terminal_size((100, 24)).columns if out.isatty() else 100


def print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False) + "\n")
    out.flush()


def count(n: int, noun: str = "document") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
