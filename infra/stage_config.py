"""Copy the core Terraform outputs into a Chalice stage's environment variables.

terraform -chdir=infra/core output -json | python infra/stage_config.py prod
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
# Chalice environment variable <- Terraform output
MAPPING = {
    "PRODUCTS_TABLE": "products_table",
    "ORDERS_TABLE": "orders_table",
    "PURCHASES_TABLE": "purchases_table",
    "ORDERS_BY_USER_INDEX": "orders_by_user_index",
    "ORDERS_BY_PRODUCT_INDEX": "orders_by_product_index",
    "SALES_STATS_TABLE": "sales_stats_table",
    "ORDER_TOPIC_ARN": "order_topic_arn",
    "COGNITO_USER_POOL_ARN": "user_pool_arn",
    "SUPPRESSIONS_TABLE": "suppressions_table",
    "SES_CONFIGURATION_SET": "ses_configuration_set",
    "MAIL_SENDER": "mail_sender",
    # One place for the mailer's pace and the mail queue mapping's concurrency
    # (infra/app takes the same output): together they stay under SES's rate.
    "SES_MAX_SEND_RATE": "ses_max_send_rate",
    "MAILER_MAX_CONCURRENCY": "mailer_max_concurrency",
    # Checkout (docs/payments.md): the holds queue, and the names of the SSM
    # parameters holding Stripe's secrets (never their values).
    "HOLDS_QUEUE_URL": "holds_queue_url",
    "STRIPE_SECRET_KEY_PARAMETER": "stripe_secret_key_parameter",
    "STRIPE_WEBHOOK_SECRET_PARAMETER": "stripe_webhook_secret_parameter",
    "STRIPE_PUBLISHABLE_KEY": "stripe_publishable_key",
    "CHECKOUT_DEFAULT": "checkout_default",
    "CURRENCY_DEFAULT": "currency_default",
    # Waiting rooms (docs/waiting-room.md): the table, the admitter's tick queue,
    # and the name of the SSM parameter holding the signing key (never its value).
    "ROOMS_TABLE": "rooms_table",
    "ROOMS_QUEUE_URL": "rooms_queue_url",
    "ROOM_SIGNING_KEY_PARAMETER": "room_signing_key_parameter",
}


def apply(config: dict[str, Any], stage: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """The config with `stage`'s variables taken from `terraform output -json`."""
    missing = sorted(name for name in MAPPING.values() if name not in outputs)
    if missing:
        raise SystemExit(f"terraform outputs missing: {', '.join(missing)}")
    if stage not in config["stages"]:
        raise SystemExit(f"no stage {stage!r} in .chalice/config.json")
    variables = config["stages"][stage].setdefault("environment_variables", {})
    for variable, output in MAPPING.items():
        variables[variable] = str(outputs[output]["value"])
    return config


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    config = apply(json.loads(CONFIG.read_text()), sys.argv[1], json.load(sys.stdin))
    CONFIG.write_text(json.dumps(config, indent=2) + "\n")
    print(f"updated {CONFIG.name} stage {sys.argv[1]}")


if __name__ == "__main__":
    main()
