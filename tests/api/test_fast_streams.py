"""The emulator's GetRecords (local/fast_streams.py) answers what moto's own
serialiser answers, record for record."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from local import fast_streams, moto_pin


def every_kind_of_write(dynamodb: Any) -> str:
    """A streamed table that saw a put of every attribute type, an update and a
    delete; its stream's ARN."""
    table = dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    item = {
        "id": {"S": "o-1"},
        "n": {"N": "19.99"},
        "b": {"B": b"\x00\xffbytes"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"x", b"y"]},
        "m": {"M": {"nested": {"L": [{"S": "deep"}, {"BOOL": True}, {"NULL": True}]}}},
        "ü": {"S": "unicode ✓"},
    }
    dynamodb.put_item(TableName="orders", Item=item)
    dynamodb.update_item(
        TableName="orders",
        Key={"id": {"S": "o-1"}},
        UpdateExpression="SET #s = :s ADD n :one",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "RELEASED"}, ":one": {"N": "1"}},
    )
    dynamodb.delete_item(TableName="orders", Key={"id": {"S": "o-1"}})
    return str(table["LatestStreamArn"])


def read_all(streams: Any, arn: str, limit: int | None) -> list[dict[str, Any]]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    for _ in range(5):
        page = streams.get_records(ShardIterator=iterator, **({"Limit": limit} if limit else {}))
        records += page["Records"]
        iterator = page["NextShardIterator"]
    return records


@pytest.mark.parametrize("limit", [None, 1])
def test_records_read_the_same_through_either_serialiser(
    limit: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        streams = boto3.client(
            "dynamodbstreams",
            region_name="us-east-1",
            config=Config(account_id_endpoint_mode="disabled"),
        )
        arn = every_kind_of_write(dynamodb)
        shipped = read_all(streams, arn, limit)
        monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", fast_streams.get_records)
        fast = read_all(streams, arn, limit)

    assert [r["eventName"] for r in shipped] == ["INSERT", "MODIFY", "REMOVE"]
    assert fast == shipped  # the same records, timestamps, images and binary values


def test_another_moto_is_refused_loudly() -> None:
    with pytest.raises(moto_pin.WrongMoto, match=r"5\.2\.5"):
        fast_streams.install(version="5.3.0")
