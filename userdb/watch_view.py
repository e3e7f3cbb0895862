"""What `userdb watch` prints: changes as lines, the connection on a status line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TextIO

from userdb.cli_output import count, doc_row, one_line, print_json, summary, terminal_width
from userdb.models import Doc
from userdb.sync import ChangeSet, ConnectionState, Status


class WatchView:
    """Prints the documents it is given and each change; keeps a status line on a terminal.

    `with_collection` names each document's collection (when several are watched).
    """

    # Documents listed in full after a snapshot; more are counted.
    MAX_LISTED = 50

    def __init__(
        self, out: TextIO, *, as_json: bool, tty: bool, with_collection: bool = False
    ) -> None:
        self.out = out
        self.as_json = as_json
        self.tty = tty and not as_json
        self.with_collection = with_collection
        self.status: Status | None = None
        self.count = 0
        self.cursor: int | None = None
        self._drawn: str | None = None  # the status line on screen, if any

    def _clear_status(self) -> None:
        if self.tty and self._drawn is not None:
            self.out.write("\r\x1b[2K")
            self._drawn = None

    def line(self, text: str) -> None:
        """Print a line above the status line."""
        self._clear_status()
        self.out.write(text + "\n")
        self.draw_status()

    def docs(self, docs: list[Doc], cursor: int | None = None) -> None:
        """The documents as cached, before connecting (`cursor` None: never synced)."""
        self.count = len(docs)
        self.cursor = cursor
        if self.as_json:
            print_json({"event": "docs", "docs": [d.to_json() for d in docs]}, self.out)
            return
        if cursor is None and not docs:
            self.line("(nothing cached yet: syncing…)")
        elif not docs:
            self.line("(nothing yet)")
        self._list(docs)

    def _row(self, doc: Doc, width: int) -> str:
        return doc_row(doc, width, with_collection=self.with_collection)

    def _list(self, docs: Sequence[Doc]) -> None:
        width = terminal_width(self.out)
        for doc in docs[: self.MAX_LISTED]:
            self.line("  " + self._row(doc, width - 2))
        if len(docs) > self.MAX_LISTED:
            self.line(f"  … and {count(len(docs) - self.MAX_LISTED)} more")

    def change(self, change: ChangeSet, total: int) -> None:
        """Print what one change set did (`total`: documents held after it)."""
        self.count = total
        self.cursor = change.cursor
        if self.as_json:
            print_json(
                {
                    "event": "change",
                    "snapshot": change.snapshot,
                    "local": change.local,
                    "upserted": [d.to_json() for d in change.upserted],
                    "deleted": [
                        {"collection": collection, "id": doc_id}
                        for collection, doc_id in change.deleted
                    ],
                    "cursor": change.cursor,
                },
                self.out,
            )
            return
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        width = terminal_width(self.out) - 24
        if change.snapshot:
            self.line(f"[{stamp}] synced: {count(total)} (version {change.cursor})")
            newest = sorted(change.upserted, key=lambda d: (d.updated, d.version), reverse=True)
            self._list(newest)
            return
        for doc in change.upserted:
            mark = "~" if doc.created != doc.updated else "+"
            self.line(
                f"[{stamp}] {mark} {self._name(doc.collection, doc.id)}  "
                f"{one_line(summary(doc), width)}"
            )
        for collection, doc_id in change.deleted:
            self.line(f"[{stamp}] - {self._name(collection, doc_id)}")

    def _name(self, collection: str, doc_id: str) -> str:
        return f"{collection}/{doc_id}" if self.with_collection else doc_id

    def state(self, status: Status) -> None:
        """Show a new connection state."""
        self.status = status
        if status.cursor is not None:
            self.cursor = status.cursor
        if self.as_json:
            print_json(
                {
                    "event": "status",
                    "state": str(status.state),
                    "reason": status.reason,
                    "retry_in": status.retry_in,
                    "cursor": status.cursor,
                },
                self.out,
            )
        elif not self.tty:
            self.out.write(self.describe(status) + "\n")
            self.out.flush()
        else:
            self.draw_status()

    def describe(self, status: Status) -> str:
        """The status line's text for `status`."""
        marks = {"live": "●", "connecting": "◌", "reconnecting": "◌", "offline": "○"}
        text = f"{marks.get(status.state, '·')} {status.state}"
        if status.state == ConnectionState.LIVE:
            text += f" · {count(self.count)}"
            if self.cursor is not None:
                text += f" · version {self.cursor}"
        elif status.reason:
            text += f" · {status.reason}"
        if status.retry_in is not None and status.state != ConnectionState.LIVE:
            text += f" · retrying in {status.retry_in:.0f} s"
        return text

    def draw_status(self) -> None:
        """Redraw the status line if what it says changed."""
        if self.tty and self.status is not None:
            width = terminal_width(self.out)
            text = one_line(self.describe(self.status), width - 1)
            if text != self._drawn:
                self.out.write("\r\x1b[2K" + text)
                self._drawn = text
        self.out.flush()

    def close(self) -> None:
        """Leave the terminal on a fresh line."""
        if self.tty and self._drawn is not None:
            self.out.write("\n")
            self.out.flush()
            self._drawn = None
