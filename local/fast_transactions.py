"""Item-level rollback for moto's TransactWriteItems, for the local emulator.

moto snapshots every table a transaction touches with copy.deepcopy before it
starts, so each order costs time in proportion to everything ever sold (and
the Orders stream's history): a local flash sale slows to a crawl within
minutes. This keeps moto's own evaluation of every item (conditions, ALL_OLD,
the writes themselves) and snapshots only the items the transaction names,
plus the length of each touched table's stream, restoring just those on
cancellation. Each condition is parsed once per text, names and values: the
holds one release transaction frees share their orders' condition and values
(and their shoppers' counters often do), and parsing was a fifth of such a
transaction's time. moto's parsed condition only reads the item it is given.
Installed by the emulator only; in-process tests use moto as is.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from local import moto_pin
from local.moto_pin import MOTO_VERSION, WrongMoto  # noqa: F401 (re-exported: tests catch it here)

Snapshot = tuple[Table, DynamoType, "DynamoType | None", Any]


CONDITIONS = 4096  # parsed conditions kept (a release's share a handful)
_conditions: dict[tuple[str, str], Any] = {}


def _condition(text: str, names: Any, values: Any) -> Any:
    """moto's parsed condition, once per (text, names, values)."""
    key = (text, json.dumps([names, values], sort_keys=True))
    parsed = _conditions.get(key)
    if parsed is None:
        # Its own copy of the values: moto's parsed condition keeps the request's
        # set lists, which an update may store in an item and ADD to in place.
        parsed = get_filter_expression(text, names, copy.deepcopy(values))
        if len(_conditions) >= CONDITIONS:
            _conditions.clear()
        _conditions[key] = parsed
    return parsed


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems with item-level instead of table-level rollback."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots: dict[tuple[str, str], Snapshot] = {}
    streams: dict[str, tuple[Table, int]] = {}

    def remember(table: Table, key: dict[str, Any]) -> None:
        ident = (table.name, str(sorted(key.items())))
        if ident in snapshots:
            raise MultipleTransactionsException()
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        before = copy.deepcopy(table.get_item(hash_value, range_value))
        snapshots[ident] = (table, hash_value, range_value, before)
        if table.stream_shard is not None and table.name not in streams:
            streams[table.name] = (table, len(table.stream_shard.items))

    def rollback() -> None:
        for table, hash_value, range_value, before in snapshots.values():
            if range_value is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before
            elif before is None:
                table.items.get(hash_value, {}).pop(range_value, None)
                if hash_value in table.items and not table.items[hash_value]:
                    del table.items[hash_value]
            else:
                table.items[hash_value][range_value] = before
        for table, length in streams.values():
            del table.stream_shard.items[length:]

    errors: list[Any] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        original: dict[str, Any] | None = None
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = self.get_table(table_name)
            key = _key_of(table, op_type, op)
            remember(table, key)
            condition = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            current = self.get_item(table_name, key)
            if condition is not None:
                check = _condition(condition, names, values)
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original)
            if op_type == "Put":
                # The condition held a moment ago under the emulator's lock and
                # nothing has touched the item since: it is not parsed twice
                # (parsing conditions was a third of the emulator's time).
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=None,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original))
        except Exception as error:
            errors.append((type(error).__name__, str(error), original))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


def install(version: str | None = None) -> None:
    """Route every moto DynamoDB backend's TransactWriteItems through this module
    (moto 5.2.5's code with the rollback changed: another moto is refused)."""
    moto_pin.require(
        "local/fast_transactions.py", f"copies moto {MOTO_VERSION}'s transaction code", version
    )
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
