"""`chalice package` builds every deployed stage offline, as CI's deploy would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHALICE = str(Path(sys.executable).with_name("chalice"))


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
        [CHALICE, "package", "--stage", stage, *options, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_sam_package_has_both_functions_with_the_stage_policy(stage: str, tmp_path: Path) -> None:
    package(stage, tmp_path)
    template = json.loads((tmp_path / "sam.json").read_text())
    resources = template["Resources"]
    api, notify = resources["APIHandler"]["Properties"], resources["NotifyOrders"]["Properties"]
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    for function in (api, notify):
        assert function["Tracing"] == "Active"
        assert function["Environment"]["Variables"]["ORDERS_TABLE"] == f"flashsale-{stage}-orders"
    roles = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert roles and all(r["Policies"][0]["PolicyDocument"] == policy for r in roles)
    # The stream's event source mapping is Terraform's (infra/app), not Chalice's.
    assert "Events" not in notify
    assert (tmp_path / "deployment.zip").stat().st_size > 0

    # Shopper routes need a Cognito token of the stage's pool; PUT /products needs SigV4.
    swagger = resources["RestAPI"]["Properties"]["DefinitionBody"]
    pools = swagger["securityDefinitions"]["FlashSaleShoppers"]["x-amazon-apigateway-authorizer"]
    variables = api["Environment"]["Variables"]
    assert pools["providerARNs"] == [variables["COGNITO_USER_POOL_ARN"]]
    assert swagger["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    paths = swagger["paths"]
    assert paths["/orders"]["post"]["security"] == [{"FlashSaleShoppers": []}]
    assert paths["/users/{userId}/orders"]["get"]["security"] == [{"FlashSaleShoppers": []}]
    assert paths["/products/{productId}"]["put"]["security"] == [{"sigv4": []}]
    assert "security" not in paths["/products"]["get"]


def test_terraform_package_builds(tmp_path: Path) -> None:
    package("prod", tmp_path, "--pkg-format", "terraform")
    template = json.loads((tmp_path / "chalice.tf.json").read_text())
    functions = template["resource"]["aws_lambda_function"]
    assert {"api_handler", "notify_orders"} <= set(functions)
