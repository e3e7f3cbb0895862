"""Hypothesis strategies for WebSocket client messages, each with what the server owes it.

The expectation comes from how a message was built, not from the server's own
models: a message that is not a JSON object, names no known action, carries a
field of the wrong type or one the protocol does not have is invalid (one
`error` reply); one built from DESIGN §5's shapes is valid (no `error`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

ACTIONS = ("hello", "ack", "ping", "sync")
# Each action's field, whether it may be null, and whether it is required (DESIGN §5).
FIELDS: dict[str, tuple[str, bool, bool]] = {
    "hello": ("since", True, False),
    "ack": ("version", False, True),
    "ping": ("version", True, False),
    "sync": ("since", True, False),
}
MAX_VERSION = 2**53
SERVER_TYPES = frozenset({"welcome", "changes", "pong", "error"})


@dataclass(frozen=True)
class ClientMessage:
    """A frame to send and whether the server must refuse it with one `error`."""

    body: str | bytes
    valid: bool
    action: str | None = None


versions = st.integers(min_value=0, max_value=MAX_VERSION)
# Unicode text that UTF-8 can carry (a socket's text frame cannot hold lone surrogates).
wire_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | wire_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(wire_text, inner, max_size=4),
    max_leaves=12,
)
# Values that are not a version: wrong JSON types, negatives, beyond 2**53, fractions.
not_versions = (
    st.booleans()
    | st.integers(max_value=-1)
    | st.integers(min_value=MAX_VERSION + 1)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
    | wire_text
    | st.lists(json_scalars, max_size=3)
    | st.dictionaries(wire_text, json_scalars, max_size=3)
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@st.composite
def valid_messages(draw: st.DrawFn) -> ClientMessage:
    """A message as DESIGN §5 defines it (key order and optional fields vary)."""
    action = draw(st.sampled_from(ACTIONS))
    name, nullable, required = FIELDS[action]
    message: dict[str, Any] = {"action": action}
    value = st.none() | versions if nullable else versions
    if required or draw(st.booleans()):
        message[name] = draw(value)
    if draw(st.booleans()):
        message = dict(reversed(list(message.items())))
    return ClientMessage(_dumps(message), valid=True, action=action)


@st.composite
def broken_actions(draw: st.DrawFn) -> ClientMessage:
    """A known action with a wrong field: a non-version, a missing version, an unknown key."""
    action = draw(st.sampled_from(ACTIONS))
    name, _, required = FIELDS[action]
    message: dict[str, Any] = {"action": action}
    flaw = draw(st.sampled_from(["type", "missing", "extra"] if required else ["type", "extra"]))
    if flaw == "type":
        message[name] = draw(not_versions)
    elif flaw == "extra":
        other = draw(wire_text.filter(lambda key: key not in ("action", name)))
        message[other] = draw(json_values)
        if draw(st.booleans()):
            message[name] = draw(versions)
    return ClientMessage(_dumps(message), valid=False, action=action)


@st.composite
def unknown_actions(draw: st.DrawFn) -> ClientMessage:
    """A JSON object whose `action` is missing, not a string, or no known action."""
    message = draw(st.dictionaries(wire_text, json_values, max_size=4))
    action = draw(
        st.none() | json_values.filter(lambda value: value not in ACTIONS) | st.just("HELLO")
    )
    message.pop("action", None)
    if action is not None:
        message["action"] = action
    return ClientMessage(_dumps(message), valid=False)


def _not_a_json_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return True


not_json_objects = st.one_of(
    json_values.filter(lambda value: not isinstance(value, dict)).map(_dumps),
    wire_text.filter(_not_a_json_object),
    st.sampled_from(["", " ", "{", "}", "{}{}", '{"action":"ping"', "null", "[]", "NaN"]),
).map(lambda text: ClientMessage(text, valid=False))

# Everything a text frame may carry, valid or not.
text_messages = st.one_of(valid_messages(), broken_actions(), unknown_actions(), not_json_objects)


def _not_a_json_object_bytes(data: bytes) -> bool:
    try:
        return _not_a_json_object(data.decode("utf-8"))
    except UnicodeDecodeError:
        return True


# Raw bodies as a handler may receive them: bytes, valid UTF-8 or not.
byte_messages = st.one_of(
    st.binary(max_size=300)
    .filter(_not_a_json_object_bytes)
    .map(lambda data: ClientMessage(data, valid=False)),
    text_messages.map(
        lambda m: ClientMessage(
            m.body.encode() if isinstance(m.body, str) else m.body, m.valid, m.action
        )
    ),
)
