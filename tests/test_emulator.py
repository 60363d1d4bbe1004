"""The local emulator's item-level transaction rollback behaves like moto's own."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from moto.dynamodb.models import DynamoDBBackend

from local import fast_transactions
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
