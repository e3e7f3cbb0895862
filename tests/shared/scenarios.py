"""The sync scenarios both engines must pass: the SDK's (Python) and the web client's (JS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.fakes import FakeClock
from userdb.models import Doc, Note
from userdb.sync import Send, SyncEngine, SyncState, followed

SCENARIO_FILES = [
    Path(__file__).with_name("sync_scenarios.json"),
    Path(__file__).with_name("sync_scenarios_collections.json"),
]


def load_scenarios() -> list[dict[str, Any]]:
    return [scenario for path in SCENARIO_FILES for scenario in json.loads(path.read_text())]


def run_in_python(scenario: dict[str, Any]) -> dict[str, Any]:
    """Play a scenario's steps on the SDK's engine; the same outcome shape as the JS runner."""
    clock = FakeClock(start=1000.0)
    # Items of either shape: a document, or a note as servers before collections sent it.
    held = [Doc.from_json(item) for item in scenario.get("notes", [])]
    docs = {doc.key: doc for doc in held}
    jitter = float(scenario.get("jitter", 0.5))
    collections = followed(scenario.get("collections"))
    engine = SyncEngine(
        SyncState("client", scenario.get("cursor"), docs, collections),
        clock=clock.now,
        random=lambda: jitter,
        collections=collections,
    )
    sent: list[dict[str, Any]] = []
    for step in scenario["steps"]:
        name, *args = step
        if name == "start":
            effects = engine.start()
        elif name == "open":
            effects = engine.on_open()
        elif name == "message":
            effects = engine.on_message(json.dumps(args[0]))
        elif name == "tick":
            clock.advance(args[0])
            effects = engine.tick()
        elif name == "close":
            effects = engine.on_close(args[0])
        elif name == "connectFailed":
            effects = engine.on_connect_failed(args[0], args[1] if len(args) > 1 else None)
        elif name == "applyLocal":
            effects = engine.apply_local(Doc.from_json(args[0]))
        elif name == "forgetLocal":
            target = (
                args[0] if isinstance(args[0], dict) else {"collection": "notes", "id": args[0]}
            )
            effects = engine.forget_local((target["collection"], target["id"]))
        elif name == "stop":
            effects = engine.stop()
        else:
            raise AssertionError(f"unknown step {name}")
        sent += [effect.message for effect in effects if isinstance(effect, Send)]
    return {
        "sent": sent,
        "cursor": engine.state.cursor,
        "notes": {
            doc.id: Note.from_doc(doc).text
            for doc in engine.state.docs.values()
            if doc.collection == "notes"
        },
        "docs": {f"{doc.collection}/{doc.id}": doc.data for doc in engine.state.docs.values()},
        "state": str(engine.status.state),
        "running": engine.running,
    }


def expected_part(outcome: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    """The outcome restricted to what the scenario states."""
    return {key: outcome[key] for key in expect}
