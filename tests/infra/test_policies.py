"""Each deployed function's hand-written IAM policy allows every AWS call that
function's code makes (recorded while the code runs), and nothing it does not
need: the API cannot publish and only sends to the holds and tick queues, the
notifier cannot write the catalog, the mailer only reads orders, marks them and
sends through SES, the release function only releases holds, the admitter only
ranks and admits in the rooms table."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

import app as application
from chalicelib import aws, instants, settings
from deploy import stage as stages
from local import resources
from local.delivery import StreamPoller
from local.mail import QueuePoller
from tests.conftest import Shop

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
FUNCTIONS = (
    "api_handler", "notify_orders", "send_emails", "record_email_feedback", "release_holds",
    "admit_shoppers",
)  # fmt: skip
POLICY_NAMES = {
    "api_handler": "api",
    "notify_orders": "notify",
    "send_emails": "mail",
    "record_email_feedback": "feedback",
    "release_holds": "holds",
    "admit_shoppers": "rooms",
}
ACCOUNT = "111122223333"
REGION = "us-east-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d"
# Actions AWS offers no resource-level permissions for.
RESOURCELESS = {"dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}

Call = tuple[str, str, dict[str, Any]]
Need = tuple[str, str]


@pytest.fixture(scope="module")
def recorded() -> Iterator[dict[str, list[Call]]]:
    """Every API call each function's code makes through the app's own clients:
    the API during a full shopping scenario (a waiting room's included, with the
    admitter's ticks delivered as its mapping would), then the notifier on its
    stream."""
    from chalice.test import Client
    from moto import mock_aws

    from app import app as chalice_app
    from chalicelib import wiring

    with mock_aws():
        wiring.reset()
        dynamodb = boto3.client("dynamodb")
        resources.create_tables(dynamodb, settings.load())
        with Client(chalice_app, stage_name="local") as client:
            shop = Shop(client, dynamodb)
            # release_holds: nothing recorded until its code is on this branch.
            calls: dict[str, list[Call]] = {name: [] for name in FUNCTIONS}
            current = calls["api_handler"]
            shop.put_product("p1", maxPerUser=3)  # builds the app's clients

            def record(params: Any, model: Any, _s: str, **kwargs: Any) -> None:
                current.append((_s, model.name, params))

            # The app's clients (the order loop's and the mailer's SES have
            # botocore's retries off).
            for service, retries in (
                ("dynamodb", True), ("dynamodb", False), ("sns", True), ("ses", False),
                ("sqs", True),
            ):  # fmt: skip
                aws.client(service, retries=retries).meta.events.register(
                    f"provide-client-params.{service}.*",
                    lambda params, model, _s=service, **kwargs: record(params, model, _s),
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
            # A shopper with an address, a cancellation and the operator console.
            mailed = shop.order(productId="p2", userId="dana@example.com").json_body
            shop.request("POST", f"/orders/{order['orderId']}/cancel")
            shop.request("GET", "/admin/sales")
            shop.request("POST", "/admin/sales/p2/restock", {"units": 3})
            shop.request("GET", "/admin/sales/p1/live")
            shop.request("GET", "/admin/sales/p1/orders?limit=1")
            shop.request("GET", "/admin/sales/p1/orders?userId=alice")
            shop.request("GET", f"/admin/sales/p1/orders?orderId={order['orderId']}")
            shop.request("POST", "/admin/sales/p2/end")
            sqs = boto3.client("sqs")
            # A waiting room (docs/waiting-room.md): opened by its first poll,
            # joined twice, its ticks run by admit_shoppers, a pass spent on an
            # order, the list page, the operator's view and live rate.
            ticks = QueuePoller(sqs, resources.create_room_ticks(sqs), application.admit_shoppers)
            real_now, ahead = instants.now, [timedelta(0)]
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(instants, "now", lambda: real_now() + ahead[0])
                shop.put_product(
                    "drop", shards=2, stock=20, waitingRoom={"ratePerSecond": 5, "passSeconds": 60}
                )
                shop.request("GET", "/products/drop/queue")
                ticket = shop.request("POST", "/products/drop/queue/join", {"userId": "erin"})
                shop.request("POST", "/products/drop/queue/join", {"userId": "erin"})
                ahead[0] = timedelta(seconds=3)  # past the start's settle window
                current = calls["admit_shoppers"]
                ticks.drain()
                current = calls["api_handler"]
                wiring.rooms()._cached.clear()  # what the next poll reads
                place = shop.request(
                    "GET", f"/products/drop/queue/me?ticket={ticket.json_body['ticket']}"
                ).json_body
                assert place["status"] == "ADMITTED", place
                bought = shop.order(
                    {
                        "userId": "erin",
                        "productId": "drop",
                        "quantity": 1,
                        "admissionPass": place["pass"],
                    }
                )
                assert bought.status_code == 201, bought.body
                shop.request("GET", "/products/drop/queue/entries?page=0")
                shop.request("GET", "/admin/rooms/drop")
                shop.request("PUT", "/admin/rooms/drop", {"ratePerSecond": 8})
            wiring.refusals().flush(force=True)
            resources.create_topic(boto3.client("sns"))
            queue = resources.create_mail(
                boto3.client("ses"), sqs, boto3.client("sns"), settings.load()
            )
            current = calls["notify_orders"]
            StreamPoller(
                dynamodb,
                boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
                shop.config.orders_table,
                application.notify_orders,
            ).drain()
            current = calls["send_emails"]
            QueuePoller(sqs, queue, application.send_emails).drain()
            assert mailed["email"] == "dana@example.com"
            current = calls["record_email_feedback"]
            bounce = {
                "eventType": "Bounce",
                "bounce": {
                    "bounceType": "Permanent",
                    "bouncedRecipients": [{"emailAddress": "dana@example.com"}],
                },
            }
            application.record_email_feedback(
                {"Records": [{"Sns": {"Message": json.dumps(bounce)}}]}, None
            )
            yield calls
        wiring.reset()


def stage_name(name: str, stage: str) -> str:
    return name.replace("flashsale-local-", f"flashsale-{stage}-")


def table_arn(name: str, stage: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{stage_name(name, stage)}"


def needs(call: Call, stage: str) -> set[Need]:
    """The (IAM action, resource ARN) pairs one recorded call requires."""
    service, operation, params = call
    if service == "ses" and operation == "SendEmail":
        domain = params["Source"].rsplit("@", 1)[1].rstrip(">")
        configuration = stage_name(params["ConfigurationSetName"], stage)
        return {
            ("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}"),
            ("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{configuration}"),
        }
    if service == "sns" and operation == "Publish":
        topic = params["TopicArn"].rsplit(":", 1)[1]
        return {
            ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:{stage_name(topic, stage)}"),
            # The topic is encrypted with the stage's key.
            ("kms:GenerateDataKey", KEY),
            ("kms:Decrypt", KEY),
        }
    if service == "sqs" and operation == "SendMessage":
        return {
            ("sqs:SendMessage", queue_arn(params["QueueUrl"], stage)),
            # The queues are encrypted with the stage's key.
            ("kms:GenerateDataKey", KEY),
            ("kms:Decrypt", KEY),
        }
    if operation == "TransactWriteItems":
        # IAM has no TransactWriteItems action: each item needs its own.
        return {
            (f"dynamodb:{kind}Item" if kind != "ConditionCheck" else "dynamodb:ConditionCheckItem",
             table_arn(spec["TableName"], stage))
            for item in params["TransactItems"]
            for kind, spec in item.items()
        }  # fmt: skip
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return {
            (f"dynamodb:{operation}", table_arn(table, stage)) for table in params["RequestItems"]
        }
    resource = table_arn(params["TableName"], stage)
    if "IndexName" in params:
        resource += f"/index/{params['IndexName']}"
    return {(f"dynamodb:{operation}", resource)}


def queue_arn(url: str, stage: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{stage_name(url.rsplit('/', 1)[1], stage)}"


def holds_queue(stage: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-holds"


def ticks_queue(stage: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-room-ticks"


def room_key_parameter(stage: str) -> str:
    """The signing key's SSM SecureString (infra/core/rooms.tf), as IAM names it."""
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/flashsale/{stage}/rooms/signing-key"


def stripe_parameters(stage: str) -> set[str]:
    """The SSM SecureStrings of infra/core/payments.tf, as IAM names them."""
    return {
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/flashsale/{stage}/stripe/{name}"
        for name in ("secret-key", "webhook-secret")
    }


def contract_needs(stage: str, function: str) -> set[Need]:
    """What docs/payments.md has the code do where this scenario, which has no
    Stripe to place a hold with, cannot record it: the API puts each hold's
    release message on the holds queue and reads Stripe's secrets; the
    notifier puts a check of each new hold it sees on the stream there; the
    release function is the holds queue's consumer, sends a long hold's message
    on again, releases in one transaction (the order, the stock items the units
    came from, the purchase count) and cancels the PaymentIntent (the secret
    key). The queue and the SecureStrings are under the stage's key: sending
    takes a data key, reading decrypts. The local stage signs waiting-room
    tickets and passes with a key from its environment: deployed, the API reads
    it from its SecureString (decrypted with the stage's key)."""
    secrets = {("ssm:GetParameter", arn) for arn in stripe_parameters(stage)}
    key = {("kms:GenerateDataKey", KEY), ("kms:Decrypt", KEY)}
    if function == "api_handler":
        room_key = {("ssm:GetParameter", room_key_parameter(stage))}
        return secrets | room_key | key | {("sqs:SendMessage", holds_queue(stage))}
    if function == "notify_orders":
        return key | {("sqs:SendMessage", holds_queue(stage))}
    if function == "release_holds":
        tables = ("flashsale-local-orders", "flashsale-local-products", "flashsale-local-purchases")
        return secrets | key | {
            (f"sqs:{action}", holds_queue(stage))
            for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "SendMessage")
        } | {
            (f"dynamodb:{action}", table_arn(table, stage))
            for action in ("GetItem", "UpdateItem") for table in tables
        }  # fmt: skip
    return set()


ENCRYPTED_QUEUES = ("holds",)  # infra/core/payments.tf: under the stage's key


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", STAGES)
def test_each_sender_to_an_encrypted_queue_needs_the_key_on_its_own(
    stage: str, function: str
) -> None:
    # Regression: the notifier's holds-queue sends needed the key only by way of
    # its dead-letter queue's (runtime_needs): without that, the policy's key
    # statement would have seemed unused.
    needed = contract_needs(stage, function)
    for queue in ENCRYPTED_QUEUES:
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-{queue}"
        if ("sqs:SendMessage", arn) in needed:
            assert {("kms:GenerateDataKey", KEY), ("kms:Decrypt", KEY)} <= needed, queue


def runtime_needs(stage: str, function: str) -> set[Need]:
    """What Lambda itself does with the function's role: logs and X-Ray, for the
    notifier its stream mapping and the mapping's on-failure destination, for the
    mailer and the admitter their queues, for the feedback handler its on-failure
    destination."""
    # Lambda logs to /aws/lambda/<function name>; the API function's is <app>-<stage>.
    name = stages.function_name(stage, function)
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}"
    common = {
        ("logs:CreateLogStream", f"{log_group}:log-stream:2026/11/27/[$LATEST]0a1b"),
        ("logs:PutLogEvents", f"{log_group}:log-stream:2026/11/27/[$LATEST]0a1b"),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }
    if function in ("api_handler", "release_holds"):
        return common
    if function == "record_email_feedback":
        # Lambda sends an event it gave up on to its on-failure destination
        # (encrypted with the stage's key) with the function's role.
        dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-email-feedback-dlq"
        return common | {
            ("sqs:SendMessage", dlq),
            ("kms:GenerateDataKey", KEY),
            ("kms:Decrypt", KEY),
        }
    if function in ("send_emails", "admit_shoppers"):
        # Its event source mapping reads its queue with the function's role.
        name = "mail" if function == "send_emails" else "room-ticks"
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-{name}"
        return common | {
            ("sqs:ReceiveMessage", queue),
            ("sqs:DeleteMessage", queue),
            ("sqs:GetQueueAttributes", queue),
            ("kms:Decrypt", KEY),
        }
    stream = table_arn("flashsale-local-orders", stage) + "/stream/2026-11-24T00:00:00.000"
    return common | {
        ("dynamodb:DescribeStream", stream),
        ("dynamodb:GetRecords", stream),
        ("dynamodb:GetShardIterator", stream),
        ("dynamodb:ListStreams", "*"),
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-notify-dlq"),
        # The dead-letter queue is encrypted with the stage's key.
        ("kms:GenerateDataKey", KEY),
        ("kms:Decrypt", KEY),
    }


def required(recorded: dict[str, list[Call]], stage: str, function: str) -> set[Need]:
    calls = recorded[function]
    return (
        set().union(*(needs(call, stage) for call in calls))
        | runtime_needs(stage, function)
        | contract_needs(stage, function)
    )


def function_config(stage: str, function: str) -> dict[str, Any]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage]["lambda_functions"][function]  # type: ignore[no-any-return]


def policy(stage: str, function: str) -> list[dict[str, Any]]:
    path = ROOT / ".chalice" / function_config(stage, function)["iam_policy_file"]
    document = json.loads(path.read_text())
    return [
        {**s, "Action": _list(s["Action"]), "Resource": _list(s["Resource"])}
        for s in document["Statement"]
    ]


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    return (
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in statement["Action"])
        and any(fnmatch.fnmatchcase(resource, r) for r in statement["Resource"])
    )


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM wildcard matching (conditions only narrow further; none is needed here)."""
    return any(_matches(s, action, resource) for s in statements)


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", STAGES)
def test_policy_allows_every_call_the_function_makes(
    stage: str, function: str, recorded: dict[str, list[Call]]
) -> None:
    operations = {(service, operation) for service, operation, _ in recorded[function]}
    # The scenario really covered each function's calls.
    covered = {
        "api_handler": {
            ("dynamodb", "BatchGetItem"),
            ("dynamodb", "TransactWriteItems"),
            ("dynamodb", "GetItem"),
            ("dynamodb", "Scan"),
            ("dynamodb", "Query"),
            ("dynamodb", "PutItem"),
            ("dynamodb", "UpdateItem"),
            ("sqs", "SendMessage"),
        },
        "notify_orders": {
            ("dynamodb", "GetItem"),
            ("dynamodb", "UpdateItem"),
            ("dynamodb", "TransactWriteItems"),
            ("sns", "Publish"),
        },
        "send_emails": {("dynamodb", "GetItem"), ("dynamodb", "UpdateItem"), ("ses", "SendEmail")},
        "record_email_feedback": {("dynamodb", "PutItem")},
        # No Stripe in this scenario to place a hold with: contract_needs stands in.
        "release_holds": set(),
        "admit_shoppers": {
            ("dynamodb", "UpdateItem"),
            ("dynamodb", "GetItem"),
            ("dynamodb", "BatchGetItem"),
            ("dynamodb", "Query"),
            ("dynamodb", "BatchWriteItem"),
            ("dynamodb", "PutItem"),
            ("sqs", "SendMessage"),
        },
    }
    assert covered[function] <= operations
    statements = policy(stage, function)
    denied = sorted(
        need for need in required(recorded, stage, function) if not allows(statements, *need)
    )
    assert denied == []


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_nothing_the_function_does_not_use(
    stage: str, function: str, recorded: dict[str, list[Call]]
) -> None:
    needed = required(recorded, stage, function)
    for statement in policy(stage, function):
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action}"
        if "*" in statement["Resource"]:
            assert set(statement["Action"]) <= RESOURCELESS, statement
        for resource in statement["Resource"]:
            # Every ARN names this stage's resources, never another stage's.
            # (SES identities are the shop's sending domain, set per deployment;
            # the stage's configuration set, also required, is named.)
            assert (
                resource in ("*", "arn:aws:ses:*:*:identity/*")
                or f"flashsale-{stage}" in resource
                or f":parameter/flashsale/{stage}/" in resource
                or ":key/" in resource
            )
        # Every action on every resource of the statement is something the code does.
        single = [{**statement, "Action": [a], "Resource": [r]}
                  for a in statement["Action"] for r in statement["Resource"]]  # fmt: skip
        unused = [
            (s["Action"][0], s["Resource"][0])
            for s in single
            if not any(_matches(s, action, resource) for action, resource in needed)
        ]
        assert unused == [], f"{function} is granted what it never uses: {unused}"


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_cannot_publish_nor_read_a_queue_and_the_notifier_cannot_write_the_catalog(
    stage: str,
) -> None:
    api = policy(stage, "api_handler")
    notifier = policy(stage, "notify_orders")
    for action in ("sns:Publish", "sqs:ReceiveMessage", "sqs:DeleteMessage", "ssm:PutParameter"):
        assert not any(
            any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s["Action"]) for s in api
        ), action
    # It sends to the holds and tick queues only: not the mail queue, nor any
    # dead-letter queue.
    assert allows(api, "sqs:SendMessage", holds_queue(stage))
    assert allows(api, "sqs:SendMessage", ticks_queue(stage))
    for queue in (
        "mail", "mail-dlq", "notify-dlq", "holds-dlq", "email-feedback-dlq", "room-ticks-dlq",
    ):  # fmt: skip
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-{stage}-{queue}"
        assert not allows(api, "sqs:SendMessage", arn), queue
    # Stripe's two parameters and the rooms' signing key, and no other of the
    # stage's (nor the other stage's).
    for arn in (*stripe_parameters(stage), room_key_parameter(stage)):
        assert allows(api, "ssm:GetParameter", arn)
    other = "prod" if stage == "dev" else "dev"
    for arn in (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/flashsale/{stage}/other",
        *stripe_parameters(other),
        room_key_parameter(other),
    ):
        assert not allows(api, "ssm:GetParameter", arn), arn
    products = table_arn("flashsale-local-products", stage)
    for action in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
        assert not allows(notifier, f"dynamodb:{action}", products)
        assert not allows(notifier, f"dynamodb:{action}", products + "#0")
    assert allows(api, "dynamodb:UpdateItem", products)  # the checks can fail


@pytest.mark.parametrize("stage", STAGES)
def test_stage_config_gives_each_function_its_policy_and_the_stage_names(stage: str) -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    assert "iam_policy_file" not in config  # no shared fallback policy
    for function in FUNCTIONS:
        assert function_config(stage, function)["iam_policy_file"] == (
            f"policy-{stage}-{POLICY_NAMES[function]}.json"
        )
    assert config["xray"] is True
    stage_settings = settings.load(config["environment_variables"])
    for table in (
        stage_settings.products_table,
        stage_settings.orders_table,
        stage_settings.purchases_table,
    ):
        assert table.startswith(f"flashsale-{stage}-")
    assert stage_settings.order_topic_arn.endswith(f":flashsale-{stage}-order-placed")
    # Waiting rooms: the stage's table and tick queue, and the signing key's
    # parameter name, never a key.
    assert stage_settings.rooms_table == f"flashsale-{stage}-rooms"
    assert stage_settings.rooms_queue_url.endswith(f"/flashsale-{stage}-room-ticks")
    assert stage_settings.room_signing_key is None
    assert stage_settings.room_signing_key_parameter == f"/flashsale/{stage}/rooms/signing-key"
    assert "ROOM_SIGNING_KEY" not in config["environment_variables"]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("stage", STAGES)
def test_every_key_permission_is_for_the_stage_s_data_key_only(stage: str, function: str) -> None:
    # The ARNs name any key (the key's id is Terraform's); the condition is what
    # narrows them to the stage's data key: the queues, the topic, the tables'
    # streams and the Stripe parameters are all under it.
    for statement in policy(stage, function):
        if any(action.startswith("kms:") for action in statement["Action"]):
            assert all(action.startswith("kms:") for action in statement["Action"]), statement
            assert statement["Condition"] == {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/flashsale-{stage}-data"}
            }, statement["Sid"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_release_function_releases_holds_and_nothing_else(stage: str) -> None:
    release = policy(stage, "release_holds")
    queue = holds_queue(stage)
    # The mapping reads the holds queue with this role; a long hold is sent on again.
    for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "SendMessage"):
        assert allows(release, f"sqs:{action}", queue)
    assert not allows(release, "sqs:SendMessage", f"{queue}-dlq")  # SQS's redrive, not ours
    for table in ("orders", "products", "purchases"):
        arn = table_arn(f"flashsale-local-{table}", stage)
        assert allows(release, "dynamodb:UpdateItem", arn)
        for action in ("PutItem", "DeleteItem", "Scan", "Query", "BatchWriteItem"):
            assert not allows(release, f"dynamodb:{action}", arn), (action, table)
    for service_action in ("sns:Publish", "ses:SendEmail", "ssm:PutParameter"):
        assert not any(
            any(fnmatch.fnmatchcase(service_action.lower(), a.lower()) for a in s["Action"])
            for s in release
        ), service_action
    name = stages.function_name(stage, "release_holds")
    assert name == f"flashsale-{stage}-release_holds"
    assert allows(
        release,
        "logs:PutLogEvents",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:log-stream:x",
    )


@pytest.mark.parametrize("stage", STAGES)
def test_the_admitter_ranks_and_admits_and_nothing_else(stage: str) -> None:
    admitter = policy(stage, "admit_shoppers")
    queue = ticks_queue(stage)
    # The mapping reads the tick queue with this role; each tick sends the next.
    for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "SendMessage"):
        assert allows(admitter, f"sqs:{action}", queue)
    assert not allows(admitter, "sqs:SendMessage", f"{queue}-dlq")  # SQS's redrive, not ours
    assert not allows(admitter, "sqs:SendMessage", holds_queue(stage))
    rooms = table_arn("flashsale-local-rooms", stage)
    for action in ("UpdateItem", "PutItem", "BatchWriteItem", "Query"):
        assert allows(admitter, f"dynamodb:{action}", rooms)
    assert allows(admitter, "dynamodb:Query", f"{rooms}/index/arrival-index")
    for action in ("DeleteItem", "Scan"):
        assert not allows(admitter, f"dynamodb:{action}", rooms)
    # It reads the stock and the room's settings, and writes no product.
    products = table_arn("flashsale-local-products", stage)
    assert allows(admitter, "dynamodb:GetItem", products)
    assert allows(admitter, "dynamodb:BatchGetItem", products)
    for action in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "Scan", "Query"):
        assert not allows(admitter, f"dynamodb:{action}", products), action
    for table in ("orders", "purchases", "sales-stats", "suppressions"):
        assert not any(
            allows(admitter, action, table_arn(f"flashsale-local-{table}", stage))
            for action in ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem")
        ), table
    # It signs nothing (the API hands out tickets and passes): no key to read.
    for service_action in ("sns:Publish", "ses:SendEmail", "ssm:GetParameter"):
        assert not any(
            any(fnmatch.fnmatchcase(service_action.lower(), a.lower()) for a in s["Action"])
            for s in admitter
        ), service_action
    name = stages.function_name(stage, "admit_shoppers")
    assert name == f"flashsale-{stage}-admit_shoppers"
    assert allows(
        admitter,
        "logs:PutLogEvents",
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}:log-stream:x",
    )
