# --- The API Gateway stage Chalice deployed: what the gateway itself answers ---

# CloudFront's key to the API (sent as the origin's x-api-key header). It proves
# a request came through this distribution; it is no shopper credential.
resource "aws_api_gateway_api_key" "cloudfront" {
  name        = "${local.name}-cloudfront"
  description = "Sent by the ${local.name} CloudFront distribution only"
  enabled     = true
}

resource "aws_api_gateway_usage_plan" "cloudfront" {
  name        = "${local.name}-cloudfront"
  description = "Every request through CloudFront: the stage's limits, no quota"
  api_stages {
    api_id = var.rest_api_id
    stage  = var.api_stage_name
  }
  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }
}

resource "aws_api_gateway_usage_plan_key" "cloudfront" {
  key_id        = aws_api_gateway_api_key.cloudfront.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.cloudfront.id
}

# Throttled for the opening rush (the per-IP limits are the WAF's).
resource "aws_api_gateway_method_settings" "throttling" {
  #checkov:skip=CKV_AWS_225:Responses are per shopper and orders must not be cached; the catalog is cached at CloudFront.
  #checkov:skip=CKV2_AWS_4:Execution logging needs an account-wide API Gateway CloudWatch role; Lambda logs each request.
  rest_api_id = var.rest_api_id
  stage_name  = var.api_stage_name
  method_path = "*/*"
  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }
}

# Stripe's webhook (POST /payments/stripe/webhook, docs/payments.md) has a
# throttle of its own: the stage-wide one above is the shoppers' rush, and a
# method setting is a bucket of its own for that one method. Stripe retries
# what is refused (429) for days, so a modest limit loses no payment; what
# floods it unsigned is refused before that by the WAF (waf.tf).
resource "aws_api_gateway_method_settings" "stripe_webhook" {
  #checkov:skip=CKV_AWS_225:A webhook is never cached.
  #checkov:skip=CKV2_AWS_4:Execution logging needs an account-wide API Gateway CloudWatch role; Lambda logs each request.
  rest_api_id = var.rest_api_id
  stage_name  = var.api_stage_name
  method_path = "payments/stripe/webhook/POST"
  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.webhook_throttle_rate_limit
    throttling_burst_limit = var.webhook_throttle_burst_limit
  }
  # Both write the stage's settings: one after the other.
  depends_on = [aws_api_gateway_method_settings.throttling]
}

# Every error API Gateway answers itself (no route, no key, throttled, too
# large, timed out...) in the contract's shape: {"code": ..., "message": ...},
# JSON, with the CORS header the app's own answers carry. One file lists them.
locals {
  gateway_responses = jsondecode(file("${path.module}/gateway_responses.json"))
}

resource "aws_api_gateway_gateway_response" "contract" {
  for_each      = local.gateway_responses
  rest_api_id   = var.rest_api_id
  response_type = each.key
  status_code   = each.value.status
  response_templates = {
    "application/json" = jsonencode({ code = each.value.code, message = each.value.message })
  }
  response_parameters = merge(
    {
      "gatewayresponse.header.Access-Control-Allow-Origin" = "'*'"
      "gatewayresponse.header.Content-Type"                = "'application/json'"
    },
    lookup(each.value, "retry_after", null) == null ? {} : {
      "gatewayresponse.header.Retry-After" = "'${each.value.retry_after}'"
    },
  )
}
