"""A small Chalice app, not userdb: proves the runtime runs any app with stream handlers.

Both handlers append what they receive to the JSON-lines file RECORDER_FILE. The pure
function fails on demand, by attributes of the records' new image:
- `fail` = "error": raise while the record was seen at most `times` (N) times (always if absent);
- `fail` = "item": report the record in batchItemFailures, likewise.
"""

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

from chalice.app import Chalice

app = Chalice(app_name="streams-test")

EVENTS_TABLE = os.environ.get("EVENTS_TABLE", "streams-test-events")
_seen: Counter[str] = Counter()
_lock = threading.Lock()


@app.route("/health")
def health():
    return {"ok": True}


def _record(function, event, context):
    line = {
        "function": function,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "received_at": time.time(),
        "event": event,
    }
    with _lock, Path(os.environ["RECORDER_FILE"]).open("a") as out:
        out.write(json.dumps(line) + "\n")


@app.on_dynamodb_record(
    stream_arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{EVENTS_TABLE}/stream/2020-01-01T00:00:00.000",
    starting_position="TRIM_HORIZON",
    batch_size=10,
)
def on_event(event):
    _record("on_event", event.to_dict(), event.context)


@app.lambda_function(name="recorder")
def recorder(event, context):
    _record("recorder", event, context)
    failures = []
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage") or {}
        mode = image.get("fail", {}).get("S")
        if not mode:
            continue
        sequence = record["dynamodb"]["SequenceNumber"]
        with _lock:
            _seen[sequence] += 1
            seen = _seen[sequence]
        times = int(image["times"]["N"]) if "times" in image else None
        if times is not None and seen > times:
            continue
        if mode == "error":
            raise RuntimeError(f"record {sequence} fails on purpose")
        failures.append({"itemIdentifier": sequence})
    return {"batchItemFailures": failures}
