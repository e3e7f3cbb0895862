"""The event source mappings of a runtime and the Lambda API's operations on them.

No I/O and no asyncio: what needs the stream (its current ARN, LATEST's position) is
looked up by the caller (`runner.py`) and passed in, and what must start or stop
reading comes back as a `Transition`. Persistence goes through a `MappingStore`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from infra.local.lambda_runtime import FunctionNotFoundError, LambdaFunction
from infra.local.streams.declared import DeclaredSource
from infra.local.streams.mappings import (
    EventSourceMapping,
    InvalidParameterValueError,
    MappingOrigin,
    MappingState,
    ResourceConflictError,
    ResourceNotFoundError,
    apply_update,
    new_mapping,
    starting_position,
)
from infra.local.streams.store import MappingStore

log = logging.getLogger("userdb.local.streams")

MAX_ITEMS = 10_000  # ListEventSourceMappings' MaxItems bound


class Functions(Protocol):
    """Where function names and ARNs are looked up (the Lambda emulation)."""

    def find(self, name_or_arn: str) -> LambdaFunction: ...


class Transition(Enum):
    """What an update asks of the mapping's readers."""

    NONE = "none"
    START = "start"
    STOP = "stop"


@dataclass(frozen=True)
class Updated:
    answer: dict[str, Any]
    transition: Transition


class MappingRegistry:
    """Every mapping by id and by table, the declared ones, and the Lambda API over them."""

    def __init__(self, functions: Functions, store: MappingStore) -> None:
        self._functions = functions
        self._store = store
        self._mappings: dict[str, EventSourceMapping] = {}
        self._by_table: dict[str, set[str]] = {}
        self._declared: dict[str, DeclaredSource] = {}  # by mapping id

    # -- lookups --------------------------------------------------------------------------

    def all(self) -> list[EventSourceMapping]:
        return list(self._mappings.values())

    def on_table(self, table: str) -> list[str]:
        """The ids of the mappings that read `table`'s stream."""
        return sorted(self._by_table.get(table, ()))

    def mapping(self, mapping_id: str) -> EventSourceMapping:
        mapping = self._mappings.get(mapping_id)
        if mapping is None:
            raise ResourceNotFoundError(
                f"The resource you requested does not exist. (UUID {mapping_id})"
            )
        return mapping

    def save(self, mapping: EventSourceMapping) -> None:
        """Persist a mapping's settings and checkpoints (readers call this as they settle)."""
        self._store.save(mapping)

    def add(self, mapping: EventSourceMapping) -> None:
        """Index a created (or re-declared) mapping and persist it."""
        self._mappings[mapping.uuid] = mapping
        self._by_table.setdefault(mapping.table, set()).add(mapping.uuid)
        self._store.save(mapping)

    def _unindex(self, mapping: EventSourceMapping) -> None:
        self._mappings.pop(mapping.uuid, None)
        self._by_table.get(mapping.table, set()).discard(mapping.uuid)

    # -- start and declarations -----------------------------------------------------------

    def resume(self, declared: list[DeclaredSource]) -> list[EventSourceMapping]:
        """Load the persisted mappings, forgetting declared ones the app no longer declares;
        the ones made through the Lambda API, to run again."""
        wanted = {source.mapping_id for source in declared}
        for mapping in self._store.load():
            if mapping.origin.declared and mapping.uuid not in wanted:
                self._store.delete(mapping.uuid)
                continue
            try:
                self._functions.find(mapping.function_arn)
            except FunctionNotFoundError:
                log.warning(
                    "event source mapping %s: function %s no longer exists",
                    mapping.uuid,
                    mapping.function_arn,
                )
            self._mappings[mapping.uuid] = mapping
            self._by_table.setdefault(mapping.table, set()).add(mapping.uuid)
        return [m for m in self._mappings.values() if m.origin is MappingOrigin.API]

    def declare(self, source: DeclaredSource, stream_arn: str) -> tuple[EventSourceMapping, bool]:
        """The declared mapping on the table's current stream, with the declared settings, and
        whether it is fresh (new, or on a new stream: LATEST must be found again).

        Not added yet: the caller anchors a fresh one, then `add`s it.
        """
        mapping = self._mappings.get(source.mapping_id)
        for other in self._mappings.values():
            if (
                other.uuid != source.mapping_id
                and other.event_source_arn == stream_arn
                and other.function_arn == source.function_arn
            ):
                raise ResourceConflictError(
                    f"{source.function_arn} already reads {stream_arn} through mapping "
                    f"{other.uuid} (made through the Lambda API); the declared one is skipped"
                )
        fresh = mapping is None or mapping.event_source_arn != stream_arn
        if mapping is not None and fresh:
            self._unindex(mapping)
        if mapping is None or fresh:
            mapping = EventSourceMapping(
                uuid=source.mapping_id,
                event_source_arn=stream_arn,
                function_arn=source.function_arn,
                starting_position=starting_position(dict(source.settings)),
                origin=source.origin,
            )
        apply_update(mapping, {"Enabled": True, **source.settings}, None)
        mapping.state = MappingState.CREATING if fresh else MappingState.ENABLING
        self._declared[source.mapping_id] = source
        return mapping, fresh

    def stream_gone(self, mapping: EventSourceMapping) -> DeclaredSource | None:
        """Disable a mapping whose stream was deleted; its declaration, if the app declared it
        (such a mapping follows its table when the table comes back)."""
        mapping.state = MappingState.DISABLED
        mapping.state_transition_reason = "The event source stream was deleted"
        mapping.last_processing_result = "PROBLEM: Stream not found"
        mapping.enabled = False
        self._store.save(mapping)
        return self._declared.get(mapping.uuid)

    # -- the Lambda API -------------------------------------------------------------------

    def _function_arn(self, name: Any) -> str:
        if not isinstance(name, str) or not name:
            raise InvalidParameterValueError("FunctionName is required.")
        try:
            return self._functions.find(name).arn
        except FunctionNotFoundError:
            raise ResourceNotFoundError(f"Function not found: {name}") from None

    def check_create(self, body: dict[str, Any], current_stream: str | None) -> EventSourceMapping:
        """CreateEventSourceMapping validated as Lambda does; `current_stream` is the named
        table's current stream ARN. Not added yet: the caller anchors it, then `add`s it."""
        function_arn = self._function_arn(body.get("FunctionName"))
        mapping = new_mapping(body, function_arn)
        if current_stream != mapping.event_source_arn:
            raise InvalidParameterValueError(
                f"Stream not found: {mapping.event_source_arn} is not a table's current stream."
            )
        for other in self._mappings.values():
            if other.event_source_arn == mapping.event_source_arn and (
                other.function_arn == function_arn
            ):
                raise ResourceConflictError(
                    f"The event source arn ({mapping.event_source_arn}) and function "
                    f"({function_arn}) provided mapping already exists. Please update or "
                    f"delete the existing mapping with UUID {other.uuid}"
                )
        return mapping

    def get(self, mapping_id: str) -> dict[str, Any]:
        return self.mapping(mapping_id).to_api()

    def list_mappings(
        self,
        event_source_arn: str | None = None,
        function_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """ListEventSourceMappings, filtered by stream and/or function, paginated by Marker."""
        function_arn = None
        if function_name:
            try:
                function_arn = self._functions.find(function_name).arn
            except FunctionNotFoundError:
                return {"EventSourceMappings": []}
        chosen = [
            m
            for m in sorted(self._mappings.values(), key=lambda m: m.uuid)
            if (not event_source_arn or m.event_source_arn == event_source_arn)
            and (not function_arn or m.function_arn == function_arn)
        ]
        try:
            start = int(marker) if marker else 0
        except ValueError:
            raise InvalidParameterValueError("Marker is not valid.") from None
        limit = max_items or 100
        if not 1 <= limit <= MAX_ITEMS:
            raise InvalidParameterValueError(f"MaxItems must be from 1 to {MAX_ITEMS}.")
        page = chosen[start : start + limit]
        answer: dict[str, Any] = {"EventSourceMappings": [m.to_api() for m in page]}
        if start + limit < len(chosen):
            answer["NextMarker"] = str(start + limit)
        return answer

    def update(self, mapping_id: str, body: dict[str, Any]) -> Updated:
        """UpdateEventSourceMapping: all or nothing; enabling or disabling is a Transition."""
        mapping = self.mapping(mapping_id)
        function_arn = (
            self._function_arn(body["FunctionName"]) if body.get("FunctionName") else None
        )
        was_enabled = mapping.enabled
        apply_update(mapping, body, function_arn)
        if was_enabled and not mapping.enabled:
            mapping.state = MappingState.DISABLED
            shown, transition = MappingState.DISABLING, Transition.STOP
        elif mapping.enabled and not was_enabled:
            mapping.state = MappingState.ENABLING
            shown, transition = MappingState.ENABLING, Transition.START
        else:
            shown, transition = MappingState.UPDATING, Transition.NONE
        self._store.save(mapping)
        answer = mapping.to_api()
        answer["State"] = str(shown)
        return Updated(answer, transition)

    def delete(self, mapping_id: str) -> dict[str, Any]:
        """DeleteEventSourceMapping (after the caller stopped its readers)."""
        mapping = self.mapping(mapping_id)
        self._unindex(mapping)
        self._declared.pop(mapping_id, None)
        self._store.delete(mapping_id)
        mapping.state = MappingState.DELETING
        return mapping.to_api()
