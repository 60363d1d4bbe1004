"""The emulator's update expressions (local/fast_expressions.py): one text
parsed once, every item still updated with its own values, and moto's
validation walks and copies, made faster, answering as moto ships them."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from local import fast_expressions, moto_pin

RELEASE = "SET #status = :released, releasedAt = :now REMOVE clientSecret ADD stock :u"


def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for owner, name, replacement in fast_expressions.patches():
        monkeypatch.setattr(owner, name, replacement, raising=False)


def tables() -> Any:
    """Table t keyed by id, table r by pk and sk."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    for name, keys in (("t", ["id"]), ("r", ["pk", "sk"])):
        client.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": k, "KeyType": kind}
                for k, kind in zip(keys, ("HASH", "RANGE"), strict=False)
            ],
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    return client


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Any:
    fast(monkeypatch)
    with mock_aws():
        yield tables()


def release(n: int, units: int) -> dict[str, Any]:
    return {
        "TableName": "t",
        "Key": {"id": {"S": f"o{n}"}},
        "UpdateExpression": RELEASE,
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":released": {"S": "RELEASED"},
            ":now": {"S": f"2026-12-07T12:00:0{n}Z"},
            ":u": {"N": str(units)},
        },
    }


def test_one_text_parsed_once_each_item_gets_its_own_values(dynamodb: Any) -> None:
    # If binding the values changed the cached tree, the second and third items
    # would be given the first one's.
    fast_expressions._parsed.cache_clear()
    for n in range(3):
        dynamodb.put_item(TableName="t", Item={"id": {"S": f"o{n}"}, "clientSecret": {"S": "s"}})
    dynamodb.update_item(**release(0, 5))
    dynamodb.transact_write_items(
        TransactItems=[{"Update": release(1, 7)}, {"Update": release(2, -1)}]
    )
    items = {i["id"]["S"]: i for i in dynamodb.scan(TableName="t", ConsistentRead=True)["Items"]}
    assert [
        (items[f"o{n}"]["releasedAt"]["S"][-3:], items[f"o{n}"]["stock"]["N"]) for n in range(3)
    ] == [
        ("00Z", "5"),
        ("01Z", "7"),
        ("02Z", "-1"),
    ]
    assert all("clientSecret" not in item for item in items.values())
    assert fast_expressions._parsed.cache_info().misses == 1  # three updates, one parse


def test_a_bad_expression_is_refused_every_time(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={"id": {"S": "o0"}})
    for _ in range(2):
        with pytest.raises(dynamodb.exceptions.ClientError, match="Invalid UpdateExpression"):
            dynamodb.update_item(
                TableName="t", Key={"id": {"S": "o0"}}, UpdateExpression="SET = oops"
            )


def test_another_moto_is_refused_loudly() -> None:
    with pytest.raises(moto_pin.WrongMoto, match=r"5\.2\.5"):
        fast_expressions.install(version="5.3.0")


# --- moto's validation, walked and copied faster, answers as it ships ------------

S, N = "S", "N"
ITEM = {
    "status": {S: "AWAITING_PAYMENT"},
    "clientSecret": {S: "cs"},
    "stock": {N: "3"},
    "purchased": {N: "2"},
    "word": {S: "w"},
    "tags": {"SS": ["a", "b"]},
    "list": {"L": [{N: "1"}, {N: "2"}, {N: "3"}]},
    "map": {"M": {"inner": {"L": [{S: "x"}]}}},
}


def update(expression: str, names: Any = None, table: str = "t", **values: Any) -> Any:
    call: dict[str, Any] = {"TableName": table, "UpdateExpression": expression}
    if names:
        call["ExpressionAttributeNames"] = names
    if values:
        call["ExpressionAttributeValues"] = {f":{k}": v for k, v in values.items()}
    return call


# Each twice in a row (the second meets what the first left in the caches),
# and texts repeated with other names or on another table's key.
UPDATES = [
    update(
        "SET #status = :released, releasedAt = :now, releaseReason = :why REMOVE clientSecret",
        {"#status": "status"},
        released={S: "RELEASED"},
        now={S: "2026-12-07T12:00:00Z"},
        why={S: "expired"},
    ),
    update("SET stock = stock + :u", u={N: "4"}),
    update("SET missing = missing + :u", u={N: "4"}),  # no such attribute
    update("ADD purchased :minus", minus={N: "-1"}),
    update("ADD word :minus", minus={N: "-1"}),  # not a number
    update("SET #k = :v", {"#k": "other"}, v={S: "x"}),
    update("SET #k = :v", {"#k": "id"}, v={S: "x"}),  # the key, by the same text
    update("SET #k = :v", {"#k": "sk"}, v={S: "x"}),  # not t's key
    update("SET #k = :v", {"#k": "sk"}, table="r", v={S: "x"}),  # r's key
    update("SET #a = :v, #b = :w", {"#a": "x", "#b": "y"}, v={S: "1"}, w={S: "2"}),
    update("SET #a = :v, #b = :w", {"#a": "x", "#b": "x"}, v={S: "1"}, w={S: "2"}),  # twice
    update("SET a = :v, a = :w", v={S: "1"}, w={S: "2"}),
    update("SET a = :v SET b = :w", v={S: "1"}, w={S: "2"}),  # two SET clauses
    update("SET a = :nope", v={S: "1"}),  # a value not given
    update(
        "SET list = list_append(if_not_exists(list, :empty), :more)",
        empty={"L": []},
        more={"L": [{N: "9"}]},
    ),
    update(
        "SET fresh = list_append(if_not_exists(fresh, :empty), :more)",
        empty={"L": []},
        more={"L": [{N: "9"}]},
    ),
    update("SET map.inner[0] = :v, stock = stock - :one", v={S: "y"}, one={N: "1"}),
    update("REMOVE list[2], list[0]"),
    update("DELETE tags :gone", gone={"SS": ["a"]}),
    update("SET word = :v ADD purchased :one", v={S: ""}, one={N: "1"}),
]


def answers(implementation_is_fast: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    with mock_aws():
        if implementation_is_fast:
            fast(monkeypatch)
        client = tables()
        seen: list[Any] = []
        for n, call in enumerate(UPDATES):
            for attempt in range(2):
                key = (
                    {"pk": {S: f"p{n}.{attempt}"}, "sk": {S: "s"}}
                    if call["TableName"] == "r"
                    else {"id": {S: f"i{n}.{attempt}"}}
                )
                client.put_item(TableName=call["TableName"], Item={**key, **ITEM})
                try:
                    client.update_item(Key=key, **call)
                    seen.append("ok")
                except client.exceptions.ClientError as error:
                    seen.append(
                        (error.response["Error"]["Code"], error.response["Error"]["Message"])
                    )
                seen.append(client.get_item(TableName=call["TableName"], Key=key)["Item"])
        monkeypatch.undo()
        return seen


def test_every_update_answers_as_moto_ships_it(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = answers(False, monkeypatch)
    faster = answers(True, monkeypatch)
    for index, (mine, theirs) in enumerate(zip(faster, shipped, strict=True)):
        assert mine == theirs, (index, UPDATES[index // 4])  # four entries per update
    refusals = [a for a in shipped if isinstance(a, tuple)]
    # The key by a name, twice, the overlapping and repeated paths, the missing
    # attribute and value, the wrong type, the two clauses: all refused as moto refuses.
    assert len(refusals) >= 2 * 9, refusals
    # Per update: answer, item, answer, item. The same text with other names is
    # allowed, and refused again when the names make it refusable.
    assert shipped[5 * 4] == shipped[9 * 4] == "ok"
    assert isinstance(shipped[6 * 4], tuple) and isinstance(shipped[10 * 4], tuple)
    assert shipped[7 * 4] == "ok" and isinstance(shipped[8 * 4], tuple)  # another table's key


def shape(node: Any, inside: dict[int, Any]) -> Any:
    """A tree as nested (class, attributes) with its parent links by position."""
    if not isinstance(node, Node):
        return node
    inside[id(node)] = len(inside)
    fields = {
        name: (inside.get(id(value)) if name == "parent" else shape_of(value, inside))
        for name, value in sorted(vars(node).items())
    }
    return type(node).__name__, fields


def shape_of(value: Any, inside: dict[int, Any]) -> Any:
    if isinstance(value, list):
        return [shape(item, inside) for item in value]
    return shape(value, inside)


def test_a_tree_copy_is_deepcopys_own(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [update["UpdateExpression"] for update in UPDATES[:3]] + [
        "SET list = list_append(if_not_exists(list, :empty), :more)",
        "SET map.inner[0] = :v, stock = stock - :one REMOVE list[2], list[0] DELETE tags :g",
    ]
    for text in texts:
        tree = UpdateExpressionParser.make(text)
        shipped = copy.deepcopy(tree)
        monkeypatch.setattr(Node, "__deepcopy__", fast_expressions.node_copy, raising=False)
        faster = copy.deepcopy(tree)
        monkeypatch.undo()
        assert shape(faster, {}) == shape(shipped, {}) == shape(tree, {})
        originals: set[int] = set()
        pending = [tree]
        while pending:
            node = pending.pop()
            originals.add(id(node))
            pending += [c for c in node.children or [] if isinstance(c, Node)]
        copies = [faster]
        while copies:
            node = copies.pop()
            assert id(node) not in originals  # nothing shared with the original
            for child in node.children or []:
                if isinstance(child, Node):
                    assert child.parent is node  # the copy's links are its own
                    copies.append(child)
