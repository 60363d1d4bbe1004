"""The Terraform in infra/, read with python-hcl2: what it must guarantee."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest

import app as application
from chalicelib import errors, settings
from deploy import stage
from infra import stage_config
from local import resources

INFRA = Path(__file__).resolve().parent.parent / "infra"


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
    assert set(tables) == {"products", "orders", "purchases", "stats"}
    for table in tables.values():
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["point_in_time_recovery"] == [{"enabled": True}]
        assert table["server_side_encryption"][0]["enabled"] is True
        assert table["server_side_encryption"][0]["kms_key_arn"] == "${aws_kms_key.data.arn}"
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
    assert "notification_email" in core["variable"]
    assert core["resource"]["aws_sqs_queue"]["notify_dlq"]["kms_master_key_id"]


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
