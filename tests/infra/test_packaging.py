"""`chalice package` builds every deployed stage offline, under Lambda's python3.13
(Chalice takes the runtime from the interpreter that runs it), as CI's deploy would.

Only the SAM format: Chalice 1.34's Terraform format rejects the log groups that
`log_retention_in_days` adds (UnsupportedFeatureError), and the deploy uses
`chalice deploy`, which creates them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# `make lambda-venv` builds it from requirements.txt and the pinned chalice.
CHALICE = ROOT / "build" / "lambda-py313" / "bin" / "chalice"
RUNTIME = "python3.13"
STAGES = ("dev", "prod")
FUNCTIONS = {
    "APIHandler": "api_handler",
    "NotifyOrders": "notify_orders",
    "SendEmails": "send_emails",
    "RecordEmailFeedback": "record_email_feedback",
    "ReleaseHolds": "release_holds",
    "AdmitShoppers": "admit_shoppers",
}

# Slow (seconds a test) and built by `make test`: `make check` leaves these out.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHALICE.exists(),
        reason="no python3.13 packaging venv: install python3.13 and run `make lambda-venv` "
        "(or PY313=/path/to/python3.13 make test)",
    ),
]


def package(stage: str, out: Path, *options: str) -> None:
    # Dummy credentials: packaging talks to no AWS service.
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "packaging",
        "AWS_SECRET_ACCESS_KEY": "packaging",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run(
        [str(CHALICE), "package", "--stage", stage, *options, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def stage_config(stage: str) -> dict[str, Any]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][stage]  # type: ignore[no-any-return]


def function_config(stage: str, function: str) -> dict[str, Any]:
    return stage_config(stage)["lambda_functions"][function]  # type: ignore[no-any-return]


def policy_file(stage: str, function: str) -> Any:
    name = function_config(stage, function)["iam_policy_file"]
    return json.loads((ROOT / ".chalice" / name).read_text())


@pytest.fixture(scope="module", params=STAGES)
def sam(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp(f"sam-{request.param}")
    package(request.param, out)
    assert (out / "deployment.zip").stat().st_size > 0
    return request.param, json.loads((out / "sam.json").read_text())["Resources"]


def test_functions_run_python313_with_their_own_role_and_policy(sam: Any) -> None:
    stage, resources = sam
    roles = set()
    for resource, function in FUNCTIONS.items():
        properties = resources[resource]["Properties"]
        assert properties["Runtime"] == RUNTIME
        assert properties["Tracing"] == "Active"
        variables = properties["Environment"]["Variables"]
        assert variables["ORDERS_TABLE"] == f"flashsale-{stage}-orders"
        role = properties["Role"]["Fn::GetAtt"][0]
        roles.add(role)
        (policy,) = resources[role]["Properties"]["Policies"]
        assert policy["PolicyDocument"] == policy_file(stage, function)
    assert len(roles) == len(FUNCTIONS)  # one role per function, none shared


def test_timeouts_memory_concurrency_and_log_retention(sam: Any) -> None:
    stage, resources = sam
    api = resources["APIHandler"]["Properties"]
    notify = resources["NotifyOrders"]["Properties"]
    # API Gateway gives up after 29 s: the function must answer (or fail) first.
    assert api["Timeout"] == function_config(stage, "api_handler")["lambda_timeout"] < 29
    assert "ReservedConcurrentExecutions" not in api  # never cap the sale itself
    assert notify["Timeout"] == function_config(stage, "notify_orders")["lambda_timeout"]
    expected = function_config(stage, "notify_orders")["reserved_concurrency"]
    assert notify["ReservedConcurrentExecutions"] == expected > 0
    retention = stage_config(stage)["log_retention_in_days"]
    groups = {
        r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"]["RetentionInDays"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    assert groups == {
        "/aws/lambda/${ApiHandler}": retention,
        "/aws/lambda/${NotifyOrders}": retention,
        "/aws/lambda/${SendEmails}": retention,
        "/aws/lambda/${RecordEmailFeedback}": retention,
        "/aws/lambda/${ReleaseHolds}": retention,
        "/aws/lambda/${AdmitShoppers}": retention,
    }
    # The mailer's queue hides a message 6x the function's timeout (infra/app).
    mail = resources["SendEmails"]["Properties"]
    assert mail["Timeout"] == function_config(stage, "send_emails")["lambda_timeout"] <= 60
    # So does the holds queue for the release function (infra/core/payments.tf).
    release = resources["ReleaseHolds"]["Properties"]
    assert release["Timeout"] == function_config(stage, "release_holds")["lambda_timeout"] <= 60
    assert release["MemorySize"] == function_config(stage, "release_holds")["lambda_memory_size"]
    # And the tick queue for the waiting rooms' admitter (infra/core/rooms.tf).
    admit = resources["AdmitShoppers"]["Properties"]
    assert admit["Timeout"] == function_config(stage, "admit_shoppers")["lambda_timeout"] <= 60


def test_regional_api_with_stage_authorizers_and_no_stream_event(sam: Any) -> None:
    _, resources = sam
    api = resources["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == "REGIONAL"  # CloudFront is our own edge
    # The stream's event source mapping is Terraform's (infra/app), not Chalice's.
    for function in (
        "NotifyOrders",
        "SendEmails",
        "RecordEmailFeedback",
        "ReleaseHolds",
        "AdmitShoppers",
    ):
        assert "Events" not in resources[function]["Properties"]
    # Shopper routes need a Cognito token of the stage's pool; PUT /products needs SigV4.
    swagger = api["DefinitionBody"]
    pools = swagger["securityDefinitions"]["FlashSaleShoppers"]["x-amazon-apigateway-authorizer"]
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert pools["providerARNs"] == [variables["COGNITO_USER_POOL_ARN"]]
    assert swagger["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    paths = swagger["paths"]
    # Every route wants the API key CloudFront adds: execute-api is not a way in.
    assert swagger["securityDefinitions"]["api_key"] == {
        "type": "apiKey",
        "name": "x-api-key",
        "in": "header",
    }
    methods = [(path, m, spec) for path, ms in paths.items() for m, spec in ms.items()]
    unkeyed = [(path, m) for path, m, spec in methods
               if m != "options" and {"api_key": []} not in spec.get("security", [])]  # fmt: skip
    assert len(methods) > 10 and unkeyed == []
    assert {"FlashSaleShoppers": []} in paths["/orders"]["post"]["security"]
    assert {"FlashSaleShoppers": []} in paths["/users/{userId}/orders"]["get"]["security"]
    assert {"sigv4": []} in paths["/products/{productId}"]["put"]["security"]
