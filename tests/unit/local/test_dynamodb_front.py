"""The front's pure parts: which tables a request wrote, and HTTP framing (no sockets)."""

import asyncio
import json

import pytest

from infra.local.dynamodb_front import NoticeKind, notice_for
from infra.local.dynamodb_wire import HttpFramingError, read_message


def target(operation):
    return f"DynamoDB_20120810.{operation}"


def body(value):
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("operation", "payload", "tables"),
    [
        ("PutItem", {"TableName": "a", "Item": {}}, {"a"}),
        ("UpdateItem", {"TableName": "arn:aws:dynamodb:us-east-1:1:table/b", "Key": {}}, {"b"}),
        ("DeleteItem", {"TableName": "c", "Key": {}}, {"c"}),
        ("BatchWriteItem", {"RequestItems": {"d": [], "e": []}}, {"d", "e"}),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "f"}},
                    {"Update": {"TableName": "g"}},
                    {"ConditionCheck": {"TableName": "h"}},
                ]
            },
            {"f", "g"},
        ),
        ("ExecuteStatement", {"Statement": 'INSERT INTO "tbl" VALUE {}'}, {"tbl"}),
        (
            "BatchExecuteStatement",
            {
                "Statements": [
                    {"Statement": "update tab2 SET a=1"},
                    {"Statement": "SELECT * FROM x"},
                ]
            },
            {"tab2"},
        ),
    ],
)
def test_writes_name_the_tables_they_touched(operation, payload, tables):
    notice = notice_for(target(operation), body(payload))
    assert notice is not None
    assert notice.kind is NoticeKind.WRITE
    assert notice.tables == tables


@pytest.mark.parametrize(
    ("the_target", "payload"),
    [
        (target("GetItem"), b'{"TableName": "a"}'),
        (target("Query"), b'{"TableName": "a"}'),
        (target("ExecuteStatement"), b'{"Statement": "SELECT * FROM a"}'),
        (target("PutItem"), b"not json"),
        (target("PutItem"), b"[]"),
        ("DynamoDBStreams_20120810.GetRecords", b"{}"),
        (None, b"{}"),
    ],
)
def test_reads_and_garbage_notice_nothing(the_target, payload):
    assert notice_for(the_target, payload) is None


def test_schema_changes_are_their_own_kind():
    notice = notice_for(target("DeleteTable"), body({"TableName": "gone"}))
    assert notice is not None
    assert notice.kind is NoticeKind.SCHEMA
    assert notice.tables == {"gone"}


def frame(data: bytes, **kwargs):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_message(reader, **kwargs)

    return asyncio.run(go())


def test_a_content_length_request_is_forwarded_byte_for_byte():
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: T\r\nContent-Length: 2\r\n\r\n{}"
    message = frame(raw)
    assert message.header("x-amz-target") == "T"
    assert message.body == b"{}"
    assert message.encode() == raw
    assert not message.closes


def test_a_chunked_response_is_reframed_with_content_length():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    message = frame(raw, is_response=True)
    assert message.status == 200
    assert message.body == b"abcde"
    assert message.encode() == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde"


def test_a_response_without_length_reads_to_the_end_and_closes():
    message = frame(b"HTTP/1.0 200 OK\r\n\r\nhello", is_response=True)
    assert message.body == b"hello"
    assert message.closes


def test_eof_before_a_message_is_a_clean_end_but_a_cut_head_is_an_error():
    assert frame(b"") is None
    with pytest.raises(HttpFramingError):
        frame(b"POST / HTTP/1.1\r\nHost")
