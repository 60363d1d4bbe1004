"""GetRecords answered with json.dumps, for the local emulator.

moto 5.2.5 serialises every answer by walking the service model, attribute by
attribute; a stream record (keys, old and new images) took about a millisecond,
so the Orders stream's poller spent a fifth of the emulator's time when a
thousand holds were released in a second (bench/holds.py). moto keeps each
record already in the wire's shape (StreamRecord.to_json), so this dumps it as
it is, turning the timestamp into epoch seconds and binary values into base64
as moto's JSON serialiser does; the shard iterator is moto's own. Installed by the emulator, as
`fast_queues` is.
"""

from __future__ import annotations

import base64
import calendar
import json
from datetime import datetime
from typing import Any

from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from local import moto_pin

MOTO_VERSION = moto_pin.MOTO_VERSION
JSON_1_0 = "application/x-amz-json-1.0"


def _epoch(value: datetime) -> int | float:
    """moto's JSON timestamp: whole seconds, or milliseconds as a fraction."""
    seconds = calendar.timegm(value.timetuple())
    return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return _epoch(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()  # B and BS values, as the wire has them
    raise TypeError(f"{type(value).__name__} in a stream record")


def get_records(self: DynamoDBStreamsHandler) -> tuple[str, dict[str, str]]:
    """moto's GetRecords, its answer written by json.dumps."""
    arn = self._get_param("ShardIterator")
    limit = self._get_param("Limit")
    result = self.backend.get_records(arn, 1000 if limit is None else limit)
    return json.dumps(result, default=_wire), {"Content-Type": JSON_1_0}


def install(version: str | None = None) -> None:
    """Route moto's GetRecords through this module (moto 5.2.5: another is refused)."""
    moto_pin.require("local/fast_streams.py", f"copies moto {MOTO_VERSION}'s GetRecords", version)
    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign,assignment]
