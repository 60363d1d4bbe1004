"""Every Terraform argument and block in infra/ exists in the pinned AWS provider
(infra/provider_schema.py, against @cdktf/provider-aws); the check itself can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import provider_schema

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = "5.100.0"

# Needs the npm package `make test` installs: `make check` leaves these out.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (provider_schema.PACKAGE / "package.json").exists(),
        reason="no provider schema package: run `make provider-schema` (make test does)",
    ),
]


def test_the_package_is_the_release_generated_from_the_pinned_provider() -> None:
    lock = json.loads((ROOT / "infra" / "provider-schema" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@cdktf/provider-aws"]["version"] == "20.1.0"
    assert provider_schema.provider_version() == PROVIDER


def test_every_module_uses_only_names_the_provider_has() -> None:
    files = sorted((ROOT / "infra").glob("*/*.tf"))
    assert {f.parent.name for f in files} >= {"core", "app", "edge"}
    assert provider_schema.check(files) == []


GOOD = """
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }
}
provider "aws" {
  region = "us-east-1"
  alias  = "edge"
}
resource "aws_dynamodb_table" "t" {
  name         = "t"
  billing_mode = "PAY_PER_REQUEST"
  for_each     = {}
  attribute {
    name = "k"
    type = "S"
  }
  point_in_time_recovery {
    enabled = true
  }
  dynamic "global_secondary_index" {
    for_each = {}
    content {
      name            = global_secondary_index.key
      hash_key        = "k"
      projection_type = "ALL"
    }
  }
  lifecycle {
    prevent_destroy = true
  }
}
data "aws_sqs_queue" "q" {
  name = "q"
}
resource "aws_wafv2_web_acl" "w" {
  name  = "w"
  scope = "CLOUDFRONT"
  default_action {
    allow {}
  }
  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "w"
    sampled_requests_enabled   = true
  }
  rule {
    name     = "r"
    priority = 1
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = 100
        aggregate_key_type = "IP"
        scope_down_statement {
          byte_match_statement {
            search_string         = "/api/orders"
            positional_constraint = "STARTS_WITH"
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "r"
      sampled_requests_enabled   = true
    }
  }
}
"""


@pytest.mark.parametrize(
    ("good", "bad", "error"),
    [
        (
            'billing_mode = "PAY_PER_REQUEST"',
            'billing_mod = "PAY_PER_REQUEST"',
            "no argument 'billing_mod'",
        ),
        (
            "point_in_time_recovery {",
            "point_in_time_recoveri {",
            "no block 'point_in_time_recoveri'",
        ),
        ('    name = "k"', '    nme = "k"', "attribute: the provider has no argument 'nme'"),
        (
            'resource "aws_dynamodb_table"',
            'resource "aws_dynamodb_tabel"',
            "no resource type 'aws_dynamodb_tabel'",
        ),
        (
            'data "aws_sqs_queue" "q" {\n  name = "q"',
            'data "aws_sqs_queue" "q" {\n  nmae = "q"',
            "no argument 'nmae'",
        ),
        (
            '  region = "us-east-1"',
            '  regoin = "us-east-1"',
            "provider aws: the provider has no argument 'regoin'",
        ),
        (
            'aggregate_key_type = "IP"',
            'aggregate_key = "IP"',
            "rate_based_statement: the provider has no argument 'aggregate_key'",
        ),
        ("uri_path {}", "url_path {}", "field_to_match: the provider has no block 'url_path'"),
        ('version = "= 5.100.0"', 'version = "~> 5.0"', 'pin the AWS provider to "= 5.100.0"'),
        (
            'dynamic "global_secondary_index"',
            'dynamic "global_index"',
            "no block 'global_index' (dynamic)",
        ),
        (
            'projection_type = "ALL"',
            'projection = "ALL"',
            "global_secondary_index: the provider has no argument 'projection'",
        ),
    ],
)
def test_a_name_the_provider_does_not_have_is_reported(
    tmp_path: Path, good: str, bad: str, error: str
) -> None:
    module = tmp_path / "module"
    module.mkdir()
    path = module / "main.tf"
    path.write_text(GOOD)
    assert provider_schema.check([path]) == []  # the good file passes...
    assert good in GOOD
    path.write_text(GOOD.replace(good, bad, 1))
    errors = provider_schema.check([path])
    assert len(errors) == 1 and error in errors[0], errors  # ...and each mistake is caught
