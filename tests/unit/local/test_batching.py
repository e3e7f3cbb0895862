"""The poller's decisions for one shard: batches, partial failures, bisect, retries, age."""

from infra.local.streams.batching import (
    WHOLE_BATCH,
    BatchPolicy,
    FunctionResult,
    ShardBatcher,
    first_failed_index,
)
from tests.support.streams_fakes import stream_record

OK = FunctionResult(ok=True)
ERROR = FunctionResult(ok=False)


def seqs(records):
    return [int(r["dynamodb"]["SequenceNumber"]) for r in records]


def fail_item(sequence):
    return FunctionResult(
        ok=True, payload={"batchItemFailures": [{"itemIdentifier": f"{sequence:021d}"}]}
    )


def batcher(**settings):
    policy = BatchPolicy(**settings)
    b = ShardBatcher(lambda: policy)
    return b


def run(b, answer, now=0.0, limit=50):
    """Drive the batcher until empty: returns the batches invoked and the records discarded."""
    invoked, discarded = [], []
    while len(b) and limit:
        limit -= 1
        due = b.due_at()
        now = max(now, due or 0.0)
        batch = b.next_batch()
        invoked.append(seqs(batch))
        settlement = b.settle(batch, answer(seqs(batch)), now)
        discarded += seqs(settlement.discarded)
    return invoked, discarded


def test_batches_respect_batch_size_and_checkpoint_the_last_record():
    # Given 5 buffered records and BatchSize 2
    b = batcher(batch_size=2)
    b.add([stream_record(i) for i in range(1, 6)], now=0.0)
    # When all succeed
    invoked, discarded = run(b, lambda batch: OK)
    # Then three batches in order, and the checkpoint is the last record
    assert invoked == [[1, 2], [3, 4], [5]]
    assert discarded == []
    assert b.checkpoint == f"{5:021d}"


def test_batching_window_waits_for_more_records_unless_the_batch_is_full():
    # Given a 2 s window and BatchSize 3
    b = batcher(batch_size=3, batching_window_s=2.0)
    b.add([stream_record(1)], now=10.0)
    # Then one record waits for the window; a full batch is due at once
    assert not b.ready(11.0)
    assert b.ready(12.0)
    b.add([stream_record(2), stream_record(3)], now=11.0)
    assert b.ready(11.0)


def test_report_batch_item_failures_resumes_from_the_failed_record():
    # Given ReportBatchItemFailures and a function failing record 3 once
    b = batcher(batch_size=10, report_batch_item_failures=True)
    b.add([stream_record(i) for i in range(1, 6)], now=0.0)
    failed = set()

    def answer(batch):
        if 3 in batch and 3 not in failed:
            failed.add(3)
            return fail_item(3)
        return OK

    # When delivered
    invoked, _ = run(b, answer)
    # Then the retry starts at record 3, records 1-2 are not sent again
    assert invoked == [[1, 2, 3, 4, 5], [3, 4, 5]]


def test_item_failures_are_ignored_without_report_batch_item_failures():
    # Given a function answering batchItemFailures, but the mapping did not ask for it
    b = batcher(batch_size=10)
    b.add([stream_record(i) for i in range(1, 4)], now=0.0)
    # When delivered / Then Lambda treats the answer as a success
    invoked, _ = run(b, lambda batch: fail_item(2))
    assert invoked == [[1, 2, 3]]


def test_malformed_item_failures_fail_the_whole_batch():
    sequences = [f"{i:021d}" for i in (1, 2)]
    assert first_failed_index({"batchItemFailures": []}, sequences) is None
    assert first_failed_index(None, sequences) is None
    assert (
        first_failed_index({"batchItemFailures": [{"itemIdentifier": ""}]}, sequences)
        == WHOLE_BATCH
    )
    assert (
        first_failed_index({"batchItemFailures": [{"id": sequences[0]}]}, sequences) == WHOLE_BATCH
    )
    assert (
        first_failed_index({"batchItemFailures": [{"itemIdentifier": "9"}]}, sequences)
        == WHOLE_BATCH
    )
    lowest = {
        "batchItemFailures": [{"itemIdentifier": sequences[1]}, {"itemIdentifier": sequences[0]}]
    }
    assert first_failed_index(lowest, sequences) == 0


def test_bisect_isolates_the_failing_record_and_discards_it_after_retries():
    # Given bisect on, one retry, and record 3 that always fails
    b = batcher(batch_size=4, bisect_on_error=True, maximum_retry_attempts=1)
    b.add([stream_record(i) for i in range(1, 5)], now=0.0)
    # When delivered
    invoked, discarded = run(b, lambda batch: ERROR if 3 in batch else OK)
    # Then halves are tried until record 3 is alone, retried once, then discarded
    assert invoked == [[1, 2, 3, 4], [1, 2], [3, 4], [3], [3], [4]]
    assert discarded == [3]
    assert b.checkpoint == f"{4:021d}"


def test_retries_are_exhausted_then_the_shard_moves_on():
    # Given two retries and record 1 that always fails, without bisect
    b = batcher(batch_size=1, maximum_retry_attempts=2)
    b.add([stream_record(1), stream_record(2)], now=0.0)
    # When delivered
    invoked, discarded = run(b, lambda batch: ERROR if 1 in batch else OK)
    # Then record 1 is tried 3 times (1 + 2 retries), discarded, and record 2 follows
    assert invoked == [[1], [1], [1], [2]]
    assert discarded == [1]


def test_a_failing_batch_blocks_its_shard_with_backoff():
    # Given infinite retries and a backoff of 1 s
    b = batcher(batch_size=2, retry_backoff_s=1.0)
    b.add([stream_record(1), stream_record(2), stream_record(3)], now=0.0)
    batch = b.next_batch()
    # When the batch fails
    b.settle(batch, ERROR, now=5.0)
    # Then nothing is due before the backoff, and the same batch is retried first
    assert b.blocked
    assert not b.ready(5.5)
    assert b.ready(6.0)
    assert seqs(b.next_batch()) == [1, 2]
    b.settle(b.next_batch(), ERROR, now=6.0)
    assert b.due_at() == 8.0  # the backoff doubles


def test_records_older_than_maximum_record_age_are_discarded_before_any_attempt():
    # Given a 60 s maximum age and records created at t=1000 and t=1100
    b = batcher(batch_size=10, maximum_record_age_s=60)
    b.add([stream_record(1, created=1000.0), stream_record(2, created=1100.0)], now=0.0)
    # When the poller looks at t=1090
    expired = b.take_expired(1090.0)
    # Then only the old record is dropped and checkpointed past
    assert seqs(expired) == [1]
    assert seqs(b.next_batch()) == [2]
    assert b.checkpoint == f"{1:021d}"


def test_partial_failure_with_bisect_retries_only_the_remaining_records():
    # Given bisect and ReportBatchItemFailures, BatchSize 10, record 2 failing once
    b = batcher(batch_size=10, bisect_on_error=True, report_batch_item_failures=True)
    b.add([stream_record(i) for i in range(1, 5)], now=0.0)
    b.settle(b.next_batch(), fail_item(2), now=0.0)
    # When more records arrive before the retry
    b.add([stream_record(5)], now=0.0)
    # Then the retry holds only the remaining records of the failed batch
    assert seqs(b.next_batch()) == [2, 3, 4]
