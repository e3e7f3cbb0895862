"""The mapping registry and its Lambda API, without asyncio or a stream: validation,
conflicts, pagination, enable/disable transitions, and declared mappings kept in step."""

import pytest

from infra.local.lambda_runtime import LambdaFunction, LambdaRuntime
from infra.local.streams.declared import DeclaredSource
from infra.local.streams.mappings import (
    InvalidParameterValueError,
    MappingOrigin,
    MappingState,
    ResourceConflictError,
    ResourceNotFoundError,
)
from infra.local.streams.registry import MappingRegistry, Transition
from infra.local.streams.source import Shard
from infra.local.streams.store import MemoryMappingStore
from infra.local.streams.worker import readable_shards
from tests.support.streams_fakes import FUNCTION_ARN, STREAM_ARN

OTHER_STREAM = STREAM_ARN.replace("2026-01-01", "2027-01-01")


def registry(store=None):
    functions = LambdaRuntime()
    functions.add(LambdaFunction("app-local-handler", lambda event, context: None))
    functions.add(LambdaFunction("app-local-other", lambda event, context: None))
    return MappingRegistry(functions, store or MemoryMappingStore())


def body(**overrides):
    return {
        "EventSourceArn": STREAM_ARN,
        "FunctionName": "app-local-handler",
        "StartingPosition": "TRIM_HORIZON",
        **overrides,
    }


def created(mappings, **overrides):
    mapping = mappings.check_create(body(**overrides), STREAM_ARN)
    mappings.add(mapping)
    return mapping


def declared(stream_arn=STREAM_ARN, **settings):
    settings = {"StartingPosition": "LATEST", **settings}
    return DeclaredSource(FUNCTION_ARN, stream_arn, MappingOrigin.TEMPLATE, settings)


def test_create_needs_a_known_function_and_the_tables_current_stream():
    mappings = registry()
    with pytest.raises(ResourceNotFoundError):
        mappings.check_create(body(FunctionName="nobody"), STREAM_ARN)
    with pytest.raises(InvalidParameterValueError):
        mappings.check_create(body(FunctionName=None), STREAM_ARN)
    # A stream the table no longer has (or never had) is refused, as Lambda refuses it
    with pytest.raises(InvalidParameterValueError, match="Stream not found"):
        mappings.check_create(body(), OTHER_STREAM)
    assert mappings.all() == []


def test_a_second_mapping_of_one_stream_to_one_function_conflicts():
    mappings = registry()
    first = created(mappings)
    with pytest.raises(ResourceConflictError, match=first.uuid):
        mappings.check_create(body(), STREAM_ARN)
    # Another function on the same stream is fine
    created(mappings, FunctionName="app-local-other")
    assert len(mappings.all()) == 2
    assert sorted(mappings.on_table("things")) == sorted(m.uuid for m in mappings.all())


def test_list_filters_and_pages_by_marker():
    mappings = registry()
    created(mappings)
    created(mappings, FunctionName="app-local-other")
    page = mappings.list_mappings(max_items=1)
    rest = mappings.list_mappings(marker=page["NextMarker"], max_items=1)
    assert len(page["EventSourceMappings"]) == len(rest["EventSourceMappings"]) == 1
    assert "NextMarker" not in rest
    only = mappings.list_mappings(function_name="app-local-other")["EventSourceMappings"]
    assert [m["FunctionArn"].rsplit(":", 1)[-1] for m in only] == ["app-local-other"]
    assert mappings.list_mappings(function_name="nobody") == {"EventSourceMappings": []}
    with pytest.raises(InvalidParameterValueError):
        mappings.list_mappings(max_items=10_001)
    with pytest.raises(InvalidParameterValueError):
        mappings.list_mappings(marker="x")


def test_update_says_what_the_readers_must_do():
    store = MemoryMappingStore()
    mappings = registry(store)
    mapping = created(mappings)
    # Disabling stops the readers; Lambda answers "Disabling"
    off = mappings.update(mapping.uuid, {"Enabled": False})
    assert (off.transition, off.answer["State"]) == (Transition.STOP, "Disabling")
    assert mapping.state is MappingState.DISABLED
    # Enabling starts them again
    on = mappings.update(mapping.uuid, {"Enabled": True})
    assert (on.transition, on.answer["State"]) == (Transition.START, "Enabling")
    # A setting alone changes nothing about reading, and is persisted
    tuned = mappings.update(mapping.uuid, {"BatchSize": 7})
    assert (tuned.transition, tuned.answer["State"]) == (Transition.NONE, "Updating")
    assert store.saved[mapping.uuid]["batch_size"] == 7
    # An invalid update changes nothing
    with pytest.raises(InvalidParameterValueError):
        mappings.update(mapping.uuid, {"BatchSize": 2, "MaximumRecordAgeInSeconds": 5})
    assert mapping.batch_size == 7


def test_delete_forgets_the_mapping_and_its_checkpoints():
    store = MemoryMappingStore()
    mappings = registry(store)
    mapping = created(mappings)
    assert mappings.delete(mapping.uuid)["State"] == "Deleting"
    assert mappings.all() == [] and store.saved == {}
    with pytest.raises(ResourceNotFoundError):
        mappings.get(mapping.uuid)


def test_a_declared_mapping_is_fresh_once_then_refreshed_with_its_declaration():
    mappings = registry()
    # Given a declared mapping seen for the first time
    mapping, fresh = mappings.declare(declared(BatchSize=5), STREAM_ARN)
    assert fresh and mapping.state is MappingState.CREATING
    mappings.add(mapping)
    # When the app declares it again (a restart) with another batch size
    again, fresh_again = mappings.declare(declared(BatchSize=9), STREAM_ARN)
    # Then it is the same mapping (checkpoints kept), with the new settings
    assert again is mapping and not fresh_again
    assert (mapping.batch_size, mapping.state) == (9, MappingState.ENABLING)
    # And on a new stream (the table was made anew) it starts afresh under the same id
    moved, moved_fresh = mappings.declare(declared(BatchSize=9), OTHER_STREAM)
    assert moved_fresh and moved.uuid == mapping.uuid and moved.event_source_arn == OTHER_STREAM


def test_a_declared_mapping_gives_way_to_one_made_through_the_lambda_api():
    mappings = registry()
    created(mappings, FunctionName=FUNCTION_ARN)
    with pytest.raises(ResourceConflictError):
        mappings.declare(declared(), STREAM_ARN)


def test_resume_forgets_declarations_the_app_dropped_and_keeps_api_mappings():
    store = MemoryMappingStore()
    first = registry(store)
    api_made = created(first, FunctionName="app-local-other")
    mapping, _ = first.declare(declared(), STREAM_ARN)
    first.add(mapping)
    # When the runtime starts again and the app declares nothing
    again = registry(store)
    to_run = again.resume([])
    # Then only the API's mapping is left, to run again
    assert [m.uuid for m in to_run] == [api_made.uuid]
    assert set(store.saved) == {api_made.uuid}


def test_a_declared_mapping_whose_stream_is_gone_is_disabled_and_remembered():
    mappings = registry()
    source = declared()
    mapping, _ = mappings.declare(source, STREAM_ARN)
    mappings.add(mapping)
    assert mappings.stream_gone(mapping) == source
    assert (mapping.enabled, mapping.state) == (False, MappingState.DISABLED)
    assert mapping.to_api()["LastProcessingResult"] == "PROBLEM: Stream not found"


def test_children_are_read_after_their_parent_is_done():
    shards = [Shard("parent", None, True), Shard("child", "parent", False)]
    assert [s.shard_id for s in readable_shards(shards, {}, set())] == ["parent"]
    assert readable_shards(shards, {}, {"parent"}) == []
    # A parent the stream no longer lists (trimmed) does not hold its child back
    assert [s.shard_id for s in readable_shards(shards[1:], {}, set())] == ["child"]
