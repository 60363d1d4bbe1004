"""X-Ray through the Powertools Tracer: on in Lambda, with a subsegment per
invocation and per DynamoDB and SNS call; inert (not even imported) elsewhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import app as application
from chalicelib import observability

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({}, False),  # tests, benches, scripts
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_only_inside_lambda(env: dict[str, str], enabled: bool) -> None:
    assert observability.tracing_enabled(env) is enabled


def test_locally_the_app_has_no_tracer_and_never_imports_the_xray_sdk() -> None:
    assert observability.trace_handlers() is None
    assert not any(
        isinstance(m, observability.LazyTracing) for m in application.app.middleware_handlers
    )
    env = {k: v for k, v in os.environ.items() if k != "LAMBDA_TASK_ROOT"}
    probe = "import sys, app; print('aws_xray_sdk' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# Runs in a fresh interpreter with Lambda's variables: the app, its handlers and
# clients as a container has them, AWS emulated in-process, segments sent to a
# UDP port of ours as they would be to the X-Ray daemon.
LAMBDA_SCENARIO = r"""
import json, os
import boto3
from moto import mock_aws

with mock_aws():
    from chalicelib import settings
    from local import resources
    import app

    assert app.observability.trace_handlers() is not None
    dynamodb = boto3.client("dynamodb")
    resources.create_tables(dynamodb, settings.load())
    resources.create_topic(boto3.client("sns"))

    class Context:
        aws_request_id = "r-1"
        function_name = "flashsale-prod-notify_orders"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:x"
        def get_remaining_time_in_millis(self):
            return 10000

    event = {
        "resource": "/products", "path": "/products", "httpMethod": "GET",
        "headers": {}, "multiValueHeaders": {}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": None,
        "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/products", "httpMethod": "GET",
                           "path": "/api/products", "requestId": "r-1"},
    }
    assert app.app(event, Context())["statusCode"] == 200

    item = {
        "orderId": {"S": "o-1"}, "userId": {"S": "alice"}, "productId": {"S": "p1"},
        "productName": {"S": "Headphones"}, "quantity": {"N": "1"},
        "unitPrice": {"N": "79.99"}, "totalAmount": {"N": "79.99"},
        "status": {"S": "CONFIRMED"}, "createdAt": {"S": "2026-11-27T00:00:01.000Z"},
    }
    dynamodb.put_item(TableName=settings.load().orders_table, Item=item)
    record = {
        "eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
        "eventVersion": "1.1", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:111122223333:table/t/stream/s",
        "dynamodb": {"ApproximateCreationDateTime": 1795737601.0, "SizeBytes": 300,
                     "Keys": {"orderId": item["orderId"]}, "NewImage": item,
                     "SequenceNumber": "100", "StreamViewType": "NEW_IMAGE"},
    }
    assert app.notify_orders({"Records": [record]}, Context()) == {"batchItemFailures": []}
print("done")
"""


def subsegments(datagrams: list[bytes]) -> list[dict[str, Any]]:
    """Every (sub)segment document the X-Ray SDK sent, nested ones included."""
    found: list[dict[str, Any]] = []

    def walk(document: dict[str, Any]) -> None:
        found.append(document)
        for child in document.get("subsegments", []):
            walk(child)

    for datagram in datagrams:
        _header, _, body = datagram.decode().partition("\n")
        walk(json.loads(body))
    return found


def test_in_lambda_every_invocation_and_aws_call_is_a_subsegment() -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.settimeout(0.5)
    port = daemon.getsockname()[1]
    env = {
        **os.environ,
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "flashsale-prod-api_handler",
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
        "_X_AMZN_TRACE_ID": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1",
        "POWERTOOLS_SERVICE_NAME": "flashsale",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    try:
        result = subprocess.run(
            [sys.executable, "-c", LAMBDA_SCENARIO],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        datagrams = []
        while True:
            try:
                datagrams.append(daemon.recv(65536))
            except TimeoutError:
                break
    finally:
        daemon.close()

    documents = subsegments(datagrams)
    names = {d.get("name") for d in documents}
    # One subsegment per invocation, named after the route or the function...
    assert {"## GET /products", "## flashsale-prod-notify_orders"} <= names, names
    # ...and one per AWS call, with the operation: the catalog scan, the
    # notifier's read, publish and mark.
    calls = {
        (d["name"], d.get("aws", {}).get("operation"))
        for d in documents
        if d.get("namespace") == "aws"
    }
    assert {("dynamodb", "Scan"), ("dynamodb", "GetItem"), ("sns", "Publish"),
            ("dynamodb", "UpdateItem")} <= calls, calls  # fmt: skip
    # Responses (shoppers' orders) never go into a trace.
    assert not any("response" in json.dumps(d.get("metadata", {})) for d in documents)
