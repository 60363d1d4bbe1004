"""Each deployed stage's hand-written IAM policy allows every AWS call the code
makes (recorded while the code runs), and nothing the code does not need."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import app as application
from chalicelib import aws, settings, wiring
from local import resources
from local.delivery import StreamPoller
from tests.conftest import Shop

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
ACCOUNT = "111122223333"
REGION = "us-east-1"
# Actions AWS offers no resource-level permissions for.
RESOURCELESS = {"dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}

Call = tuple[str, str, dict[str, Any]]


@pytest.fixture
def recorded(shop: Shop) -> Iterator[list[Call]]:
    """Every API call the app's own clients make during a full shopping scenario."""
    calls: list[Call] = []
    shop.put_product("p1", maxPerUser=3)  # builds the app's clients
    # Both DynamoDB clients: the order loop's (botocore retries off) and the rest's.
    for service, retries in (("dynamodb", True), ("dynamodb", False), ("sns", True)):
        aws.client(service, retries=retries).meta.events.register(
            f"provide-client-params.{service}.*",
            lambda params, model, _s=service, **kwargs: calls.append((_s, model.name, params)),
        )
    shop.put_product("p2", price=5)
    shop.put_product("hot", shards=4, stock=40)
    shop.request("GET", "/products")
    shop.request("GET", "/products/p1")
    shop.request("GET", "/products/hot")
    shop.order(productId="hot", userId="bob")
    shop.put_product("hot", shards=2, stock=40)  # resharding deletes shards
    order = shop.order(quantity=2, key="k-1").json_body
    shop.order(productId="p2")
    shop.order(quantity=2, key="k-1")  # a replay
    shop.order(quantity=2)  # over the limit
    shop.request("GET", f"/orders/{order['orderId']}")
    shop.request("GET", "/users/alice/orders?limit=1")
    # The operator console and a cancellation.
    shop.request("POST", f"/orders/{order['orderId']}/cancel")
    shop.request("GET", "/admin/sales")
    shop.request("POST", "/admin/sales/p2/restock", {"units": 3})
    shop.request("GET", "/admin/sales/p1/live")
    shop.request("GET", "/admin/sales/p1/orders?limit=1")
    shop.request("GET", "/admin/sales/p1/orders?userId=alice")
    shop.request("GET", f"/admin/sales/p1/orders?orderId={order['orderId']}")
    shop.request("POST", "/admin/sales/p2/end")
    wiring.refusals().flush(force=True)
    resources.create_topic(boto3.client("sns"))
    StreamPoller(
        shop.dynamodb,
        boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        shop.config.orders_table,
        application.notify_orders,
    ).drain()
    yield calls


def stage_name(name: str, stage: str) -> str:
    return name.replace("flashsale-local-", f"flashsale-{stage}-")


def table_arn(name: str, stage: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{stage_name(name, stage)}"


def needs(call: Call, stage: str) -> set[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one recorded call requires."""
    service, operation, params = call
    if service == "sns" and operation == "Publish":
        topic = params["TopicArn"].rsplit(":", 1)[1]
        key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d"
        return {
            ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:{stage_name(topic, stage)}"),
            # The topic is encrypted with the stage's key.
            ("kms:GenerateDataKey", key),
            ("kms:Decrypt", key),
        }
    if operation == "TransactWriteItems":
        # IAM has no TransactWriteItems action: each item needs its own.
        return {
            (f"dynamodb:{kind}Item" if kind != "ConditionCheck" else "dynamodb:ConditionCheckItem",
             table_arn(spec["TableName"], stage))
            for item in params["TransactItems"]
            for kind, spec in item.items()
        }  # fmt: skip
    if operation == "BatchGetItem":
        return {
            (f"dynamodb:{operation}", table_arn(table, stage)) for table in params["RequestItems"]
        }
    resource = table_arn(params["TableName"], stage)
    if "IndexName" in params:
        resource += f"/index/{params['IndexName']}"
    return {(f"dynamodb:{operation}", resource)}


def runtime_needs(stage: str) -> set[tuple[str, str]]:
    """What Lambda itself does with the role: the stream mapping, its DLQ, logs, X-Ray."""
    stream = table_arn("flashsale-local-orders", stage) + "/stream/2026-11-24T00:00:00.000"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d"
    log_group = (
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/flashsale-{stage}-notify_orders"
    )
    return {
        ("dynamodb:DescribeStream", stream),
        ("dynamodb:GetRecords", stream),
        ("dynamodb:GetShardIterator", stream),
        ("dynamodb:ListStreams", "*"),
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-notify-dlq"),
        ("kms:GenerateDataKey", key),
        ("kms:Decrypt", key),
        ("logs:CreateLogGroup", log_group),
        ("logs:CreateLogStream", f"{log_group}:log-stream:x"),
        ("logs:PutLogEvents", f"{log_group}:log-stream:x"),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }


def policy(stage: str) -> list[dict[str, Any]]:
    document = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    return [
        {**s, "Action": _list(s["Action"]), "Resource": _list(s["Resource"])}
        for s in document["Statement"]
    ]


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM wildcard matching (conditions only narrow further; none is needed here)."""
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s["Action"])
        and any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"])
        for s in statements
    )


@pytest.mark.parametrize("stage", STAGES)
def test_policy_allows_every_call_the_code_makes(stage: str, recorded: list[Call]) -> None:
    operations = {(service, operation) for service, operation, _ in recorded}
    # The scenario really covered the code's calls.
    assert {
        ("dynamodb", "BatchGetItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodb", "GetItem"),
        ("dynamodb", "UpdateItem"),
        ("dynamodb", "Scan"),
        ("dynamodb", "Query"),
        ("sns", "Publish"),
    } <= operations
    required = set().union(*(needs(call, stage) for call in recorded)) | runtime_needs(stage)
    statements = policy(stage)
    denied = sorted(need for need in required if not allows(statements, *need))
    assert denied == []


@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_nothing_the_code_does_not_use(stage: str, recorded: list[Call]) -> None:
    required = set().union(*(needs(call, stage) for call in recorded)) | runtime_needs(stage)
    used = {action.lower() for action, _ in required}
    for statement in policy(stage):
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action}"
            assert action.lower() in used, f"{action} is granted but never used"
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= RESOURCELESS, statement
        for resource in statement["Resource"]:
            # Every ARN names this stage's resources, never another stage's.
            assert resource == "*" or f"flashsale-{stage}" in resource or ":key/" in resource


@pytest.mark.parametrize("stage", STAGES)
def test_stage_config_uses_the_policy_and_the_stage_names(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    assert config["iam_policy_file"] == f"policy-{stage}.json"
    assert config["xray"] is True
    stage_settings = settings.load(config["environment_variables"])
    for table in (
        stage_settings.products_table,
        stage_settings.orders_table,
        stage_settings.purchases_table,
    ):
        assert table.startswith(f"flashsale-{stage}-")
    assert stage_settings.order_topic_arn.endswith(f":flashsale-{stage}-order-placed")
