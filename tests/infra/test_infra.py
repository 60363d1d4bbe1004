"""The Terraform in infra/, read with python-hcl2: what it must guarantee."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

import app as application
from chalicelib import errors, settings, wiring
from deploy import stage
from infra import stage_config
from local import resources

INFRA = Path(__file__).resolve().parents[2] / "infra"


def _clean(value: Any) -> Any:
    """hcl2 keeps HCL's quotes and block markers; tests want plain values."""
    if isinstance(value, dict):
        return {
            _clean(k): _clean(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__")
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load(module: str) -> dict[str, Any]:
    """Every block of a Terraform root module, merged by kind, type and name."""
    merged: dict[str, Any] = {
        "resource": {},
        "data": {},
        "output": {},
        "variable": {},
        "locals": {},
    }
    for path in sorted((INFRA / module).glob("*.tf")):
        with path.open() as handle:
            parsed = _clean(hcl2.load(handle))
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    merged[kind].setdefault(type_, {}).update(named)
        for kind in ("output", "variable", "locals"):
            for block in parsed.get(kind, []):
                merged[kind].update(block)
    return merged


@pytest.fixture(scope="module")
def core() -> dict[str, Any]:
    return load("core")


@pytest.fixture(scope="module")
def edge() -> dict[str, Any]:
    return load("edge")


def test_every_table_is_on_demand_recoverable_and_encrypted(core: dict[str, Any]) -> None:
    tables = core["resource"]["aws_dynamodb_table"]
    # One Terraform table for each table the code uses (local/resources.py).
    assert set(tables) == {spec["TableName"].rsplit("-", 1)[1] for spec in _local_specs()}
    assert set(tables) == {"products", "orders", "purchases", "stats", "suppressions", "rooms"}
    for table in tables.values():
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["point_in_time_recovery"] == [{"enabled": True}]
        assert table["server_side_encryption"][0]["enabled"] is True
        assert table["server_side_encryption"][0]["kms_key_arn"] == "${aws_kms_key.data.arn}"
        assert table["deletion_protection_enabled"] is True
    assert core["resource"]["aws_kms_key"]["data"]["enable_key_rotation"] is True


def test_tables_have_the_keys_the_code_uses(core: dict[str, Any]) -> None:
    """Terraform and the emulator's tables (local/resources.py) must agree."""
    tables = core["resource"]["aws_dynamodb_table"]
    specs = {spec["TableName"].rsplit("-", 1)[1]: spec for spec in _local_specs()}
    for name, table in tables.items():
        spec = specs[name]
        keys = {k["KeyType"]: k["AttributeName"] for k in spec["KeySchema"]}
        assert table["hash_key"] == keys["HASH"]
        assert table.get("range_key") == keys.get("RANGE")
        attributes = {(a["name"], a["type"]) for a in table["attribute"]}
        assert attributes == {
            (a["AttributeName"], a["AttributeType"]) for a in spec["AttributeDefinitions"]
        }
    (arrivals,) = tables["rooms"]["local_secondary_index"]
    (local_arrivals,) = specs["rooms"]["LocalSecondaryIndexes"]
    assert (arrivals["name"], arrivals["range_key"], arrivals["projection_type"]) == (
        local_arrivals["IndexName"],
        local_arrivals["KeySchema"][1]["AttributeName"],
        local_arrivals["Projection"]["ProjectionType"],
    )
    indexes = tables["orders"]["global_secondary_index"]
    local_indexes = specs["orders"]["GlobalSecondaryIndexes"]
    assert core["output"]["orders_by_user_index"]["value"] == "${local.orders_index}"
    assert core["output"]["orders_by_product_index"]["value"] == "${local.orders_by_product_index}"
    assert [
        (index["hash_key"], index["range_key"], index["projection_type"]) for index in indexes
    ] == [
        (
            local["KeySchema"][0]["AttributeName"],
            local["KeySchema"][1]["AttributeName"],
            local["Projection"]["ProjectionType"],
        )
        for local in local_indexes
    ]


def _local_specs() -> list[dict[str, Any]]:
    return resources.table_specs(settings.load({}))


def test_orders_stream_feeds_notifications_and_counters_expire(core: dict[str, Any]) -> None:
    tables = core["resource"]["aws_dynamodb_table"]
    assert tables["orders"]["stream_enabled"] is True
    assert tables["orders"]["stream_view_type"] == "NEW_IMAGE"
    assert tables["purchases"]["ttl"] == [{"attribute_name": "expiresAt", "enabled": True}]


def test_topic_is_encrypted_with_an_email_subscription(core: dict[str, Any]) -> None:
    topic = core["resource"]["aws_sns_topic"]["order_placed"]
    assert topic["kms_master_key_id"] == "${aws_kms_key.data.arn}"
    subscription = core["resource"]["aws_sns_topic_subscription"]["order_email"]
    assert subscription["protocol"] == "email"
    assert subscription["endpoint"] == "${var.notification_email}"
    # Optional, off by default: one sale's rate would get it disabled by SNS.
    assert subscription["count"] == '${var.notification_email == "" ? 0 : 1}'
    assert core["variable"]["notification_email"]["default"] == ""
    assert core["resource"]["aws_sqs_queue"]["notify_dlq"]["kms_master_key_id"]


def test_the_console_s_operators_are_a_cognito_group(core: dict[str, Any]) -> None:
    from chalicelib import identity

    group = core["resource"]["aws_cognito_user_group"]["admins"]
    assert group["name"] == identity.ADMINS_GROUP
    assert group["user_pool_id"] == "${aws_cognito_user_pool.shoppers.id}"


@pytest.mark.parametrize(
    ("uri", "served"),
    [("/admin", "/index.html"), ("/admin/sales/lamp.v2", "/index.html"), ("/admin/new", "/index.html"),
     ("/assets/app.js", "/assets/app.js"), ("/administrator", "/administrator"), ("/", "/")],
)  # fmt: skip
def test_the_routing_function_rewrites_console_pages_only(uri: str, served: str) -> None:
    code = (INFRA / "edge" / "spa_routes.js").read_text()
    script = f"{code}\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);"
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert result.stdout == served


def test_console_pages_are_served_the_app(edge: dict[str, Any]) -> None:
    function = edge["resource"]["aws_cloudfront_function"]["spa_routes"]
    assert function["runtime"] == "cloudfront-js-2.0"
    code = (INFRA / "edge" / "spa_routes.js").read_text()
    assert "/admin" in code and "/index.html" in code
    behaviour = edge["resource"]["aws_cloudfront_distribution"]["shop"]["default_cache_behavior"][0]
    (association,) = behaviour["function_association"]
    assert association == {
        "event_type": "viewer-request",
        "function_arn": "${aws_cloudfront_function.spa_routes.arn}",
    }


def test_outputs_feed_every_stage_variable(core: dict[str, Any]) -> None:
    assert set(stage_config.MAPPING.values()) <= set(core["output"])


def test_stage_config_copies_outputs_into_the_stage() -> None:
    config = {"stages": {"prod": {"environment_variables": {"MAX_ORDER_QUANTITY": "100"}}}}
    outputs = {name: {"value": f"value-of-{name}"} for name in stage_config.MAPPING.values()}
    variables = stage_config.apply(config, "prod", outputs)["stages"]["prod"][
        "environment_variables"
    ]
    assert variables["ORDERS_TABLE"] == "value-of-orders_table"
    assert variables["MAX_ORDER_QUANTITY"] == "100"
    with pytest.raises(SystemExit):
        stage_config.apply(config, "prod", {})


def test_ui_bucket_is_private_versioned_encrypted(edge: dict[str, Any]) -> None:
    res = edge["resource"]
    block = res["aws_s3_bucket_public_access_block"]["ui"]
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[setting] is True
    assert res["aws_s3_bucket_versioning"]["ui"]["versioning_configuration"] == [
        {"status": "Enabled"}
    ]
    rule = res["aws_s3_bucket_server_side_encryption_configuration"]["ui"]["rule"][0]
    assert rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"] in (
        "AES256",
        "aws:kms",
    )


def test_only_the_distribution_may_read_the_bucket(edge: dict[str, Any]) -> None:
    policy = edge["resource"]["aws_s3_bucket_policy"]["ui"]["policy"]
    # jsonencode({...}) arrives as an interpolated expression string.
    assert "cloudfront.amazonaws.com" in policy
    assert "AWS:SourceArn" in policy and "aws_cloudfront_distribution.shop.arn" in policy
    assert '"*"' not in policy.split("HttpsOnly")[0]  # no public principal before the deny
    oac = edge["resource"]["aws_cloudfront_origin_access_control"]["ui"]
    assert (oac["origin_access_control_origin_type"], oac["signing_behavior"]) == ("s3", "always")


def test_cloudfront_is_https_only_and_caches_only_the_catalog(edge: dict[str, Any]) -> None:
    distribution = edge["resource"]["aws_cloudfront_distribution"]["shop"]
    origins = {o["origin_id"]: o for o in distribution["origin"]}
    assert origins["${local.ui_origin}"]["origin_access_control_id"].startswith(
        "${aws_cloudfront_origin_access_control.ui"
    )
    assert (
        origins["${local.api_origin}"]["custom_origin_config"][0]["origin_protocol_policy"]
        == "https-only"
    )
    behaviors = [distribution["default_cache_behavior"][0], *distribution["ordered_cache_behavior"]]
    assert all(
        b["viewer_protocol_policy"] in ("https-only", "redirect-to-https") for b in behaviors
    )

    by_path = {b["path_pattern"]: b for b in distribution["ordered_cache_behavior"]}
    catalog = by_path["/${var.api_stage_name}/products"]
    assert catalog["cache_policy_id"] == "${aws_cloudfront_cache_policy.catalog.id}"
    assert "POST" not in catalog["allowed_methods"]
    policy = edge["resource"]["aws_cloudfront_cache_policy"]["catalog"]
    assert (policy["min_ttl"], policy["default_ttl"], policy["max_ttl"]) == (1, 1, 1)

    api = by_path["/${var.api_stage_name}/*"]
    assert api["cache_policy_id"] == "${data.aws_cloudfront_cache_policy.disabled.id}"
    assert (
        edge["data"]["aws_cloudfront_cache_policy"]["disabled"]["name"] == "Managed-CachingDisabled"
    )
    assert "POST" in api["allowed_methods"]
    # The catalog behaviour must come first: CloudFront takes the first match.
    patterns = [b["path_pattern"] for b in distribution["ordered_cache_behavior"]]
    assert patterns.index(catalog["path_pattern"]) < patterns.index(api["path_pattern"])


def test_api_stage_is_throttled(edge: dict[str, Any]) -> None:
    settings_block = edge["resource"]["aws_api_gateway_method_settings"]["throttling"]
    assert settings_block["method_path"] == "*/*"
    limits = settings_block["settings"][0]
    assert limits["throttling_rate_limit"] == "${var.throttle_rate_limit}"
    assert limits["throttling_burst_limit"] == "${var.throttle_burst_limit}"
    assert edge["variable"]["throttle_rate_limit"]["default"] > 0


def test_shoppers_sign_in_with_a_public_pkce_client(
    core: dict[str, Any], edge: dict[str, Any]
) -> None:
    pool = core["resource"]["aws_cognito_user_pool"]["shoppers"]
    assert pool["password_policy"][0]["minimum_length"] >= 12
    assert core["output"]["user_pool_arn"]["value"] == "${aws_cognito_user_pool.shoppers.arn}"
    client = edge["resource"]["aws_cognito_user_pool_client"]["shop_web"]
    assert client["generate_secret"] is False
    assert client["allowed_oauth_flows"] == ["code"]
    assert client["callback_urls"] == ["https://${aws_cloudfront_distribution.shop.domain_name}/"]
    assert set(edge["output"]) >= {"cognito_domain", "web_client_id"}


@pytest.fixture(scope="module")
def app_module() -> dict[str, Any]:
    return load("app")


def test_stream_mapping_reports_item_failures_with_bounded_retries_and_a_dlq(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    mapping = app_module["resource"]["aws_lambda_event_source_mapping"]["notify_orders"]
    # Every setting comes from the one file the local poller also plays.
    settings_file = json.loads((INFRA / "app" / "notify_mapping.json").read_text())
    for name in settings_file:
        assert mapping[name] == f"${{local.notify_mapping.{name}}}"
    assert settings_file["function_response_types"] == ["ReportBatchItemFailures"]
    assert 0 < settings_file["maximum_retry_attempts"] <= 20  # -1 would retry for 24 hours
    assert settings_file["bisect_batch_on_function_error"] is True
    assert 0 < settings_file["maximum_record_age_in_seconds"] <= 86400
    assert settings_file["starting_position"] == "TRIM_HORIZON"
    # The filters come from the one file the local poller applies too, at most
    # Lambda's default quota of five, each on the `dynamodb` key only.
    assert app_module["locals"]["notify_filters"] == (
        '${jsondecode(file("${path.module}/notify_filters.json"))}'
    )
    assert mapping["filter_criteria"] == [
        {
            "dynamic": [
                {
                    "filter": {
                        "for_each": "${local.notify_filters}",
                        "content": [{"pattern": "${jsonencode(filter.value)}"}],
                    }
                }
            ]
        }
    ]
    filters = json.loads((INFRA / "app" / "notify_filters.json").read_text())
    assert 0 < len(filters) <= 5
    assert all(set(pattern) <= {"eventName", "dynamodb"} for pattern in filters)
    assert mapping["destination_config"] == [
        {"on_failure": [{"destination_arn": "${data.aws_sqs_queue.notify_dlq.arn}"}]}
    ]
    assert mapping["event_source_arn"] == "${data.aws_dynamodb_table.orders.stream_arn}"
    # The names the app module looks up are the ones core and Chalice create.
    data = app_module["data"]
    assert data["aws_sqs_queue"]["notify_dlq"]["name"] == "${local.name}-notify-dlq"
    assert core["resource"]["aws_sqs_queue"]["notify_dlq"]["name"] == "${local.name}-notify-dlq"
    assert stage.notify_dlq_name("prod") == "flashsale-prod-notify-dlq"
    assert data["aws_lambda_function"]["notify_orders"]["function_name"] == (
        "${local.name}-notify_orders"
    )
    assert stage.function_name("prod", "notify_orders") == "flashsale-prod-notify_orders"
    assert data["aws_dynamodb_table"]["orders"]["name"] == "${local.name}-orders"


def test_the_notifier_has_no_chalice_event_source() -> None:
    # Chalice would create (and on every redeploy re-create) its own mapping.
    notifier = application.app.handler_map["notify_orders"]
    assert [s for s in application.app.event_sources if s.name == "notify_orders"] == []
    assert callable(notifier)


# What API Gateway itself must answer, in the contract's shape (issue 11).
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND"),  # unknown route or method
    "UNAUTHORIZED": ("401", "UNAUTHORIZED"),
    "ACCESS_DENIED": ("403", "FORBIDDEN"),
    "INVALID_API_KEY": ("403", "FORBIDDEN"),
    "THROTTLED": ("429", "BUSY"),
    "REQUEST_TOO_LARGE": ("413", "INVALID_REQUEST"),
    "INTEGRATION_TIMEOUT": ("504", "BUSY"),
    "DEFAULT_4XX": (None, "INVALID_REQUEST"),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR"),
}


def test_gateway_answers_its_own_errors_in_the_contract_shape(edge: dict[str, Any]) -> None:
    responses = json.loads((INFRA / "edge" / "gateway_responses.json").read_text())
    for response_type, (status, code) in GATEWAY_ERRORS.items():
        answer = responses[response_type]
        assert (answer["status"], answer["code"]) == (status, code), response_type
        assert answer["message"].strip()
    # Whatever else is listed maps to a code the contract knows.
    assert {a["code"] for a in responses.values()} <= {
        "NOT_FOUND", "UNAUTHORIZED", "FORBIDDEN", "BUSY", "INVALID_REQUEST", "INTERNAL_ERROR"
    }  # fmt: skip
    assert responses["THROTTLED"]["retry_after"] == "1"
    # One resource per listed type, each answering JSON {"code","message"} with CORS.
    resource = edge["resource"]["aws_api_gateway_gateway_response"]["contract"]
    assert resource["for_each"] == "${local.gateway_responses}"
    assert resource["response_type"] == "${each.key}"
    assert resource["status_code"] == "${each.value.status}"
    assert resource["response_templates"] == {
        "application/json": "${jsonencode({code = each.value.code, message = each.value.message})}"
    }
    parameters = resource["response_parameters"]
    assert '"gatewayresponse.header.Access-Control-Allow-Origin" = "\'*\'"' in parameters
    assert '"gatewayresponse.header.Content-Type" = "\'application/json\'"' in parameters
    assert '"gatewayresponse.header.Retry-After" = "\'${each.value.retry_after}\'"' in parameters
    assert resource["rest_api_id"] == "${var.rest_api_id}"


def test_only_cloudfront_holds_the_api_key(edge: dict[str, Any]) -> None:
    res = edge["resource"]
    plan = res["aws_api_gateway_usage_plan"]["cloudfront"]
    assert plan["api_stages"] == [
        {"api_id": "${var.rest_api_id}", "stage": "${var.api_stage_name}"}
    ]
    key = res["aws_api_gateway_usage_plan_key"]["cloudfront"]
    assert key["key_id"] == "${aws_api_gateway_api_key.cloudfront.id}"
    assert key["usage_plan_id"] == "${aws_api_gateway_usage_plan.cloudfront.id}"
    distribution = res["aws_cloudfront_distribution"]["shop"]
    origins = {o["origin_id"]: o for o in distribution["origin"]}
    assert origins["${local.api_origin}"]["custom_header"] == [
        {"name": "x-api-key", "value": "${aws_api_gateway_api_key.cloudfront.value}"}
    ]
    assert "custom_header" not in origins["${local.ui_origin}"]
    # A viewer's own x-api-key is dropped before the origin request.
    policy = res["aws_cloudfront_origin_request_policy"]["api"]
    headers = policy["headers_config"][0]
    assert headers["header_behavior"] == "allExcept"
    assert set(headers["headers"][0]["items"]) == {"host", "x-api-key"}
    by_path = {b["path_pattern"]: b for b in distribution["ordered_cache_behavior"]}
    assert by_path["/${var.api_stage_name}/*"]["origin_request_policy_id"] == (
        "${aws_cloudfront_origin_request_policy.api.id}"
    )
    # The catalog behaviour forwards no viewer headers at all (its cache policy has none).
    catalog = by_path["/${var.api_stage_name}/products"]
    assert "origin_request_policy_id" not in catalog
    assert edge["resource"]["aws_cloudfront_cache_policy"]["catalog"][
        "parameters_in_cache_key_and_forwarded_to_origin"
    ][0]["headers_config"] == [{"header_behavior": "none"}]


def _render(template: str, variables: dict[str, str]) -> str:
    """Terraform's templatefile for a template that only interpolates ${name}."""
    return re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], template)


ALARMS = {
    "api_5xx": "AWS/ApiGateway",
    "api_latency": "AWS/ApiGateway",
    "busy_rate": None,
    "function_errors": "AWS/Lambda",
    "api_throttles": "AWS/Lambda",
    "stream_iterator_age": "AWS/Lambda",
    "dlq_depth": "AWS/SQS",
    "mail_dlq_depth": "AWS/SQS",
    "feedback_dlq_depth": "AWS/SQS",
    "mail_late": "AWS/SQS",
    "ses_bounce_rate": "AWS/SES",
    "ses_complaint_rate": "AWS/SES",
    "late_refunds": "FlashSale",
    "holds_dlq_depth": "AWS/SQS",
    "room_ticks_dlq_depth": "AWS/SQS",
    "room_ticks_late": None,
}


def test_alarms_wake_the_ops_topic(core: dict[str, Any], app_module: dict[str, Any]) -> None:
    alarms = app_module["resource"]["aws_cloudwatch_metric_alarm"]
    assert set(alarms) == set(ALARMS)
    assert app_module["data"]["aws_sns_topic"]["ops"]["name"] == "${local.name}-ops"
    for name, namespace in ALARMS.items():
        alarm = alarms[name]
        assert alarm["alarm_actions"] == "${local.alarm_actions}", name
        assert alarm["ok_actions"] == "${local.alarm_actions}", name
        assert alarm["treat_missing_data"] == "notBreaching", name  # idle is not an outage
        if namespace:
            assert alarm["namespace"] == namespace
    assert alarms["function_errors"]["for_each"] == {
        "api": "${local.api_function}",
        "notifier": "${local.notify_function}",
        "mailer": "${local.mailer_function}",
        "feedback": "${local.feedback_function}",
        "release": "${local.release_function}",
        "rooms": "${local.admit_function}",
    }
    assert alarms["dlq_depth"]["threshold"] == 0
    assert alarms["stream_iterator_age"]["metric_name"] == "IteratorAge"
    # The ops topic: encrypted with the stage's key, which lets CloudWatch publish.
    topic = core["resource"]["aws_sns_topic"]["ops"]
    assert topic["kms_master_key_id"] == "${aws_kms_key.data.arn}"
    assert (
        core["resource"]["aws_sns_topic_subscription"]["ops_email"]["endpoint"]
        == "${var.ops_email}"
    )
    assert "cloudwatch.amazonaws.com" in core["resource"]["aws_kms_key"]["data"]["policy"]


def test_busy_alarm_counts_every_rejection_the_api_reports(app_module: dict[str, Any]) -> None:
    alarm = app_module["resource"]["aws_cloudwatch_metric_alarm"]["busy_rate"]
    queries = {q["id"]: q for q in alarm["metric_query"]}
    assert queries["busy_rate"]["return_data"] is True
    (dynamic,) = alarm["dynamic"]
    reasons = set(dynamic["metric_query"]["for_each"].values()) | {"BUSY"}
    # Every domain error an order can be rejected with has its series in the sum.
    codes = {cls.code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.FlashSaleError)}  # fmt: skip
    # Errors of other routes than POST /orders: not reasons an order is refused.
    order_codes = codes - {
        "INTERNAL_ERROR",
        "ORDER_NOT_FOUND",
        "UNSUPPORTED_MEDIA_TYPE",
        "NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "ORDER_NOT_CANCELLABLE",
        # Paying and Stripe's webhook (docs/payments.md): not refusals of an order.
        "INVALID_SIGNATURE",
        "PAYMENT_FAILED",
        "HOLD_EXPIRED",
        "ORDER_NOT_PAYABLE",
        # The waiting room's: a shopper without a pass was never in the race, and
        # its refusals show on the room's own metrics (docs/waiting-room.md).
        "ADMISSION_REQUIRED",
        "PASS_EXPIRED",
    }
    assert order_codes <= reasons, order_codes - reasons
    for key in dynamic["metric_query"]["for_each"]:
        assert f"FILL({key}, 0)" in queries["rejected"]["expression"]


def test_dashboard_shows_every_signal_of_a_sale(app_module: dict[str, Any]) -> None:
    dashboard = app_module["resource"]["aws_cloudwatch_dashboard"]["sale"]
    call = dashboard["dashboard_body"]
    assert call.startswith('${templatefile("${path.module}/dashboard.json.tftpl"')
    template = (INFRA / "app" / "dashboard.json.tftpl").read_text()
    wanted = set(re.findall(r"\$\{(\w+)\}", template))
    given = set(re.findall(r"(\w+)\s*=", call.split("{", 2)[2]))
    assert wanted == given, (wanted - given, given - wanted)
    body = json.loads(_render(template, {name: f"<{name}>" for name in wanted}))
    text = json.dumps(body)
    for signal in (
        '"OrdersPlaced"', 'MetricName=\\"OrdersRejected\\"', "100 * FILL(busy, 0)",
        '"p99"', '"4XXError"', '"5XXError"', '"Errors"', '"Throttles"',
        '"ConcurrentExecutions"', "ThrottledRequests", '"TransactionConflict"',
        '"IteratorAge"', '"ApproximateNumberOfMessagesVisible"', '"BlockedRequests"',
        '"ApproximateAgeOfOldestMessage"', '"<mail_queue>"', '"<mail_dlq>"', '"<mailer_function>"',
        '"AWS/SES", "Send"', '"AWS/SES", "Delivery"', '"Reputation.BounceRate"',
        '"Reputation.ComplaintRate"', '"<room_ticks>"', '"<room_ticks_dlq>"', '"<admit_function>"',
        '"ApproximateNumberOfMessagesDelayed"',
    ):  # fmt: skip
        assert signal in text, signal
    assert all(w["type"] == "metric" and w["properties"]["metrics"] for w in body["widgets"])


def test_waf_limits_each_address_and_tighter_on_buying(edge: dict[str, Any]) -> None:
    acl = edge["resource"]["aws_wafv2_web_acl"]["shop"]
    assert acl["scope"] == "CLOUDFRONT"
    assert acl["provider"] == "${aws.us_east_1}"
    distribution = edge["resource"]["aws_cloudfront_distribution"]["shop"]
    assert distribution["web_acl_id"] == "${aws_wafv2_web_acl.shop.arn}"
    rules = {r["name"]: r for r in acl["rule"]}
    orders = rules["orders-per-ip"]["statement"][0]["rate_based_statement"][0]
    everything = rules["requests-per-ip"]["statement"][0]["rate_based_statement"][0]
    assert orders["aggregate_key_type"] == everything["aggregate_key_type"] == "IP"
    variables = edge["variable"]
    per_minute_orders = variables["waf_orders_per_ip"]["default"] / (
        orders["evaluation_window_sec"] / 60
    )
    per_minute_all = variables["waf_requests_per_ip"]["default"] / (
        everything["evaluation_window_sec"] / 60
    )
    assert per_minute_orders < per_minute_all / 5
    scope = orders["scope_down_statement"][0]["and_statement"][0]["statement"]
    matches = {s["byte_match_statement"][0]["search_string"] for s in scope}
    assert matches == {"${local.orders_path}", "POST"}
    assert edge["locals"]["orders_path"] == "/${var.api_stage_name}/orders"  # CloudFront's path
    # Our blocks answer the contract's JSON.
    bodies = {b["key"]: b for b in acl["custom_response_body"]}
    for key, code in (("busy", "BUSY"), ("forbidden", "FORBIDDEN")):
        assert bodies[key]["content_type"] == "APPLICATION_JSON"
        assert (
            f'code = "{code}"' in bodies[key]["content"] and "message = " in bodies[key]["content"]
        )
    for name in ("orders-per-ip", "requests-per-ip"):
        response = rules[name]["action"][0]["block"][0]["custom_response"][0]
        assert (response["response_code"], response["custom_response_body_key"]) == (429, "busy")
    managed = {
        r["statement"][0]["managed_rule_group_statement"][0]["name"]
        for r in acl["rule"] if "managed_rule_group_statement" in r["statement"][0]
    }  # fmt: skip
    assert managed == {
        "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesBotControlRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
    }  # fmt: skip
    priorities = [r["priority"] for r in acl["rule"]]
    assert len(set(priorities)) == len(priorities)
    logging = edge["resource"]["aws_wafv2_web_acl_logging_configuration"]["shop"]
    assert logging["redacted_fields"] == [{"single_header": [{"name": "authorization"}]}]


def test_cognito_sends_its_codes_through_ses(core: dict[str, Any]) -> None:
    pool = core["resource"]["aws_cognito_user_pool"]["shoppers"]
    (email,) = pool["email_configuration"]
    assert email["email_sending_account"] == "DEVELOPER"
    assert email["source_arn"] == "${aws_sesv2_email_identity.sender.arn}"
    assert email["from_email_address"] == "${var.email_from}"
    identity = core["resource"]["aws_sesv2_email_identity"]["sender"]
    assert identity["email_identity"] == "${var.email_identity}"


def test_the_smoke_client_signs_in_only_with_aws_credentials(core: dict[str, Any]) -> None:
    client = core["resource"]["aws_cognito_user_pool_client"]["smoke"]
    assert client["explicit_auth_flows"] == [
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    ]
    assert client["generate_secret"] is False
    assert "allowed_oauth_flows" not in client
    assert core["output"]["smoke_client_id"]["value"] == "${aws_cognito_user_pool_client.smoke.id}"


# --- Shopper emails (issue 12) ---------------------------------------------------

CHALICE_CONFIG = json.loads((INFRA.parent / ".chalice" / "config.json").read_text())
DEPLOYED_STAGES = ("dev", "prod")


def _named(expression: str, stage: str) -> str:
    """A Terraform name built on local.name, as the stage gets it."""
    return expression.replace("${local.name}", f"flashsale-{stage}")


def test_mail_resources_have_the_names_the_code_and_the_local_stack_use(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    queues = core["resource"]["aws_sqs_queue"]
    # The emulator's queues (local/resources.py) follow the deployed pattern.
    assert _named(queues["mail"]["name"], "local") == resources.MAIL_QUEUE
    assert _named(queues["mail_dlq"]["name"], "local") == resources.MAIL_DLQ
    # The app module finds what core and Chalice create.
    data = app_module["data"]
    assert data["aws_sqs_queue"]["mail"]["name"] == queues["mail"]["name"]
    assert app_module["locals"]["mail_dlq_name"] == queues["mail_dlq"]["name"]
    feedback_topic = core["resource"]["aws_sns_topic"]["email_feedback"]
    assert data["aws_sns_topic"]["email_feedback"]["name"] == feedback_topic["name"]
    for function in ("send_emails", "record_email_feedback"):
        assert data["aws_lambda_function"][function]["function_name"] == (
            f"${{local.name}}-{function}"
        )
        assert stage.function_name("prod", function) == f"flashsale-prod-{function}"
    # The names the settings default to locally, and each deployed stage's
    # committed values (which the policies name), are Terraform's.
    configuration_set = core["resource"]["aws_sesv2_configuration_set"]["mail"]
    suppressions = core["resource"]["aws_dynamodb_table"]["suppressions"]
    local = settings.load({})
    assert _named(configuration_set["configuration_set_name"], "local") == (
        local.ses_configuration_set
    )
    assert _named(suppressions["name"], "local") == local.suppressions_table
    for name in DEPLOYED_STAGES:
        env = CHALICE_CONFIG["stages"][name]["environment_variables"]
        assert env["SES_CONFIGURATION_SET"] == _named(
            configuration_set["configuration_set_name"], name
        )
        assert env["SUPPRESSIONS_TABLE"] == _named(suppressions["name"], name)
    assert core["output"]["ses_configuration_set"]["value"] == (
        "${aws_sesv2_configuration_set.mail.configuration_set_name}"
    )
    assert core["output"]["suppressions_table"]["value"] == (
        "${aws_dynamodb_table.suppressions.name}"
    )


def test_mail_queue_outlasts_a_mailer_run_and_dead_letters_after_bounded_tries(
    core: dict[str, Any],
) -> None:
    queues = core["resource"]["aws_sqs_queue"]
    mail, dlq = queues["mail"], queues["mail_dlq"]
    # Six times the mailer's Lambda timeout, read from .chalice/config.json.
    assert mail["visibility_timeout_seconds"] == "${local.mailer_timeout * 6}"
    chalice = core["locals"]["chalice"]
    assert chalice == '${jsondecode(file("${path.module}/../../.chalice/config.json"))}'
    assert (INFRA / "core" / "../../.chalice/config.json").resolve() == (
        INFRA.parent / ".chalice" / "config.json"
    )
    assert core["locals"]["mailer_timeout"] == (
        "${local.chalice.stages[var.stage].lambda_functions.send_emails.lambda_timeout}"
    )
    for name in DEPLOYED_STAGES:
        timeout = CHALICE_CONFIG["stages"][name]["lambda_functions"]["send_emails"]
        assert 6 * timeout["lambda_timeout"] <= 43200  # SQS's longest visibility timeout
    # Bounded redeliveries, as many as the local stack's queue allows, then the DLQ.
    assert mail["redrive_policy"] == (
        "${jsonencode({deadLetterTargetArn = aws_sqs_queue.mail_dlq.arn, "
        "maxReceiveCount = local.mail_max_receives})}"
    )
    assert core["locals"]["mail_max_receives"] == resources.MAIL_MAX_RECEIVES
    # The DLQ keeps a message longer than the queue (its age counts from the
    # first enqueue): 14 days, SQS's longest.
    assert dlq["message_retention_seconds"] == 1209600 > mail["message_retention_seconds"]
    for queue in (mail, dlq):
        assert queue["kms_master_key_id"] == "${aws_kms_key.data.arn}"


def test_the_orders_topic_feeds_the_mail_queue_raw(core: dict[str, Any]) -> None:
    subscription = core["resource"]["aws_sns_topic_subscription"]["mail_queue"]
    assert subscription["topic_arn"] == "${aws_sns_topic.order_placed.arn}"
    assert subscription["protocol"] == "sqs"
    assert subscription["endpoint"] == "${aws_sqs_queue.mail.arn}"
    assert subscription["raw_message_delivery"] is True
    assert subscription["depends_on"] == ["${aws_sqs_queue_policy.mail}"]
    # Only that topic may send to the queue; SNS may use the data key for it.
    policy = core["resource"]["aws_sqs_queue_policy"]["mail"]
    assert policy["queue_url"] == "${aws_sqs_queue.mail.id}"
    assert 'Principal = {Service = "sns.amazonaws.com"}' in policy["policy"]
    assert 'Action = "sqs:SendMessage"' in policy["policy"]
    assert '{ArnEquals = {"aws:SourceArn" = aws_sns_topic.order_placed.arn}}' in policy["policy"]
    assert '"*"' not in policy["policy"]
    assert 'Service = "sns.amazonaws.com"' in core["resource"]["aws_kms_key"]["data"]["policy"]


def test_mail_mapping_reports_item_failures_and_caps_the_senders(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    import inspect

    from local.mail import QueuePoller

    mapping = app_module["resource"]["aws_lambda_event_source_mapping"]["send_emails"]
    assert mapping["event_source_arn"] == "${data.aws_sqs_queue.mail.arn}"
    assert mapping["function_name"] == "${data.aws_lambda_function.send_emails.arn}"
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    # The local stack's poller plays the same batch.
    poller = inspect.signature(QueuePoller).parameters
    assert mapping["batch_size"] == poller["batch_size"].default == 10
    assert 0 <= mapping["maximum_batching_window_in_seconds"] <= 5
    # The mapping's concurrency and the mailer's pace come from one core variable:
    # core outputs it, the stage config writes it for the function, and the
    # workflow hands the same output to this module (which has no default).
    assert mapping["scaling_config"] == [{"maximum_concurrency": "${var.mailer_max_concurrency}"}]
    assert "default" not in app_module["variable"]["mailer_max_concurrency"]
    assert core["output"]["mailer_max_concurrency"]["value"] == "${var.mailer_max_concurrency}"
    assert stage_config.MAPPING["MAILER_MAX_CONCURRENCY"] == "mailer_max_concurrency"
    assert stage_config.MAPPING["SES_MAX_SEND_RATE"] == "ses_max_send_rate"
    workflow = (INFRA.parent / ".github" / "workflows" / "deploy.yml").read_text()
    app_step = workflow.split("working-directory: infra/app")[1].split("- name:")[0]
    handed = 'TF_VAR_mailer_max_concurrency="$(jq -r .mailer_max_concurrency.value'
    # Before anything in the step evaluates the module (the import needs it too).
    assert app_step.index(handed) < app_step.index("terraform init")
    assert "export TF_VAR_mailer_max_concurrency" in app_step
    # Committed stage values (overwritten by each deploy) match the defaults.
    variables = core["variable"]
    concurrency = variables["mailer_max_concurrency"]["default"]
    rate = variables["ses_max_send_rate"]["default"]
    assert concurrency >= 2  # AWS's lowest maximum concurrency
    # Terraform warns when a container's share is more than one can send.
    with (INFRA / "core" / "mail.tf").open() as handle:
        (check,) = _clean(hcl2.load(handle))["check"]
    (share,) = check["mailer_share_is_reachable"]["assert"]
    assert share["condition"] == "${var.ses_max_send_rate / var.mailer_max_concurrency <= 10}"
    assert rate / concurrency <= 10
    defaults = settings.load({})
    assert (defaults.mailer_max_concurrency, defaults.ses_max_send_rate) == (concurrency, rate)
    for name in DEPLOYED_STAGES:
        env = CHALICE_CONFIG["stages"][name]["environment_variables"]
        assert int(env["MAILER_MAX_CONCURRENCY"]) == concurrency
        assert float(env["SES_MAX_SEND_RATE"]) == rate
    # Chalice must not make mappings of its own for these functions.
    chalice_sources = {source.name for source in application.app.event_sources}
    assert chalice_sources.isdisjoint({"send_emails", "record_email_feedback"})


def test_stage_config_writes_the_mail_settings_the_mailer_reads() -> None:
    config: dict[str, Any] = {"stages": {"prod": {}}}
    outputs = {name: {"value": f"value-of-{name}"} for name in stage_config.MAPPING.values()}
    outputs |= {
        "ses_max_send_rate": {"value": 28},
        "mailer_max_concurrency": {"value": 4},
        "mail_sender": {"value": "FlashSale <orders@shop.example>"},
    }
    env = stage_config.apply(config, "prod", outputs)["stages"]["prod"]["environment_variables"]
    loaded = settings.load(env)
    assert loaded.ses_max_send_rate == 28.0 and loaded.mailer_max_concurrency == 4
    assert loaded.mail_sender == "FlashSale <orders@shop.example>"
    assert loaded.suppressions_table == "value-of-suppressions_table"
    assert loaded.ses_configuration_set == "value-of-ses_configuration_set"


def test_configuration_set_suppresses_and_reports_bounces_and_complaints(
    core: dict[str, Any],
) -> None:
    res = core["resource"]
    configuration_set = res["aws_sesv2_configuration_set"]["mail"]
    assert configuration_set["suppression_options"] == [
        {"suppressed_reasons": ["BOUNCE", "COMPLAINT"]}
    ]
    assert configuration_set["reputation_options"] == [{"reputation_metrics_enabled": True}]
    assert configuration_set["sending_options"] == [{"sending_enabled": True}]
    destination = res["aws_sesv2_configuration_set_event_destination"]["feedback"]
    assert destination["configuration_set_name"] == (
        "${aws_sesv2_configuration_set.mail.configuration_set_name}"
    )
    (event,) = destination["event_destination"]
    assert event["enabled"] is True
    assert {"BOUNCE", "COMPLAINT"} <= set(event["matching_event_types"])
    assert event["sns_destination"] == [{"topic_arn": "${aws_sns_topic.email_feedback.arn}"}]
    assert destination["depends_on"] == ["${aws_sns_topic_policy.email_feedback}"]
    # The feedback topic: encrypted, and SES of this account (only) may publish,
    # with the data key.
    topic = res["aws_sns_topic"]["email_feedback"]
    assert topic["name"] == "${local.name}-email-feedback"
    assert topic["kms_master_key_id"] == "${aws_kms_key.data.arn}"
    policy = res["aws_sns_topic_policy"]["email_feedback"]["policy"]
    assert 'Principal = {Service = "ses.amazonaws.com"}' in policy
    assert 'Action = "sns:Publish"' in policy
    assert '"AWS:SourceAccount" = data.aws_caller_identity.current.account_id' in policy
    key_policy = res["aws_kms_key"]["data"]["policy"]
    ses_statement = key_policy.split('Sid = "SesPublishesEncryptedFeedback"')[1].split("}, {")[0]
    assert 'Service = "ses.amazonaws.com"' in ses_statement
    assert '"aws:SourceAccount" = data.aws_caller_identity.current.account_id' in ses_statement


def test_the_feedback_topic_invokes_the_feedback_function(app_module: dict[str, Any]) -> None:
    res = app_module["resource"]
    permission = res["aws_lambda_permission"]["email_feedback"]
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["principal"] == "sns.amazonaws.com"
    assert permission["source_arn"] == "${data.aws_sns_topic.email_feedback.arn}"
    assert permission["function_name"] == (
        "${data.aws_lambda_function.record_email_feedback.function_name}"
    )
    subscription = res["aws_sns_topic_subscription"]["email_feedback"]
    assert subscription["protocol"] == "lambda"
    assert subscription["topic_arn"] == "${data.aws_sns_topic.email_feedback.arn}"
    assert subscription["endpoint"] == "${data.aws_lambda_function.record_email_feedback.arn}"
    assert subscription["depends_on"] == ["${aws_lambda_permission.email_feedback}"]


def test_mail_alarms_watch_the_dlq_the_backlog_the_reputation_and_the_functions(
    app_module: dict[str, Any],
) -> None:
    alarms = app_module["resource"]["aws_cloudwatch_metric_alarm"]
    dlq = alarms["mail_dlq_depth"]
    assert (dlq["metric_name"], dlq["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
    assert dlq["dimensions"] == {"QueueName": "${local.mail_dlq_name}"}
    late = alarms["mail_late"]
    assert late["metric_name"] == "ApproximateAgeOfOldestMessage"
    assert late["dimensions"] == {"QueueName": "${local.mail_queue_name}"}
    assert late["threshold"] == "${var.mail_late_alarm_seconds}"
    assert app_module["locals"]["mail_queue_name"] == "${data.aws_sqs_queue.mail.name}"
    variables = app_module["variable"]
    for name, metric, review in (
        ("ses_bounce_rate", "Reputation.BounceRate", 0.05),
        ("ses_complaint_rate", "Reputation.ComplaintRate", 0.001),
    ):
        alarm = alarms[name]
        assert alarm["metric_name"] == metric
        assert "dimensions" not in alarm  # the account's rate, which SES acts on
        assert alarm["threshold"] == f"${{var.{name}_alarm}}"
        # Below the rate at which SES puts the account under review.
        assert 0 < variables[f"{name}_alarm"]["default"] < review
    assert app_module["locals"]["mailer_function"] == (
        "${data.aws_lambda_function.send_emails.function_name}"
    )


def test_the_sending_domain_gets_its_dns_records_and_a_sender_inside_it(
    core: dict[str, Any],
) -> None:
    res, outputs, locals_ = core["resource"], core["output"], core["locals"]
    # One identity for Cognito and the shop: no second, conflicting one.
    assert set(res["aws_sesv2_email_identity"]) == {"sender"}
    assert "aws_ses_domain_identity" not in res and "aws_ses_email_identity" not in res
    dkim = outputs["dkim_records"]["value"]
    assert "aws_sesv2_email_identity.sender.dkim_signing_attributes[0].tokens" in dkim
    assert 'name = "${token}._domainkey.${var.email_identity}"' in dkim
    assert 'type = "CNAME"' in dkim and 'value = "${token}.dkim.amazonses.com"' in dkim
    mail_from = res["aws_sesv2_email_identity_mail_from_attributes"]["sender"]
    assert mail_from["count"] == '${var.mail_from_subdomain != "" ? 1 : 0}'
    assert mail_from["behavior_on_mx_failure"] == "USE_DEFAULT_VALUE"
    assert "MX" in outputs["mail_from_records"]["value"]
    assert "v=spf1 include:amazonses.com" in outputs["mail_from_records"]["value"]
    # MAIL_SENDER: its own variable, else Cognito's sender; the plan fails when its
    # address is outside the identity (SES would refuse every email).
    assert locals_["mail_sender"] == '${var.mail_sender != "" ? var.mail_sender : var.email_from}'
    assert outputs["mail_sender"]["value"] == "${local.mail_sender}"
    (precondition,) = outputs["mail_sender"]["precondition"]
    assert "local.mail_sender_address" in precondition["condition"]
    pattern = re.search(r'regex\("(.+)", local\.mail_sender\)', locals_["mail_sender_address"])
    assert pattern, locals_["mail_sender_address"]
    for sender in ("FlashSale <orders@shop.example.com>", "orders@shop.example.com"):
        found = re.search(pattern.group(1), sender)
        assert found and found.group(1) == "orders@shop.example.com", sender


# --- Checkout: holds, Stripe (docs/payments.md) ------------------------------------

HOLDS_FUNCTION = "release_holds"


def test_holds_queue_outlasts_a_release_run_and_dead_letters_after_five_tries(
    core: dict[str, Any],
) -> None:
    queues = core["resource"]["aws_sqs_queue"]
    holds, dlq = queues["holds"], queues["holds_dlq"]
    assert holds["name"] == "${local.name}-holds"
    assert dlq["name"] == "${local.name}-holds-dlq"
    # Six times the release function's Lambda timeout, read from .chalice/config.json.
    assert holds["visibility_timeout_seconds"] == "${local.release_timeout * 6}"
    assert core["locals"]["release_timeout"] == (
        f"${{local.chalice.stages[var.stage].lambda_functions.{HOLDS_FUNCTION}.lambda_timeout}}"
    )
    for name in DEPLOYED_STAGES:
        function = CHALICE_CONFIG["stages"][name]["lambda_functions"][HOLDS_FUNCTION]
        assert (function["lambda_memory_size"], function["lambda_timeout"]) == (256, 60)
        assert function["iam_policy_file"] == f"policy-{name}-holds.json"
        assert 6 * function["lambda_timeout"] <= 43200  # SQS's longest visibility timeout
    assert holds["redrive_policy"] == (
        "${jsonencode({deadLetterTargetArn = aws_sqs_queue.holds_dlq.arn, "
        "maxReceiveCount = local.holds_max_receives})}"
    )
    assert core["locals"]["holds_max_receives"] == 5
    # A hold's message waits at most 15 minutes per send and holds last at most an
    # hour: the queue keeps a message far longer; the DLQ longer still (its age
    # counts from the first enqueue).
    assert 3600 < holds["message_retention_seconds"] < dlq["message_retention_seconds"] == 1209600
    # No queue-wide delay: each hold's message carries its own DelaySeconds.
    assert holds.get("delay_seconds", 0) == 0
    for queue in (holds, dlq):
        assert queue["kms_master_key_id"] == "${aws_kms_key.data.arn}"
    assert 60 <= holds["kms_data_key_reuse_period_seconds"] <= 86400
    outputs = core["output"]
    assert outputs["holds_queue_url"]["value"] == "${aws_sqs_queue.holds.url}"
    assert outputs["holds_dlq_arn"]["value"] == "${aws_sqs_queue.holds_dlq.arn}"


def test_holds_mapping_releases_on_time_reports_item_failures_and_is_capped(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    mapping = app_module["resource"]["aws_lambda_event_source_mapping"][HOLDS_FUNCTION]
    data = app_module["data"]
    assert mapping["event_source_arn"] == "${data.aws_sqs_queue.holds.arn}"
    assert (
        data["aws_sqs_queue"]["holds"]["name"] == core["resource"]["aws_sqs_queue"]["holds"]["name"]
    )
    assert mapping["function_name"] == f"${{data.aws_lambda_function.{HOLDS_FUNCTION}.arn}}"
    assert data["aws_lambda_function"][HOLDS_FUNCTION]["function_name"] == (
        f"${{local.name}}-{HOLDS_FUNCTION}"
    )
    assert stage.function_name("prod", HOLDS_FUNCTION) == "flashsale-prod-release_holds"
    assert mapping["batch_size"] == 10
    # No batching window: a release waits on nothing but its message's delay.
    assert mapping["maximum_batching_window_in_seconds"] == 0
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["scaling_config"] == [{"maximum_concurrency": "${var.holds_max_concurrency}"}]
    concurrency = app_module["variable"]["holds_max_concurrency"]
    assert 2 <= concurrency["default"] <= 1000  # AWS's bounds
    assert app_module["output"]["holds_mapping_uuid"]["value"] == (
        "${aws_lambda_event_source_mapping.release_holds.uuid}"
    )
    # Chalice must not make a mapping of its own (on_sqs_message cannot report
    # item failures); the function is a plain lambda_function of that name.
    assert HOLDS_FUNCTION in application.app.handler_map
    assert [s for s in application.app.event_sources if s.name == HOLDS_FUNCTION] == []


def test_stripe_secrets_are_ssm_securestrings_terraform_never_writes_again(
    core: dict[str, Any],
) -> None:
    parameters = core["resource"]["aws_ssm_parameter"]
    # Stripe's two, and the waiting rooms' signing key (its own test below).
    assert set(parameters) == {"stripe_secret_key", "stripe_webhook_secret", "room_signing_key"}
    names = {
        "stripe_secret_key": ("/flashsale/${var.stage}/stripe/secret-key", "STRIPE_SECRET_KEY"),
        "stripe_webhook_secret": (
            "/flashsale/${var.stage}/stripe/webhook-secret", "STRIPE_WEBHOOK_SECRET"
        ),
    }  # fmt: skip
    for resource, (name, variable) in names.items():
        parameter = parameters[resource]
        assert parameter["name"] == name
        assert parameter["type"] == "SecureString"
        # The stage's data key: the one the functions' policies may decrypt with.
        assert parameter["key_id"] == "${aws_kms_key.data.arn}"
        # A placeholder the operator overwrites; Terraform then leaves it alone.
        assert parameter["value"] == "${local.stripe_placeholder}"
        assert parameter["lifecycle"] == [{"ignore_changes": ["value"]}]
        # The stage config carries the parameter's name, never a secret.
        output = f"{resource}_parameter"
        assert core["output"][output]["value"] == f"${{aws_ssm_parameter.{resource}.name}}"
        assert stage_config.MAPPING[f"{variable}_PARAMETER"] == output
        for name_ in DEPLOYED_STAGES:
            env = CHALICE_CONFIG["stages"][name_]["environment_variables"]
            assert env[f"{variable}_PARAMETER"] == name.replace("${var.stage}", name_)
            assert variable not in env
    placeholder = core["locals"]["stripe_placeholder"]
    assert not re.match(r"^(sk|rk|whsec)_", placeholder)  # not shaped like a real secret


def test_no_stripe_secret_is_in_any_committed_config() -> None:
    secret = re.compile(r"\b(sk|rk)_(live|test)_[A-Za-z0-9]{8,}|\bwhsec_[A-Za-z0-9]{8,}")
    for path in [
        *(INFRA.parent / ".chalice").glob("*.json"),
        *INFRA.glob("*/*.tf"),
        *INFRA.glob("*/*.json"),
        INFRA.parent / ".github" / "workflows" / "deploy.yml",
    ]:
        assert not secret.search(path.read_text()), path
    # The secret key and webhook secret are plain variables on the local stage only.
    for name in DEPLOYED_STAGES:
        env = CHALICE_CONFIG["stages"][name]["environment_variables"]
        assert not {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"} & set(env)


def test_stage_config_writes_the_checkout_settings(core: dict[str, Any]) -> None:
    wanted = {
        "HOLDS_QUEUE_URL": "holds_queue_url",
        "STRIPE_SECRET_KEY_PARAMETER": "stripe_secret_key_parameter",
        "STRIPE_WEBHOOK_SECRET_PARAMETER": "stripe_webhook_secret_parameter",
        "STRIPE_PUBLISHABLE_KEY": "stripe_publishable_key",
        "CHECKOUT_DEFAULT": "checkout_default",
        "CURRENCY_DEFAULT": "currency_default",
    }
    assert wanted.items() <= stage_config.MAPPING.items()
    outputs = {name: {"value": f"value-of-{name}"} for name in stage_config.MAPPING.values()}
    outputs |= {
        "holds_queue_url": {
            "value": "https://sqs.us-east-1.amazonaws.com/111122223333/flashsale-prod-holds"
        },
        "checkout_default": {"value": "pay"},
    }
    env = stage_config.apply({"stages": {"prod": {}}}, "prod", outputs)["stages"]["prod"][
        "environment_variables"
    ]
    assert env["HOLDS_QUEUE_URL"].endswith("/flashsale-prod-holds")
    assert env["CHECKOUT_DEFAULT"] == "pay"
    assert env["STRIPE_PUBLISHABLE_KEY"] == "value-of-stripe_publishable_key"
    # The publishable key has no default (a deploy without it fails its plan)
    # and must look like one; the defaults are the committed stage values.
    variables = core["variable"]
    key = variables["stripe_publishable_key"]
    assert "default" not in key
    (validation,) = key["validation"]
    pattern = re.search(r'regex\("(.+)", var\.stripe_publishable_key\)', validation["condition"])
    assert pattern
    assert re.match(pattern.group(1), "pk_live_51AbCdEf")
    assert not re.match(pattern.group(1), "sk_live_51AbCdEf")
    for name in DEPLOYED_STAGES:
        env = CHALICE_CONFIG["stages"][name]["environment_variables"]
        assert env["CHECKOUT_DEFAULT"] == variables["checkout_default"]["default"] == "pay"
        assert env["CURRENCY_DEFAULT"] == variables["currency_default"]["default"] == "usd"
        assert env["HOLDS_QUEUE_URL"].endswith(f"/000000000000/flashsale-{name}-holds")
        assert env["STRIPE_PUBLISHABLE_KEY"].startswith("pk_test_")
    workflow = (INFRA.parent / ".github" / "workflows" / "deploy.yml").read_text()
    core_step = workflow.split("working-directory: infra/core")[1].split("- name:")[0]
    assert "TF_VAR_stripe_publishable_key: ${{ vars.STRIPE_PUBLISHABLE_KEY }}" in core_step


def test_the_local_stage_checks_out_instantly_against_the_emulator_s_holds_queue() -> None:
    env = CHALICE_CONFIG["stages"]["local"]["environment_variables"]
    assert env["CHECKOUT_DEFAULT"] == "instant"
    assert env["CURRENCY_DEFAULT"] == "usd"
    assert env["STRIPE_PUBLISHABLE_KEY"] == "pk_test_local"
    # The emulator's queue URL: its endpoint, moto's account, the deployed name pattern.
    endpoint = env["AWS_ENDPOINT_URL"]
    assert env["HOLDS_QUEUE_URL"] == f"{endpoint}/123456789012/flashsale-local-holds"
    assert env["ORDER_TOPIC_ARN"].split(":")[4] == "123456789012"


def test_checkout_alarms_watch_late_refunds_the_holds_dlq_and_the_release_function(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    alarms = app_module["resource"]["aws_cloudwatch_metric_alarm"]
    late = alarms["late_refunds"]
    # Powertools' EMF metric: the app's namespace and service dimension.
    shared = CHALICE_CONFIG["environment_variables"]
    assert late["namespace"] == shared["POWERTOOLS_METRICS_NAMESPACE"]
    assert late["dimensions"] == {"service": shared["POWERTOOLS_SERVICE_NAME"]}
    assert (late["metric_name"], late["statistic"], late["period"]) == ("LateRefunds", "Sum", 300)
    assert (late["threshold"], late["comparison_operator"]) == (0, "GreaterThanThreshold")
    assert late["evaluation_periods"] == 1
    dlq = alarms["holds_dlq_depth"]
    assert (dlq["metric_name"], dlq["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
    assert dlq["dimensions"] == {"QueueName": "${local.holds_dlq_name}"}
    assert (
        app_module["locals"]["holds_dlq_name"]
        == (core["resource"]["aws_sqs_queue"]["holds_dlq"]["name"])
    )
    assert alarms["function_errors"]["for_each"]["release"] == "${local.release_function}"
    assert app_module["locals"]["release_function"] == (
        f"${{data.aws_lambda_function.{HOLDS_FUNCTION}.function_name}}"
    )


def _cloudfront_behavior(distribution: dict[str, Any], path: str) -> dict[str, Any]:
    """The cache behaviour CloudFront picks for `path`: the first ordered pattern
    that matches (* any characters, ? one), else the default."""
    import fnmatch

    for behavior in distribution["ordered_cache_behavior"]:
        pattern = behavior["path_pattern"].replace("${var.api_stage_name}", "api")
        if fnmatch.fnmatchcase(path, pattern):
            return behavior  # type: ignore[no-any-return]
    return distribution["default_cache_behavior"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/payments/stripe/webhook", "POST"), ("/api/payments/config", "GET")],
)
def test_cloudfront_sends_the_payment_routes_to_the_api_uncached_with_every_header(
    edge: dict[str, Any], path: str, method: str
) -> None:
    distribution = edge["resource"]["aws_cloudfront_distribution"]["shop"]
    behavior = _cloudfront_behavior(distribution, path)
    assert behavior["target_origin_id"] == "${local.api_origin}"
    assert method in behavior["allowed_methods"]
    # Never cached (the config carries serverTime), the body and all viewer
    # headers but Host and x-api-key through: Stripe-Signature reaches the app.
    assert behavior["cache_policy_id"] == "${data.aws_cloudfront_cache_policy.disabled.id}"
    assert behavior["origin_request_policy_id"] == "${aws_cloudfront_origin_request_policy.api.id}"
    excluded = edge["resource"]["aws_cloudfront_origin_request_policy"]["api"]["headers_config"][0]
    assert excluded["header_behavior"] == "allExcept"
    assert "stripe-signature" not in {h.lower() for h in excluded["headers"][0]["items"]}
    # No viewer-request function rewrites it (that is the UI's, on the default).
    assert "function_association" not in behavior
    # The webhook's URL in Stripe's dashboard is the distribution's, under /api.
    assert edge["locals"]["stripe_webhook_path"] == "/${var.api_stage_name}/payments/stripe/webhook"


def _webhook_exempt(statement: dict[str, Any]) -> bool:
    """A scope-down that leaves out exactly the webhook path."""
    (negated,) = statement["not_statement"][0]["statement"]
    match = negated["byte_match_statement"][0]
    return (
        match["search_string"] == "${local.stripe_webhook_path}"
        and match["positional_constraint"] == "EXACTLY"
        and match["field_to_match"] == [{"uri_path": [{}]}]
        and match["text_transformation"] == [{"priority": 0, "type": "LOWERCASE"}]
    )


def test_waf_lets_stripe_s_servers_through_and_refuses_unsigned_webhooks(
    edge: dict[str, Any],
) -> None:
    acl = edge["resource"]["aws_wafv2_web_acl"]["shop"]
    rules = {r["name"]: r for r in acl["rule"]}
    # Stripe's few addresses send every payment of a sale: no per-IP limit.
    everything = rules["requests-per-ip"]["statement"][0]["rate_based_statement"][0]
    assert _webhook_exempt(everything["scope_down_statement"][0])
    # They are a cloud's addresses (blocked for a sale) and no browser: both
    # managed groups skip the webhook.
    anonymous = rules["anonymous-ip"]["statement"][0]["managed_rule_group_statement"][0]
    assert _webhook_exempt(anonymous["scope_down_statement"][0])
    bots = rules["bot-control"]["statement"][0]["managed_rule_group_statement"][0]
    (api, exempt) = bots["scope_down_statement"][0]["and_statement"][0]["statement"]
    assert api["byte_match_statement"][0]["search_string"] == "/${var.api_stage_name}/"
    assert _webhook_exempt(exempt)
    # Buying stays limited as before: the webhook is not under /api/orders.
    assert not "/api/payments/stripe/webhook".startswith("/api/orders")
    # IP reputation and known bad inputs still apply to it.
    for name in ("ip-reputation", "known-bad-inputs"):
        assert (
            "scope_down_statement"
            not in rules[name]["statement"][0]["managed_rule_group_statement"][0]
        )
    # No Stripe-Signature header: refused with the app's own answer.
    unsigned = rules["stripe-webhook-unsigned"]
    response = unsigned["action"][0]["block"][0]["custom_response"][0]
    assert (response["response_code"], response["custom_response_body_key"]) == (
        400, "invalid_signature",
    )  # fmt: skip
    bodies = {b["key"]: b for b in acl["custom_response_body"]}
    assert 'code = "INVALID_SIGNATURE"' in bodies["invalid_signature"]["content"]
    path, missing = unsigned["statement"][0]["and_statement"][0]["statement"]
    assert path["byte_match_statement"][0]["search_string"] == "${local.stripe_webhook_path}"
    (size,) = missing["not_statement"][0]["statement"]
    constraint = size["size_constraint_statement"][0]
    assert (constraint["comparison_operator"], constraint["size"]) == ("GT", 0)
    assert constraint["field_to_match"] == [{"single_header": [{"name": "stripe-signature"}]}]
    priorities = [r["priority"] for r in acl["rule"]]
    assert len(set(priorities)) == len(priorities)


def test_the_webhook_has_its_own_modest_throttle(edge: dict[str, Any]) -> None:
    settings_ = edge["resource"]["aws_api_gateway_method_settings"]
    webhook = settings_["stripe_webhook"]
    # API Gateway's method path: the resource path without its leading slash, then the verb.
    assert webhook["method_path"] == "payments/stripe/webhook/POST"
    assert (webhook["rest_api_id"], webhook["stage_name"]) == (
        "${var.rest_api_id}", "${var.api_stage_name}",
    )  # fmt: skip
    limits = webhook["settings"][0]
    assert limits["throttling_rate_limit"] == "${var.webhook_throttle_rate_limit}"
    assert limits["throttling_burst_limit"] == "${var.webhook_throttle_burst_limit}"
    variables = edge["variable"]
    rate = variables["webhook_throttle_rate_limit"]["default"]
    burst = variables["webhook_throttle_burst_limit"]["default"]
    assert 0 < rate <= burst < variables["throttle_rate_limit"]["default"]
    # Two writers of the stage's settings: one after the other.
    assert webhook["depends_on"] == ["${aws_api_gateway_method_settings.throttling}"]


def test_the_shop_s_pages_may_load_stripe_js_and_its_card_frames(edge: dict[str, Any]) -> None:
    policy = edge["resource"]["aws_cloudfront_response_headers_policy"]["security"]
    csp = policy["security_headers_config"][0]["content_security_policy"][0][
        "content_security_policy"
    ]
    directives = {
        d.split()[0]: set(d.split()[1:]) for d in (part.strip() for part in csp.split(";")) if d
    }
    # GET /payments/config's jsUrl, Stripe's API, its card and 3-D Secure frames.
    assert "https://js.stripe.com" in directives["script-src"]
    assert "https://api.stripe.com" in directives["connect-src"]
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= directives["frame-src"]
    assert "https://*.amazoncognito.com" in directives["connect-src"]  # sign-in still works
    assert directives["frame-ancestors"] == {"'none'"}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


# --- Waiting rooms (docs/waiting-room.md) ------------------------------------------

ROOMS_FUNCTION = "admit_shoppers"


def test_tick_queue_outlasts_an_admitter_run_and_dead_letters_after_three_tries(
    core: dict[str, Any],
) -> None:
    queues = core["resource"]["aws_sqs_queue"]
    ticks, dlq = queues["room_ticks"], queues["room_ticks_dlq"]
    assert ticks["name"] == "${local.name}-room-ticks"
    assert dlq["name"] == "${local.name}-room-ticks-dlq"
    # The emulator's queues have the deployed names (local/resources.py).
    assert resources.ROOMS_QUEUE == "flashsale-local-room-ticks"
    assert resources.ROOMS_DLQ == "flashsale-local-room-ticks-dlq"
    # Six times the admitter's Lambda timeout, read from .chalice/config.json.
    assert ticks["visibility_timeout_seconds"] == "${local.admit_timeout * 6}"
    assert core["locals"]["admit_timeout"] == (
        f"${{local.chalice.stages[var.stage].lambda_functions.{ROOMS_FUNCTION}.lambda_timeout}}"
    )
    for name in DEPLOYED_STAGES:
        function = CHALICE_CONFIG["stages"][name]["lambda_functions"][ROOMS_FUNCTION]
        assert (function["lambda_memory_size"], function["lambda_timeout"]) == (256, 60)
        assert function["iam_policy_file"] == f"policy-{name}-rooms.json"
        assert 6 * function["lambda_timeout"] <= 43200  # SQS's longest visibility timeout
    assert ticks["redrive_policy"] == (
        "${jsonencode({deadLetterTargetArn = aws_sqs_queue.room_ticks_dlq.arn, "
        "maxReceiveCount = local.room_ticks_max_receive})}"
    )
    assert core["locals"]["room_ticks_max_receive"] == 3
    # A tick's message is delayed at most SQS's 15 minutes; the DLQ keeps longer.
    assert 900 < ticks["message_retention_seconds"] < dlq["message_retention_seconds"] == 1209600
    assert ticks.get("delay_seconds", 0) == 0  # each tick carries its own DelaySeconds
    for queue in (ticks, dlq):
        assert queue["kms_master_key_id"] == "${aws_kms_key.data.arn}"
    assert 60 <= ticks["kms_data_key_reuse_period_seconds"] <= 86400
    outputs = core["output"]
    assert outputs["rooms_table"]["value"] == "${aws_dynamodb_table.rooms.name}"
    assert outputs["rooms_queue_url"]["value"] == "${aws_sqs_queue.room_ticks.url}"
    assert outputs["rooms_queue_arn"]["value"] == "${aws_sqs_queue.room_ticks.arn}"
    assert outputs["rooms_dlq_arn"]["value"] == "${aws_sqs_queue.room_ticks_dlq.arn}"


def test_room_signing_key_is_a_securestring_the_app_refuses_until_the_operator_sets_it(
    core: dict[str, Any],
) -> None:
    parameter = core["resource"]["aws_ssm_parameter"]["room_signing_key"]
    name = "/flashsale/${var.stage}/rooms/signing-key"
    assert parameter["name"] == name
    assert parameter["type"] == "SecureString"
    assert parameter["key_id"] == "${aws_kms_key.data.arn}"
    # A placeholder the operator overwrites; Terraform then leaves it alone...
    assert parameter["value"] == "${local.room_key_placeholder}"
    assert parameter["lifecycle"] == [{"ignore_changes": ["value"]}]
    # ...and the app refuses to sign with (a 503 BUSY until the real key is there).
    placeholder = core["locals"]["room_key_placeholder"]
    assert placeholder == wiring.ROOM_KEY_PLACEHOLDER
    assert len(placeholder.encode()) < wiring.ROOM_KEY_MIN_BYTES
    # The stage config carries the parameter's name, never a key.
    output = "room_signing_key_parameter"
    assert core["output"][output]["value"] == "${aws_ssm_parameter.room_signing_key.name}"
    assert stage_config.MAPPING["ROOM_SIGNING_KEY_PARAMETER"] == output
    for stage_ in DEPLOYED_STAGES:
        env = CHALICE_CONFIG["stages"][stage_]["environment_variables"]
        assert env["ROOM_SIGNING_KEY_PARAMETER"] == name.replace("${var.stage}", stage_)
        assert "ROOM_SIGNING_KEY" not in env
    # The local stage's key is long enough to be accepted, and nobody's secret.
    local_key = CHALICE_CONFIG["stages"]["local"]["environment_variables"]["ROOM_SIGNING_KEY"]
    assert len(local_key.encode()) >= wiring.ROOM_KEY_MIN_BYTES
    assert "not-a-secret" in local_key


def test_stage_config_writes_the_rooms_settings() -> None:
    wanted = {
        "ROOMS_TABLE": "rooms_table",
        "ROOMS_QUEUE_URL": "rooms_queue_url",
        "ROOM_SIGNING_KEY_PARAMETER": "room_signing_key_parameter",
    }
    assert wanted.items() <= stage_config.MAPPING.items()
    outputs = {name: {"value": f"value-of-{name}"} for name in stage_config.MAPPING.values()}
    outputs |= {
        "rooms_table": {"value": "flashsale-prod-rooms"},
        "rooms_queue_url": {
            "value": "https://sqs.us-east-1.amazonaws.com/111122223333/flashsale-prod-room-ticks"
        },
        "room_signing_key_parameter": {"value": "/flashsale/prod/rooms/signing-key"},
    }
    env = stage_config.apply({"stages": {"prod": {}}}, "prod", outputs)["stages"]["prod"][
        "environment_variables"
    ]
    assert env["ROOMS_TABLE"] == "flashsale-prod-rooms"
    assert env["ROOMS_QUEUE_URL"].endswith("/flashsale-prod-room-ticks")
    assert env["ROOM_SIGNING_KEY_PARAMETER"] == "/flashsale/prod/rooms/signing-key"
    assert "ROOM_SIGNING_KEY" not in env
    for name in DEPLOYED_STAGES:
        env = CHALICE_CONFIG["stages"][name]["environment_variables"]
        assert env["ROOMS_TABLE"] == f"flashsale-{name}-rooms"
        assert env["ROOMS_QUEUE_URL"].endswith(f"/000000000000/flashsale-{name}-room-ticks")


def test_rooms_mapping_ticks_on_time_reports_item_failures_and_is_capped(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    mapping = app_module["resource"]["aws_lambda_event_source_mapping"][ROOMS_FUNCTION]
    data = app_module["data"]
    assert mapping["event_source_arn"] == "${data.aws_sqs_queue.room_ticks.arn}"
    assert (
        data["aws_sqs_queue"]["room_ticks"]["name"]
        == core["resource"]["aws_sqs_queue"]["room_ticks"]["name"]
    )
    assert mapping["function_name"] == f"${{data.aws_lambda_function.{ROOMS_FUNCTION}.arn}}"
    assert data["aws_lambda_function"][ROOMS_FUNCTION]["function_name"] == (
        f"${{local.name}}-{ROOMS_FUNCTION}"
    )
    assert stage.function_name("prod", ROOMS_FUNCTION) == "flashsale-prod-admit_shoppers"
    assert mapping["batch_size"] == 10
    # No batching window: a tick is due a second after the last, and waits on
    # nothing but its own delay.
    assert mapping["maximum_batching_window_in_seconds"] == 0
    # The handler answers Powertools' partial batch response: only this makes
    # Lambda retry just the failed ticks.
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["scaling_config"] == [{"maximum_concurrency": "${var.rooms_max_concurrency}"}]
    concurrency = app_module["variable"]["rooms_max_concurrency"]
    assert 2 <= concurrency["default"] <= 1000  # AWS's bounds
    assert app_module["output"]["rooms_mapping_uuid"]["value"] == (
        "${aws_lambda_event_source_mapping.admit_shoppers.uuid}"
    )
    # Chalice must not make a mapping of its own; the function is a plain
    # lambda_function of that name.
    assert ROOMS_FUNCTION in application.app.handler_map
    assert [s for s in application.app.event_sources if s.name == ROOMS_FUNCTION] == []


def test_rooms_alarms_watch_the_tick_dlq_late_ticks_and_the_admitter(
    core: dict[str, Any], app_module: dict[str, Any]
) -> None:
    alarms = app_module["resource"]["aws_cloudwatch_metric_alarm"]
    locals_ = app_module["locals"]
    queues = core["resource"]["aws_sqs_queue"]
    dlq = alarms["room_ticks_dlq_depth"]
    assert (dlq["metric_name"], dlq["threshold"]) == ("ApproximateNumberOfMessagesVisible", 0)
    assert dlq["comparison_operator"] == "GreaterThanThreshold"
    assert dlq["dimensions"] == {"QueueName": "${local.room_ticks_dlq_name}"}
    assert locals_["room_ticks_dlq_name"] == queues["room_ticks_dlq"]["name"]
    # Late ticks: the tick queue's oldest message, counted while ticks are due
    # or running (a tick delayed until a sale's start is not late).
    late = alarms["room_ticks_late"]
    assert late["threshold"] == "${var.room_ticks_late_alarm_seconds}"
    assert 10 <= app_module["variable"]["room_ticks_late_alarm_seconds"]["default"] <= 60
    assert late["comparison_operator"] == "GreaterThanThreshold"
    queries = {q["id"]: q for q in late["metric_query"]}
    (shown,) = [q for q in queries.values() if q.get("return_data")]
    assert shown["expression"] == "IF(ready + running > 0, age, 0)"
    wanted = {
        "age": "ApproximateAgeOfOldestMessage",
        "ready": "ApproximateNumberOfMessagesVisible",
        "running": "ApproximateNumberOfMessagesNotVisible",
    }
    for id_, metric_name in wanted.items():
        (metric,) = queries[id_]["metric"]
        assert (metric["namespace"], metric["metric_name"]) == ("AWS/SQS", metric_name)
        assert metric["dimensions"] == {"QueueName": "${local.room_ticks_queue_name}"}
        assert (metric["stat"], metric["period"]) == ("Maximum", 60)
    assert locals_["room_ticks_queue_name"] == "${data.aws_sqs_queue.room_ticks.name}"
    assert alarms["function_errors"]["for_each"]["rooms"] == "${local.admit_function}"
    assert locals_["admit_function"] == (
        f"${{data.aws_lambda_function.{ROOMS_FUNCTION}.function_name}}"
    )


@pytest.mark.parametrize(
    ("path", "method", "policy"),
    [
        # The room's public state: one copy a second per edge for the whole crowd.
        ("/api/products/drop/queue", "GET", "${aws_cloudfront_cache_policy.catalog.id}"),
        # The frozen list's pages, by page number.
        ("/api/products/drop/queue/entries", "GET", "${aws_cloudfront_cache_policy.room_list.id}"),
        # A shopper's own calls carry the token: never cached, every header through.
        (
            "/api/products/drop/queue/join",
            "POST",
            "${data.aws_cloudfront_cache_policy.disabled.id}",
        ),
        ("/api/products/drop/queue/me", "GET", "${data.aws_cloudfront_cache_policy.disabled.id}"),
    ],
)
def test_cloudfront_caches_a_rooms_public_reads_and_never_a_shoppers_own(
    edge: dict[str, Any], path: str, method: str, policy: str
) -> None:
    distribution = edge["resource"]["aws_cloudfront_distribution"]["shop"]
    behavior = _cloudfront_behavior(distribution, path)
    assert behavior["target_origin_id"] == "${local.api_origin}"
    assert method in behavior["allowed_methods"]
    assert behavior["cache_policy_id"] == policy
    if policy == "${data.aws_cloudfront_cache_policy.disabled.id}":
        assert behavior["origin_request_policy_id"] == (
            "${aws_cloudfront_origin_request_policy.api.id}"
        )
    else:
        assert "POST" not in behavior["allowed_methods"]
    pages = edge["resource"]["aws_cloudfront_cache_policy"]["room_list"]
    keyed = pages["parameters_in_cache_key_and_forwarded_to_origin"][0]["query_strings_config"][0]
    assert keyed["query_strings"][0]["items"] == ["page"]


def test_the_api_function_logs_to_a_group_terraform_makes_with_the_stage_retention(
    core: dict[str, Any],
) -> None:
    # Regression: Chalice 1.34 sets the retention on /aws/lambda/<app>-<stage>-api_handler
    # but names the API function <app>-<stage>: its own group had no retention,
    # and nothing made it (the function's role cannot), so its logs were lost.
    group = core["resource"]["aws_cloudwatch_log_group"]["api"]
    assert core["locals"]["name"] == "flashsale-${var.stage}"
    assert group["name"] == "/aws/lambda/${local.name}"
    for name in DEPLOYED_STAGES:
        assert stage.function_name(name, "api_handler") == f"flashsale-{name}"
    assert group["retention_in_days"] == (
        "${local.chalice.stages[var.stage].log_retention_in_days}"
    )
    # A retention CloudWatch takes, in every deployed stage.
    for name in DEPLOYED_STAGES:
        assert CHALICE_CONFIG["stages"][name]["log_retention_in_days"] in (
            1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
            2557, 2922, 3288, 3653,
        )  # fmt: skip
