"""Create the stage's tables and topic and seed demo products (idempotent)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from chalicelib import instants
from chalicelib.catalog import Catalog
from chalicelib.settings import Settings
from chalicelib.validation import product_from_dict

SEED = Path(__file__).with_name("seed.json")
TOPIC_NAME = "flashsale-local-order-placed"
MAIL_QUEUE = "flashsale-local-mail"
MAIL_DLQ = "flashsale-local-mail-dlq"
# Like the deployed queue's redrive policy (infra/), with a short visibility
# timeout so that a failed email comes back in seconds, not minutes.
MAIL_MAX_RECEIVES = 5
MAIL_VISIBILITY_SECONDS = 5


def table_specs(settings: Settings) -> list[dict[str, Any]]:
    """CreateTable requests for every table the app uses (mirrors infra/)."""
    s = {"AttributeType": "S"}
    return [
        {
            "TableName": settings.products_table,
            "KeySchema": [{"AttributeName": "productId", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "productId", **s}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            "TableName": settings.orders_table,
            "KeySchema": [{"AttributeName": "orderId", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": name, **s}
                for name in ("orderId", "userId", "productId", "createdAt")
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": index,
                    "KeySchema": [
                        {"AttributeName": owner, "KeyType": "HASH"},
                        {"AttributeName": "createdAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index, owner in (
                    (settings.orders_by_user_index, "userId"),
                    # The console's list of a sale's orders.
                    (settings.orders_by_product_index, "productId"),
                )
            ],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            "TableName": settings.purchases_table,
            "KeySchema": [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "productId", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "userId", **s},
                {"AttributeName": "productId", **s},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            # Addresses never mailed again (hard bounces, complaints).
            "TableName": settings.suppressions_table,
            "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "email", **s}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            # The console's counters: one item per product per minute, and a total.
            "TableName": settings.sales_stats_table,
            "KeySchema": [
                {"AttributeName": "productId", "KeyType": "HASH"},
                {"AttributeName": "bucket", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "productId", **s},
                {"AttributeName": "bucket", **s},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
        {
            # Waiting rooms (docs/waiting-room.md): a room, its entries by
            # shopper, the frozen list's pages; entries by arrival in the index.
            "TableName": settings.rooms_table,
            "KeySchema": [
                {"AttributeName": "productId", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, **s} for name in ("productId", "sk", "arrival")
            ],
            "LocalSecondaryIndexes": [
                {
                    "IndexName": "arrival-index",
                    "KeySchema": [
                        {"AttributeName": "productId", "KeyType": "HASH"},
                        {"AttributeName": "arrival", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    ]


def create_tables(dynamodb: Any, settings: Settings) -> list[str]:
    """Create the missing tables; return the names created."""
    existing = set(dynamodb.list_tables()["TableNames"])
    created = []
    for spec in table_specs(settings):
        if spec["TableName"] not in existing:
            dynamodb.create_table(**spec)
            created.append(spec["TableName"])
    return created


def create_topic(sns: Any) -> str:
    """The order-placed topic's ARN (CreateTopic is idempotent)."""
    return str(sns.create_topic(Name=TOPIC_NAME)["TopicArn"])


def create_mail(ses: Any, sqs: Any, sns: Any, settings: Settings) -> str:
    """SES (sender domain, configuration set) and the mail queue, with its
    dead-letter queue, subscribed to the orders topic; the queue's URL."""
    domain = settings.mail_sender.rsplit("@", 1)[1].rstrip(">")
    ses.verify_domain_identity(Domain=domain)
    if settings.ses_configuration_set:
        existing = ses.list_configuration_sets().get("ConfigurationSets", [])
        if settings.ses_configuration_set not in {c["Name"] for c in existing}:
            ses.create_configuration_set(ConfigurationSet={"Name": settings.ses_configuration_set})
    dlq = sqs.create_queue(QueueName=MAIL_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAIL_MAX_RECEIVES)}
    queue = sqs.create_queue(
        QueueName=MAIL_QUEUE,
        Attributes={
            "VisibilityTimeout": str(MAIL_VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    subscribed = sns.list_subscriptions_by_topic(TopicArn=settings.order_topic_arn)
    if arn not in {s["Endpoint"] for s in subscribed.get("Subscriptions", [])}:
        sns.subscribe(
            TopicArn=settings.order_topic_arn,
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
    return str(queue)


HOLDS_QUEUE = "flashsale-local-holds"
HOLDS_DLQ = "flashsale-local-holds-dlq"
# As infra names them: a release that keeps failing (5 receives) goes aside, and a
# message is invisible while a release (Stripe + DynamoDB, retried) is at work.
HOLDS_MAX_RECEIVES = 5
HOLDS_VISIBILITY_SECONDS = 30


def create_holds(sqs: Any) -> str:
    """The holds queue (docs/payments.md), with its dead-letter queue; its URL."""
    return _queue_with_dlq(
        sqs, HOLDS_QUEUE, HOLDS_DLQ, HOLDS_VISIBILITY_SECONDS, HOLDS_MAX_RECEIVES
    )


ROOMS_QUEUE = "flashsale-local-room-ticks"
ROOMS_DLQ = "flashsale-local-room-ticks-dlq"
ROOMS_VISIBILITY_SECONDS = 30
ROOMS_MAX_RECEIVES = 3


def create_room_ticks(sqs: Any) -> str:
    """The waiting rooms' tick queue, with its dead-letter queue; its URL."""
    return _queue_with_dlq(
        sqs, ROOMS_QUEUE, ROOMS_DLQ, ROOMS_VISIBILITY_SECONDS, ROOMS_MAX_RECEIVES
    )


def _queue_with_dlq(sqs: Any, name: str, dlq_name: str, visibility: int, receives: int) -> str:
    """A queue whose message goes to its dead-letter queue after `receives`; its URL."""
    dlq = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(receives)}
    return str(
        sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
    )


def seed_products(catalog: Catalog, path: Path = SEED) -> int:
    """Put the demo products; return how many. `saleStartsInMinutes` places a
    sale window relative to now, so the UI always has a countdown to show."""
    products = json.loads(path.read_text(), parse_float=Decimal)
    for body in products:
        body = dict(body)
        minutes = body.pop("saleStartsInMinutes", None)
        if minutes is not None:
            starts = datetime.now(UTC) + timedelta(minutes=minutes)
            body["saleStartsAt"] = instants.canonical(starts)
        catalog.put(product_from_dict(body.pop("productId"), body))
    return len(products)
