# --- AWS WAF in front of CloudFront: per-IP rate limits, IP reputation, bots ---
# Blocks by our own rules answer the contract's JSON ({"code","message"}); the
# AWS managed groups' other rules answer WAF's default 403.

locals {
  waf_name = "${local.name}-shop"
  # Paths as CloudFront sees them: the API is under /api.
  orders_path = "/${var.api_stage_name}/orders"
  # Stripe's calls to the shop (docs/payments.md): from Stripe's servers, which
  # are a cloud's addresses, a few of them for every payment of a sale, and
  # signed. The per-IP limit, the hosting-provider block and bot control would
  # each turn them away in a sale, so they skip those rules: the signature
  # proves them (the app checks it), the API stage throttles the route on its
  # own (api.tf), and an unsigned request is refused here.
  stripe_webhook_path = "/${var.api_stage_name}/payments/stripe/webhook"
}

resource "aws_wafv2_web_acl" "shop" {
  provider    = aws.us_east_1
  name        = local.waf_name
  description = "FlashSale ${var.stage}: rate limits per IP, IP reputation, bot control"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  custom_response_body {
    key          = "busy"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ code = "BUSY", message = "Too many requests from your address; try again in a minute." })
  }

  custom_response_body {
    key          = "forbidden"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ code = "FORBIDDEN", message = "Requests from your address are not accepted." })
  }

  # What the app answers a webhook without a valid signature (docs/payments.md).
  custom_response_body {
    key          = "invalid_signature"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ code = "INVALID_SIGNATURE", message = "The request is not signed by Stripe." })
  }

  # The deploy's smoke test runs from GitHub's hosted runners, which look like
  # what the rules below block: with a token set, its requests pass (and nothing
  # else gets through on it; the token is a GitHub secret, rotated at will).
  dynamic "rule" {
    for_each = var.smoke_token == "" ? [] : [var.smoke_token]
    content {
      name     = "smoke-test"
      priority = 0
      action {
        allow {}
      }
      statement {
        byte_match_statement {
          search_string         = rule.value
          positional_constraint = "EXACTLY"
          field_to_match {
            single_header {
              name = "x-flashsale-smoke"
            }
          }
          text_transformation {
            priority = 0
            type     = "NONE"
          }
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${local.waf_name}-smoke-test"
        sampled_requests_enabled   = false
      }
    }
  }

  # The tight one: buying, per IP, per minute.
  rule {
    name     = "orders-per-ip"
    priority = 1
    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = "busy"
          response_header {
            name  = "Retry-After"
            value = "60"
          }
        }
      }
    }
    statement {
      rate_based_statement {
        limit                 = var.waf_orders_per_ip
        evaluation_window_sec = 60
        aggregate_key_type    = "IP"
        scope_down_statement {
          and_statement {
            statement {
              byte_match_statement {
                search_string         = local.orders_path
                positional_constraint = "STARTS_WITH"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "LOWERCASE"
                }
              }
            }
            statement {
              byte_match_statement {
                search_string         = "POST"
                positional_constraint = "EXACTLY"
                field_to_match {
                  method {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-orders-per-ip"
      sampled_requests_enabled   = true
    }
  }

  # Everything else, per IP, per 5 minutes (the UI polls the catalog every 3 s).
  rule {
    name     = "requests-per-ip"
    priority = 2
    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = "busy"
          response_header {
            name  = "Retry-After"
            value = "60"
          }
        }
      }
    }
    statement {
      rate_based_statement {
        limit                 = var.waf_requests_per_ip
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
        scope_down_statement {
          not_statement {
            statement {
              byte_match_statement {
                search_string         = local.stripe_webhook_path
                positional_constraint = "EXACTLY"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "LOWERCASE"
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-requests-per-ip"
      sampled_requests_enabled   = true
    }
  }

  # Addresses AWS's threat intelligence knows for bots, scanners and DDoS.
  rule {
    name     = "ip-reputation"
    priority = 3
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
        dynamic "rule_action_override" {
          for_each = ["AWSManagedIPReputationList", "AWSManagedReconnaissanceList", "AWSManagedIPDDoSList"]
          content {
            name = rule_action_override.value
            action_to_use {
              block {
                custom_response {
                  response_code            = 403
                  custom_response_body_key = "forbidden"
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  # VPNs, Tor and cloud hosting. VPN users are shoppers too: counted only. Bots
  # buying out a sale run in clouds: blocked when waf_block_hosting_providers is
  # on (for the sale; CI's runners are in such a cloud, hence the smoke token).
  rule {
    name     = "anonymous-ip"
    priority = 4
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"
        scope_down_statement {
          not_statement {
            statement {
              byte_match_statement {
                search_string         = local.stripe_webhook_path
                positional_constraint = "EXACTLY"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "LOWERCASE"
                }
              }
            }
          }
        }
        rule_action_override {
          name = "AnonymousIPList"
          action_to_use {
            count {}
          }
        }
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            dynamic "block" {
              for_each = var.waf_block_hosting_providers ? [1] : []
              content {
                custom_response {
                  response_code            = 403
                  custom_response_body_key = "forbidden"
                }
              }
            }
            dynamic "count" {
              for_each = var.waf_block_hosting_providers ? [] : [1]
              content {}
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  # Scalper bots, where they matter: the API (the UI's files are cached, cheap).
  rule {
    name     = "bot-control"
    priority = 5
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesBotControlRuleSet"
        managed_rule_group_configs {
          aws_managed_rules_bot_control_rule_set {
            inspection_level = "COMMON"
          }
        }
        # Phones' apps and privacy browsers send odd user agents: counted, not blocked.
        rule_action_override {
          name = "SignalNonBrowserUserAgent"
          action_to_use {
            count {}
          }
        }
        scope_down_statement {
          and_statement {
            statement {
              byte_match_statement {
                search_string         = "/${var.api_stage_name}/"
                positional_constraint = "STARTS_WITH"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "LOWERCASE"
                }
              }
            }
            statement {
              not_statement {
                statement {
                  byte_match_statement {
                    search_string         = local.stripe_webhook_path
                    positional_constraint = "EXACTLY"
                    field_to_match {
                      uri_path {}
                    }
                    text_transformation {
                      priority = 0
                      type     = "LOWERCASE"
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-bot-control"
      sampled_requests_enabled   = true
    }
  }

  # Known exploit payloads (Log4Shell and the like).
  rule {
    name     = "known-bad-inputs"
    priority = 6
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  # Stripe signs every webhook (Stripe-Signature): one without the header is
  # nobody's payment, and is refused before it costs an invocation.
  rule {
    name     = "stripe-webhook-unsigned"
    priority = 7
    action {
      block {
        custom_response {
          response_code            = 400
          custom_response_body_key = "invalid_signature"
        }
      }
    }
    statement {
      and_statement {
        statement {
          byte_match_statement {
            search_string         = local.stripe_webhook_path
            positional_constraint = "EXACTLY"
            field_to_match {
              uri_path {}
            }
            text_transformation {
              priority = 0
              type     = "LOWERCASE"
            }
          }
        }
        statement {
          not_statement {
            statement {
              size_constraint_statement {
                comparison_operator = "GT"
                size                = 0
                field_to_match {
                  single_header {
                    name = "stripe-signature"
                  }
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.waf_name}-stripe-webhook-unsigned"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.waf_name
    sampled_requests_enabled   = true
  }
}

# WAF's log group names must start with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_158:WAF logs hold request metadata only (tokens redacted below); CloudWatch encrypts them at rest with its own key.
  #checkov:skip=CKV_AWS_338:30 days is enough to investigate a sale; older traffic has no use here.
  provider          = aws.us_east_1
  name              = "aws-waf-logs-${local.name}"
  retention_in_days = 30
}

resource "aws_wafv2_web_acl_logging_configuration" "shop" {
  provider                = aws.us_east_1
  resource_arn            = aws_wafv2_web_acl.shop.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
  # Shoppers' ID tokens never reach a log.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}
