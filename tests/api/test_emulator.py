"""The local emulator's item-level transaction rollback behaves like moto's own."""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends

import app as application
from chalicelib import aws, settings
from local import client as http_client
from local import fast_expressions, fast_transactions, resources
from local.delivery import StreamPoller
from tests.conftest import Shop


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        DynamoDBBackend, "transact_write_items", fast_transactions.transact_write_items
    )


def stream_records(shop: Shop) -> list[dict[str, object]]:
    streams = boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = shop.dynamodb.describe_table(TableName=shop.config.orders_table)["Table"][
        "LatestStreamArn"
    ]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records: list[dict[str, object]] = streams.get_records(ShardIterator=iterator["ShardIterator"])[
        "Records"
    ]
    return records


def test_cancelled_transaction_leaves_no_trace(fast: None, shop: Shop) -> None:
    shop.put_product(stock=5, maxPerUser=1)
    assert shop.order().status_code == 201
    before = (shop.stock(), shop.orders(), shop.purchased("alice"), len(stream_records(shop)))

    # Stock and order items pass their conditions; the limit item fails last.
    response = shop.order()

    assert response.json_body["code"] == "PURCHASE_LIMIT_EXCEEDED"
    after = (shop.stock(), shop.orders(), shop.purchased("alice"), len(stream_records(shop)))
    assert after == before


def test_committed_transactions_and_replays_still_work(fast: None, shop: Shop) -> None:
    shop.put_product(stock=3, shards=2)
    first = shop.order(key="k").json_body
    assert shop.order(key="k").json_body == first
    assert shop.order(userId="bob", quantity=2).status_code == 201
    assert shop.order(userId="carol").json_body["code"] == "OUT_OF_STOCK"
    inserts = [r for r in stream_records(shop) if r["eventName"] == "INSERT"]
    assert len(inserts) == len(shop.orders()) == 2


def test_a_condition_parsed_once_is_checked_with_each_transactions_values(
    fast: None, shop: Shop
) -> None:
    shop.put_product(stock=5)

    def guarded(expected: str, name: str = "stock") -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": shop.config.products_table,
                "Key": {"productId": {"S": "p1"}},
                "ConditionExpression": "#a = :n",
                "ExpressionAttributeNames": {"#a": name},
                "ExpressionAttributeValues": {":n": {"N": expected}},
            }
        }

    fast_transactions._conditions.clear()
    shop.dynamodb.transact_write_items(TransactItems=[guarded("5")])
    shop.dynamodb.transact_write_items(TransactItems=[guarded("5")])  # the same: parsed once
    assert len(fast_transactions._conditions) == 1
    # The same text with another value, or other names, is its own condition, and fails.
    for other in (guarded("4"), guarded("5", name="price")):
        with pytest.raises(shop.dynamodb.exceptions.TransactionCanceledException):
            shop.dynamodb.transact_write_items(TransactItems=[other])
    assert len(fast_transactions._conditions) == 3


def test_a_parsed_condition_keeps_its_own_values_when_an_item_stores_them(
    fast: None, shop: Shop
) -> None:
    # Regression (found in review): the cached condition shared the request's
    # set list with the item SET stored, so an ADD to the item changed the
    # condition's value and later checks answered the other way round.
    shop.put_product("p1")
    shop.put_product("p2")
    table = shop.config.products_table

    def tag(product_id: str) -> list[dict[str, Any]]:
        return [
            {
                "Update": {
                    "TableName": table,
                    "Key": {"productId": {"S": product_id}},
                    "ConditionExpression": "attribute_not_exists(tags) OR tags <> :v",
                    "UpdateExpression": "SET tags = :v",
                    "ExpressionAttributeValues": {":v": {"SS": ["a"]}},
                }
            }
        ]

    shop.dynamodb.transact_write_items(TransactItems=tag("p1"))  # p1 tags {a}
    shop.dynamodb.update_item(
        TableName=table,
        Key={"productId": {"S": "p1"}},
        UpdateExpression="ADD tags :b",
        ExpressionAttributeValues={":b": {"SS": ["b"]}},
    )  # p1 tags {a, b}
    shop.dynamodb.update_item(
        TableName=table,
        Key={"productId": {"S": "p2"}},
        UpdateExpression="SET tags = :a",
        ExpressionAttributeValues={":a": {"SS": ["a"]}},
    )  # p2 tags {a}
    shop.dynamodb.transact_write_items(TransactItems=tag("p1"))  # {a, b} <> {a}: passes
    with pytest.raises(shop.dynamodb.exceptions.TransactionCanceledException):
        shop.dynamodb.transact_write_items(TransactItems=tag("p2"))  # {a} = {a}: fails


def test_one_item_twice_in_a_transaction_is_rejected(fast: None, shop: Shop) -> None:
    shop.put_product()
    update = {
        "Update": {
            "TableName": shop.config.products_table,
            "Key": {"productId": {"S": "p1"}},
            "UpdateExpression": "SET stock = stock - :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    with pytest.raises(shop.dynamodb.exceptions.ClientError) as raised:
        shop.dynamodb.transact_write_items(TransactItems=[update, update])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert shop.stock() == 10


# --- every transaction shape the code issues, on both implementations ---------

WRITES = ("TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem")


def scenario(shop: Shop) -> None:
    """Everything the app writes, including the refusals that cancel a transaction."""
    shop.put_product("one", stock=6, maxPerUser=2)  # one stock item
    shop.put_product("many", stock=8, shards=4)  # four shards of two
    shop.put_product("late", saleStartsAt="2099-01-01T00:00:00Z")
    first = shop.order(productId="one", key="k").json_body
    shop.order(productId="one", key="k")  # a replay
    shop.order(productId="one", key="k", quantity=2)  # a key reused
    shop.order(productId="one", quantity=2)  # above the limit
    shop.order(productId="one", userId="bob", quantity=2)
    shop.order(productId="one", userId="carol", quantity=2)  # short: 1 left
    shop.order(productId="many", userId="dave", quantity=3)  # several shards
    shop.order(productId="many", userId="erin", quantity=2)
    shop.order(productId="many", userId="fay", quantity=4)  # short
    shop.order(productId="late", userId="gus")  # window closed
    shop.put_product("many", stock=8, shards=2)  # re-shard
    shop.request("POST", "/admin/sales/many/restock", {"units": 3})
    shop.request("POST", f"/orders/{first['orderId']}/cancel")
    shop.request("POST", f"/orders/{first['orderId']}/cancel")  # once only
    shop.request("POST", "/admin/sales/late/end")
    from chalicelib import wiring

    wiring.refusals().flush(force=True)
    stream = StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
        sleep=lambda seconds: None,
    )
    resources.create_topic(boto3.client("sns"))
    stream.drain()


def replay(calls: list[tuple[str, dict[str, Any]]], client: Any) -> list[Any]:
    """Each write again, in order: its answer, or its error code and reasons."""
    answers: list[Any] = []
    for operation, params in calls:
        method = getattr(client, re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower())
        try:
            method(**params)
            answers.append("ok")
        except client.exceptions.ClientError as error:
            answers.append(
                (error.response["Error"]["Code"], error.response.get("CancellationReasons"))
            )
    return answers


def tables(client: Any) -> dict[str, list[Any]]:
    found = {}
    for name in client.list_tables()["TableNames"]:
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        found[name] = sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
    return found


def test_every_transaction_shape_behaves_as_moto_ships_it(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN every write the app makes in a full scenario, recorded on moto as it ships
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        # (A value returned here would replace the call's parameters.)
        if model.name in WRITES:
            calls.append((model.name, copy.deepcopy(params)))

    for retries in (True, False):
        aws.client("dynamodb", retries=retries).meta.events.register(
            "provide-client-params.dynamodb.*", record
        )
    scenario(shop)
    shapes = {
        tuple(sorted(kind + ":" + spec["TableName"].rsplit("-", 1)[1]
                     for item in params["TransactItems"] for kind, spec in item.items()))
        for operation, params in calls if operation == "TransactWriteItems"
    }  # fmt: skip
    assert len(shapes) >= 8, shapes  # one shard, several, limits, puts, deletes, cancels, counts

    # WHEN the same writes run from empty tables on moto and on the emulator's version
    def run(fast: bool) -> tuple[list[Any], dict[str, list[Any]]]:
        with mock_aws():
            dynamodb_backends.reset()  # nested in the shop's mock: start empty
            if fast:
                monkeypatch.setattr(
                    DynamoDBBackend, "transact_write_items", fast_transactions.transact_write_items
                )
                for owner, name, replacement in fast_expressions.patches():
                    monkeypatch.setattr(owner, name, replacement, raising=False)
            client = boto3.client("dynamodb")
            resources.create_tables(client, settings.load())
            answers = replay(calls, client)
            state = tables(client)
            monkeypatch.undo()
            return answers, state

    shipped, fast = run(False), run(True)

    # THEN every answer (cancellation reasons and ALL_OLD items included) and the
    # final tables are the same
    for index, (mine, theirs) in enumerate(zip(fast[0], shipped[0], strict=True)):
        assert mine == theirs, (index, calls[index])
    assert any(answer != "ok" for answer in shipped[0])  # refusals were covered
    assert fast[1] == shipped[1]


def test_another_moto_is_refused_loudly() -> None:
    with pytest.raises(fast_transactions.WrongMoto, match=r"5\.2\.5"):
        fast_transactions.install(version="5.3.0")


# --- the admin API -------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[str]:
    from local.emulator import Emulator
    from local.launch import free_port

    running = Emulator("127.0.0.1", free_port()).start()
    yield running.url
    running.stop()


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    host, port = url.removeprefix("http://").split(":")
    reply = http_client.call(host, int(port), method, f"/_flashsale/{path}", body)
    assert reply.status == 200, reply.body
    return reply.body


def test_stats_reset_zeroes_every_counter(emulator: str) -> None:
    # GIVEN a counter of each kind above zero: calls, a throttle, a restart
    from local.stack import emulator_client

    dynamodb = emulator_client(
        "dynamodb", emulator, config=Config(retries={"total_max_attempts": 1})
    )
    dynamodb.list_tables()
    admin(emulator, "PUT", "faults", {"throttleRate": 1.0})
    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.list_tables()
    admin(emulator, "PUT", "faults", {})
    admin(emulator, "POST", "restart", {"downSeconds": 0})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if admin(emulator, "GET", "stats")["restarts"] == 1:
                break
        except OSError:
            pass
        time.sleep(0.05)
    before = admin(emulator, "GET", "stats")
    assert before["restarts"] == 1 and before["faultsInjected"] == {"throttled": 1}

    # WHEN the stats are reset
    after = admin(emulator, "POST", "stats/reset")

    # THEN nothing counted survives (faultsInjected and restarts did, once)
    counters = {key: value for key, value in after.items() if key not in FAULT_NAMES}
    assert counters == {
        "dynamodb": {},
        "dynamodbByApp": {},
        "dynamodbByAppTable": {},
        "transactionConflictsInjected": 0,
        "faultsInjected": {},
        "throttledByApp": {},
        "restarts": 0,
    }


FAULT_NAMES = {
    "transactionConflictRate",
    "hotItemWindowMs",
    "throttleRate",
    "snsOutage",
    "sesThrottleRate",
}


def test_faults_are_one_value_parsed_from_the_admin_document() -> None:
    from local.emulator import Faults

    assert Faults.parse({}) == Faults()
    assert set(Faults().to_json()) == FAULT_NAMES
    parsed = Faults.parse({"throttleRate": 3, "hotItemWindowMs": -1, "snsOutage": True})
    assert parsed == Faults(throttle_rate=1.0, sns_outage=True)
    assert Faults.parse(parsed.to_json()) == parsed
    with pytest.raises(ValueError, match="throtleRate"):
        Faults.parse({"throtleRate": 0.5})


def test_a_misspelt_fault_is_refused_and_changes_nothing(emulator: str) -> None:
    admin(emulator, "PUT", "faults", {"throttleRate": 0.5})
    host, port = emulator.removeprefix("http://").split(":")
    reply = http_client.call(host, int(port), "PUT", "/_flashsale/faults", {"throtleRate": 1})
    assert reply.status == 400 and "throtleRate" in reply.body["message"]
    assert admin(emulator, "GET", "stats")["throttleRate"] == 0.5


def test_in_process_moto_takes_the_app_s_threads_one_request_at_a_time(shop: Shop) -> None:
    # Regression: release_holds' pool sent two products' release transactions at
    # once into in-process moto, which is not thread-safe: one copied the orders
    # table while the other added an attribute to an item of it (RuntimeError:
    # dictionary changed size during iteration). tests/conftest.py serialises it.
    table = shop.config.products_table
    for n in range(50):
        shop.put_product(f"race-{n}", stock=0)

    def bump(worker: int) -> None:
        for step in range(60):
            shop.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"productId": {"S": f"race-{(worker * 7 + step) % 50}"}},
                            # A new attribute now and then: the item's dict grows.
                            "UpdateExpression": "ADD bumps :one SET #seen = :one",
                            "ExpressionAttributeNames": {"#seen": f"seen{step % 10}"},
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    }
                ]
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bump, range(8)))  # any RuntimeError in a worker is raised here
    items = shop.dynamodb.scan(TableName=table)["Items"]
    assert sum(int(i["bumps"]["N"]) for i in items if "bumps" in i) == 8 * 60
