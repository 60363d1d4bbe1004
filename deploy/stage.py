"""A stage's names and settings, as the deploy and the operator tools see them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"
APP_NAME = "flashsale"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def function_name(stage: str, function: str) -> str:
    """The Lambda function name Chalice gives `function` in `stage`: the API
    handler is plain <app>-<stage> (Chalice keeps its old deployer's name)."""
    if function == "api_handler":
        return f"{APP_NAME}-{stage}"
    return f"{APP_NAME}-{stage}-{function}"


def notify_dlq_name(stage: str) -> str:
    """The notifier's dead-letter queue (infra/core: ${local.name}-notify-dlq)."""
    return f"{APP_NAME}-{stage}-notify-dlq"


def config_environment(stage: str) -> dict[str, str]:
    """The environment variables .chalice/config.json gives `stage`."""
    config = json.loads(CONFIG.read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def use_emulator(endpoint: str) -> None:
    """Point every boto3 client of this process at the emulator, with fake credentials."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint


def client(service: str, **options: Any) -> Any:
    """A boto3 client from the environment's credentials and endpoint."""
    return boto3.session.Session().client(service, **options)
