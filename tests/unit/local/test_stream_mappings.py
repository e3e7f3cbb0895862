"""The runner over a fake stream and a fake Lambda: shard order, LATEST, checkpoints, wake-ups."""

import asyncio

from infra.local.dynamodb_front import Notice, NoticeKind
from infra.local.lambda_runtime import LambdaFunction, LambdaRuntime
from infra.local.streams.declared import DeclaredSource
from infra.local.streams.mappings import MappingOrigin
from infra.local.streams.registry import MappingRegistry
from infra.local.streams.runner import MappingRunner
from infra.local.streams.store import MemoryMappingStore
from tests.support.streams_fakes import FUNCTION_ARN, STREAM_ARN, FakeStream, RecordingInvoker

INTERVAL = 0.01


def functions():
    runtime = LambdaRuntime()
    runtime.add(LambdaFunction("app-local-handler", lambda event, context: None))
    return runtime


def runner(stream, invoker, store=None, safety_poll_s=60.0):
    return MappingRunner(
        MappingRegistry(functions(), store or MemoryMappingStore()),
        stream,
        invoker,
        interval_s=INTERVAL,
        safety_poll_s=safety_poll_s,
        retry_backoff_s=0.01,
    )


async def until(predicate, within=5.0):
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def create_body(position="TRIM_HORIZON", **extra):
    return {
        "EventSourceArn": STREAM_ARN,
        "FunctionName": "app-local-handler",
        "StartingPosition": position,
        **extra,
    }


def declared(stream_arn, **settings):
    """An app's `on_dynamodb_record` source."""
    settings = {"StartingPosition": "TRIM_HORIZON", **settings}
    return DeclaredSource(FUNCTION_ARN, stream_arn, MappingOrigin.CHALICE, settings)


def write(table="things"):
    return Notice(NoticeKind.WRITE, "PutItem", frozenset({table}))


def test_parent_shards_are_read_before_their_children():
    async def scenario():
        # Given a closed parent shard and its child, both with records
        stream = FakeStream()
        stream.add("child", 3, 4)
        stream.shard_map["child"].parent = "parent"
        stream.add("parent", 1, 2)
        stream.shard_map["parent"].closed = True
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker)
        await mappings.start([])
        # When a TRIM_HORIZON mapping is created
        await mappings.create(create_body())
        await until(lambda: len(invoker.batches) == 2)
        await mappings.stop()
        return invoker.batches

    # Then the parent's records come first
    assert asyncio.run(scenario()) == [[1, 2], [3, 4]]


def test_latest_starts_after_what_the_stream_holds_and_wakes_on_writes():
    async def scenario():
        # Given a stream holding records 1 and 2, and a LATEST mapping
        stream = FakeStream()
        stream.add("s1", 1, 2)
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker)
        await mappings.start([])
        created = await mappings.create(create_body("LATEST"))
        await asyncio.sleep(0.05)
        # When record 3 is written and the front notices it
        stream.add("s1", 3)
        mappings.notice(write())
        await until(lambda: invoker.batches)
        state = mappings.registry.get(created["UUID"])["State"]
        await mappings.stop()
        return invoker.batches, state

    batches, state = asyncio.run(scenario())
    # Then only record 3 is delivered, and the mapping is Enabled
    assert batches == [[3]]
    assert state == "Enabled"


def test_a_restart_resumes_from_the_checkpoint_without_replay():
    store = MemoryMappingStore()
    stream = FakeStream()
    stream.add("s1", 1, 2)

    async def first_run():
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker, store)
        await mappings.start([])
        await mappings.create(create_body())
        await until(lambda: invoker.batches)
        await mappings.stop()
        return invoker.batches

    async def second_run():
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker, store)
        await mappings.start([])
        await until(lambda: invoker.batches)
        await asyncio.sleep(0.05)
        listed = mappings.registry.list_mappings()["EventSourceMappings"]
        await mappings.stop()
        return invoker.batches, listed

    # Given a mapping that delivered records 1-2, then the runtime stopped
    assert asyncio.run(first_run()) == [[1, 2]]
    # When record 3 arrives while it is down, and it starts again
    stream.add("s1", 3)
    batches, listed = asyncio.run(second_run())
    # Then only record 3 is delivered, and the mapping made through the API is still there
    assert batches == [[3]]
    assert len(listed) == 1


def test_a_deleted_stream_stops_its_mapping_cleanly():
    async def scenario():
        # Given a running mapping
        stream = FakeStream()
        stream.add("s1", 1)
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker)
        await mappings.start([])
        created = await mappings.create(create_body())
        await until(lambda: invoker.batches)
        # When its table is deleted
        stream.gone = True
        mappings.notice(Notice(NoticeKind.SCHEMA, "DeleteTable", frozenset({"things"})))
        await until(lambda: mappings.registry.get(created["UUID"])["State"] == "Disabled")
        answer = mappings.registry.get(created["UUID"])
        await mappings.stop()
        return answer

    # Then it is disabled with a reason, not crashed
    answer = asyncio.run(scenario())
    assert answer["LastProcessingResult"] == "PROBLEM: Stream not found"


def test_idle_shards_are_not_polled_and_a_wake_reads_at_once():
    async def scenario():
        # Given an idle mapping with a long safety poll
        stream = FakeStream()
        stream.add("s1")
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker, safety_poll_s=60.0)
        await mappings.start([])
        await mappings.create(create_body())
        await asyncio.sleep(0.05)
        reads_before = stream.reads
        # When nothing is written for many intervals
        await asyncio.sleep(20 * INTERVAL)
        idle_reads = stream.reads - reads_before
        # And then a write is noticed
        stream.add("s1", 1)
        mappings.notice(write())
        await until(lambda: invoker.batches)
        await mappings.stop()
        return idle_reads

    # Then the idle shard was not read at all
    assert asyncio.run(scenario()) == 0


def test_app_sources_wait_for_their_table_and_keep_a_stable_id():
    async def scenario():
        # Given an app source whose table does not exist yet
        stream = FakeStream()
        stream.gone = True
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker)
        source = declared("arn:aws:dynamodb:us-east-1:1:table/things/stream/x", BatchSize=5)
        await mappings.start([source])
        assert mappings.registry.list_mappings()["EventSourceMappings"] == []
        # When the table is created with a record
        stream.gone = False
        stream.add("s1", 1)
        mappings.notice(Notice(NoticeKind.SCHEMA, "CreateTable", frozenset({"things"})))
        await until(lambda: invoker.batches)
        listed = mappings.registry.list_mappings()["EventSourceMappings"]
        await mappings.stop()
        return listed

    # Then the mapping exists, on the local stream, with the decorator's batch size
    listed = asyncio.run(scenario())
    assert [(m["EventSourceArn"], m["BatchSize"]) for m in listed] == [(STREAM_ARN, 5)]


def test_a_spuriously_trimmed_read_gets_a_new_iterator_and_loses_nothing():
    async def scenario():
        # Given a mapping on an empty shard, and a backend that answers "trimmed" once
        stream = FakeStream()
        stream.add("s1")
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker)
        await mappings.start([])
        await mappings.create(create_body())
        await asyncio.sleep(0.05)
        stream.spurious_trims = 1
        # When a record is written
        stream.add("s1", 1)
        mappings.notice(write())
        await until(lambda: invoker.batches)
        await mappings.stop()
        return invoker.batches

    # Then it is delivered once
    assert asyncio.run(scenario()) == [[1]]


def test_an_app_mapping_follows_its_table_when_it_is_recreated():
    async def scenario():
        # Given the app's mapping on a table, which is deleted
        stream = FakeStream()
        stream.add("s1", 1)
        invoker = RecordingInvoker()
        mappings = runner(stream, invoker)
        arn = "arn:aws:dynamodb:us-east-1:1:table/things/stream/x"
        await mappings.start([declared(arn)])
        await until(lambda: invoker.batches == [[1]])
        stream.gone = True
        mappings.notice(Notice(NoticeKind.SCHEMA, "DeleteTable", frozenset({"things"})))
        listed = mappings.registry.list_mappings
        await until(lambda: listed()["EventSourceMappings"][0]["State"] == "Disabled")
        # When the table comes back with a new stream
        new_arn = STREAM_ARN.replace("2026-01-01", "2027-01-01")
        fresh = FakeStream(new_arn)
        fresh.add("s9", 7)
        mappings.source = fresh
        mappings.notice(Notice(NoticeKind.SCHEMA, "CreateTable", frozenset({"things"})))
        await until(lambda: invoker.batches == [[1], [7]])
        listed = mappings.registry.list_mappings()["EventSourceMappings"]
        await mappings.stop()
        return listed, new_arn

    # Then the same mapping reads the new stream from its start
    listed, new_arn = asyncio.run(scenario())
    assert [(m["EventSourceArn"], m["State"]) for m in listed] == [(new_arn, "Enabled")]
