"""The deploy rehearsal's read-back checks (deploy/rehearsal.py) name what differs
from the project; `make deploy-rehearsal` runs them against a real deploy."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from deploy import rehearsal

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:flashsale-dev"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"
POOL = "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_x"


def dev() -> tuple[dict[str, Any], dict[str, str]]:
    return rehearsal.stage_config(ROOT, "dev")


def deployed_config(settings: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    wanted = settings["lambda_functions"]["notify_orders"]
    return {
        "FunctionName": "flashsale-dev-notify_orders",
        "Runtime": "python3.13",
        "Handler": "app.notify_orders",
        "MemorySize": wanted["lambda_memory_size"],
        "Timeout": wanted["lambda_timeout"],
        "Environment": {"Variables": dict(env)},
        "TracingConfig": {"Mode": "Active"},
    }


def test_a_function_as_configured_passes_and_each_difference_is_named() -> None:
    settings, env = dev()
    good = deployed_config(settings, env)
    concurrency = settings["lambda_functions"]["notify_orders"]["reserved_concurrency"]
    check = rehearsal.check_function
    assert check("dev", "notify_orders", settings, env, good, concurrency) == []
    bad = copy.deepcopy(good)
    bad["MemorySize"] = 1024
    bad["Runtime"] = "python3.12"
    del bad["Environment"]["Variables"]["ORDERS_TABLE"]
    problems = check("dev", "notify_orders", settings, env, bad, None)
    assert [p.split(": ")[1].split(" ")[0] for p in problems] == [
        "Runtime", "MemorySize", "Environment", "ReservedConcurrency",
    ]  # fmt: skip


def role_args(document: dict[str, Any], log_group: str) -> list[Any]:
    trust = {
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"Service": "lambda.amazonaws.com"}}]
    }  # fmt: skip
    expected = json.loads((ROOT / ".chalice" / "policy-dev-api.json").read_text())
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{log_group}"
    return ["dev", "api_handler", "flashsale-dev-api_handler", trust,
            {"flashsale-dev-api_handler": document}, "policy-dev-api.json", expected, arn]  # fmt: skip


def test_a_role_must_carry_its_policy_file_and_let_the_function_log() -> None:
    policy = json.loads((ROOT / ".chalice" / "policy-dev-api.json").read_text())
    assert rehearsal.check_role(*role_args(policy, "/aws/lambda/flashsale-dev")) == []
    changed = copy.deepcopy(policy)
    changed["Statement"].pop()
    (problem,) = rehearsal.check_role(*role_args(changed, "/aws/lambda/flashsale-dev"))
    assert "differs from policy-dev-api.json" in problem
    # The policy files once named the API's log group after its role: the
    # function, flashsale-dev, logs elsewhere.
    problems = rehearsal.check_role(*role_args(policy, "/aws/lambda/flashsale-dev-api_handler"))
    assert len(problems) == 2 and all("logs would be lost" in p for p in problems)


def routes() -> dict[str, Any]:
    return {
        "binaryTypes": [],
        "routes": [
            {"path": "/health", "method": "GET", "apiKeyRequired": True, "cors": True,
             "authorizer": None, "authType": None},
            {"path": "/orders", "method": "POST", "apiKeyRequired": True, "cors": True,
             "authorizer": "Shoppers", "authType": "cognito_user_pools"},
        ],
    }  # fmt: skip


def method(auth: str, key: bool, kind: str, authorizer: str | None = None) -> dict[str, Any]:
    return {
        "authorizationType": auth,
        "authorizerId": authorizer,
        "apiKeyRequired": key,
        "methodIntegration": {"type": kind, "uri": URI if kind == "AWS_PROXY" else None},
    }


def api() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    options = method("NONE", False, "MOCK")
    resources = [
        {"path": "/"},
        {"path": "/health", "resourceMethods": {
            "GET": method("NONE", True, "AWS_PROXY"), "OPTIONS": options}},
        {"path": "/orders", "resourceMethods": {
            "POST": method("COGNITO_USER_POOLS", True, "AWS_PROXY", "a1"), "OPTIONS": options}},
    ]  # fmt: skip
    authorizers = [{"id": "a1", "name": "Shoppers", "type": "COGNITO_USER_POOLS",
                    "providerARNs": [POOL]}]  # fmt: skip
    return resources, authorizers


def test_the_api_must_hold_every_route_as_app_py_declares_it() -> None:
    resources, authorizers = api()
    assert rehearsal.check_api("dev", routes(), resources, authorizers, URI, [POOL]) == []
    resources[2]["resourceMethods"]["POST"]["apiKeyRequired"] = False
    resources[2]["resourceMethods"]["POST"]["authorizationType"] = "NONE"
    resources[1]["resourceMethods"]["DELETE"] = method("NONE", True, "AWS_PROXY")
    del resources[1]["resourceMethods"]["OPTIONS"]
    problems = rehearsal.check_api("dev", routes(), resources, authorizers, URI, ["other"])
    assert problems == [
        "dev API: OPTIONS /health is missing",
        "dev API: DELETE /health is not a route of app.py",
        "dev API: POST /orders authorizationType is 'NONE', app.py wants 'COGNITO_USER_POOLS'",
        "dev API: POST /orders apiKeyRequired is False, app.py wants True",
        f"dev API: authorizer Shoppers trusts {[POOL]}, the stage's COGNITO_USER_POOL_ARN "
        "is ['other']",
    ]


def test_a_known_problem_is_reported_and_one_that_went_away_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None is known today: the API's log group retention, the last one, is
    # infra/core's aws_cloudwatch_log_group.api now.
    assert rehearsal.KNOWN == {}
    monkeypatch.setattr(
        rehearsal, "KNOWN", {r"^dev flashsale-dev: log group retention \[\]$": "no group"}
    )
    seen = ["dev flashsale-dev: log group retention []", "dev flashsale-dev: Timeout is 3"]
    assert rehearsal.known(seen, ["dev"]) == ["dev flashsale-dev: Timeout is 3"]
    (gone,) = rehearsal.known([], ["dev"])
    assert gone.startswith("a known problem no longer shows")


def test_the_rehearsal_reads_back_every_function_the_stage_configures() -> None:
    # Derived from .chalice/config.json, so a new function is checked without a
    # list here to keep up: the release function and its role included.
    for stage in ("dev", "prod"):
        settings, _ = rehearsal.stage_config(ROOT, stage)
        functions = rehearsal.functions_of(settings)
        assert functions == sorted(settings["lambda_functions"])
        assert {"api_handler", "notify_orders", "send_emails", "record_email_feedback",
                "release_holds"} <= set(functions)  # fmt: skip
