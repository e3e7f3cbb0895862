"""Idempotency records on moto: Powertools' utility, scoped per tenant, deleted with it."""

from __future__ import annotations

import pytest

from chalicelib.dal.idempotency import PowertoolsIdempotency
from chalicelib.dal.tables import IDEMPOTENCY_SUFFIX, shared_table
from chalicelib.errors import IdempotencyInProgressError, IdempotencyKeyReusedError
from chalicelib.models.notes import Note

A, B = "usr_aaaaaaaaaaaaaaaa", "usr_bbbbbbbbbbbbbbbb"


class LambdaTimeLeft:
    """The one thing Powertools reads from the Lambda context: the time left."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Runner:
    """PowertoolsIdempotency called as the API calls it, with the invocation's context."""

    def __init__(self, runner: PowertoolsIdempotency) -> None:
        self._runner = runner

    def once(self, *args, **kwargs):
        return self._runner.once(*args, lambda_context=LambdaTimeLeft(), **kwargs)

    def delete_all(self, tenant_id: str) -> int:
        return self._runner.delete_all(tenant_id)


@pytest.fixture
def runner(dynamodb, settings):
    return Runner(PowertoolsIdempotency(shared_table(settings, IDEMPOTENCY_SUFFIX), settings))


def _note(version: int) -> Note:
    return Note(id="note_0000000000000001", text="t", created=1, updated=1, version=version)


def test_a_key_runs_once_per_tenant(runner):
    calls: list[str] = []

    def operation(tenant: str, version: int):
        def run() -> Note:
            calls.append(tenant)
            return _note(version)

        return run

    # When A uses a key twice and B uses the same key once
    first = runner.once(
        "op", scope=A, key="k", request={"x": 1}, result_type=Note, operation=operation(A, 1)
    )
    again = runner.once(
        "op", scope=A, key="k", request={"x": 1}, result_type=Note, operation=operation(A, 2)
    )
    other = runner.once(
        "op", scope=B, key="k", request={"x": 1}, result_type=Note, operation=operation(B, 3)
    )
    # Then A's repeat replays A's result, and B's call ran on its own
    assert first == again == _note(1)
    assert other == _note(3)
    assert calls == [A, B]


def test_the_same_key_with_another_request_is_refused(runner):
    runner.once(
        "op", scope=A, key="k", request={"x": 1}, result_type=Note, operation=lambda: _note(1)
    )
    with pytest.raises(IdempotencyKeyReusedError):
        runner.once(
            "op", scope=A, key="k", request={"x": 2}, result_type=Note, operation=lambda: _note(2)
        )


def test_a_key_still_in_progress_is_a_409_with_retry_after(runner):
    # Given a call whose operation is still running when the same key comes again
    def reenter():
        return runner.once(
            "op", scope=A, key="k", request={}, result_type=Note, operation=lambda: _note(9)
        )

    # Then the second call is told to retry, and the first, failing with it, leaves no record
    with pytest.raises(IdempotencyInProgressError) as raised:
        runner.once("op", scope=A, key="k", request={}, result_type=Note, operation=reenter)
    assert (raised.value.status, raised.value.retry_after) == (409, 1)
    assert runner.once(
        "op", scope=A, key="k", request={}, result_type=Note, operation=lambda: _note(4)
    ) == _note(4)


def test_a_tenants_records_are_deleted_with_it(runner, dynamodb, settings):
    for key in ("k1", "k2"):
        runner.once(
            "op", scope=A, key=key, request={}, result_type=Note, operation=lambda: _note(1)
        )
    runner.once("op", scope=B, key="k1", request={}, result_type=Note, operation=lambda: _note(1))
    assert runner.delete_all(A) == 2
    items = dynamodb.scan(TableName=settings.table_name(IDEMPOTENCY_SUFFIX))["Items"]
    assert [item["pk"]["S"] for item in items] == [B]
