data "aws_caller_identity" "current" {}

locals {
  name                    = "flashsale-${var.stage}"
  orders_index            = "userId-createdAt-index"
  orders_by_product_index = "productId-createdAt-index"
}

# One customer-managed key for the tables and the topic, rotated yearly.
resource "aws_kms_key" "data" {
  description             = "${local.name} tables and order notifications"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "SnsDeliversEncryptedMessages"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
      },
      {
        # SES publishes bounces and complaints to the encrypted feedback topic.
        Sid       = "SesPublishesEncryptedFeedback"
        Effect    = "Allow"
        Principal = { Service = "ses.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
      {
        # Alarms publish to the encrypted ops topic.
        Sid       = "CloudWatchAlarmsPublishEncrypted"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${local.name}-data"
  target_key_id = aws_kms_key.data.key_id
}

resource "aws_dynamodb_table" "products" {
  name         = "${local.name}-products"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "productId"

  attribute {
    name = "productId"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
  deletion_protection_enabled = true
}

resource "aws_dynamodb_table" "orders" {
  name         = "${local.name}-orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "orderId"

  attribute {
    name = "orderId"
    type = "S"
  }
  attribute {
    name = "userId"
    type = "S"
  }
  attribute {
    name = "productId"
    type = "S"
  }
  attribute {
    name = "createdAt"
    type = "S"
  }

  global_secondary_index {
    name            = local.orders_index
    hash_key        = "userId"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  # The operator console lists a sale's orders, newest first.
  global_secondary_index {
    name            = local.orders_by_product_index
    hash_key        = "productId"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  # Feeds the order-confirmation handler (notify_orders).
  stream_enabled   = true
  stream_view_type = "NEW_IMAGE"

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
  deletion_protection_enabled = true
}

# Per-user purchase counters; they expire 30 days after their sale ends.
resource "aws_dynamodb_table" "purchases" {
  name         = "${local.name}-purchases"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "userId"
  range_key    = "productId"

  attribute {
    name = "userId"
    type = "S"
  }
  attribute {
    name = "productId"
    type = "S"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
  deletion_protection_enabled = true
}

# The console's counters: one item per product per minute and a running total,
# kept exactly once by the Orders stream consumer (chalicelib/sales.py).
resource "aws_dynamodb_table" "stats" {
  name         = "${local.name}-sales-stats"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "productId"
  range_key    = "bucket"

  attribute {
    name = "productId"
    type = "S"
  }
  attribute {
    name = "bucket"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
  deletion_protection_enabled = true
}

resource "aws_sns_topic" "order_placed" {
  name              = "${local.name}-order-placed"
  kms_master_key_id = aws_kms_key.data.arn
}

# An optional mailbox copy of every order event, for a small shop or a test
# stage. Off by default: shoppers are mailed through SES (infra/core/mail.tf),
# and SNS disables an email subscription that gets more than about 10 messages
# a second, which one flash sale does.
resource "aws_sns_topic_subscription" "order_email" {
  count     = var.notification_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.order_placed.arn
  protocol  = "email"
  endpoint  = var.notification_email
}

# Stream records notify_orders could not handle after its retries land here
# (set as the event source mapping's on-failure destination by the deploy).
resource "aws_sqs_queue" "notify_dlq" {
  name                      = "${local.name}-notify-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = aws_kms_key.data.arn
}

# What should wake someone (infra/app's alarms) goes here.
resource "aws_sns_topic" "ops" {
  name              = "${local.name}-ops"
  kms_master_key_id = aws_kms_key.data.arn
}

resource "aws_sns_topic_subscription" "ops_email" {
  topic_arn = aws_sns_topic.ops.arn
  protocol  = "email"
  endpoint  = var.ops_email
}

# The shop's sender address, verified in SES: Cognito's sign-up and reset codes
# go out through it (Cognito's own sender has a small daily cap), and so can the
# shop's own mail. A domain identity needs its DKIM records (output dkim_tokens).
resource "aws_sesv2_email_identity" "sender" {
  email_identity = var.email_identity
}

# Shoppers sign in here; the API's shopper routes accept only this pool's tokens.
resource "aws_cognito_user_pool" "shoppers" {
  name                     = "${local.name}-shoppers"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = "OPTIONAL"
  deletion_protection      = "ACTIVE"

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  # Codes through the stage's SES identity at SES's quotas, not Cognito's
  # default sender (50 emails a day): sign-ups must not stall on sale day.
  email_configuration {
    email_sending_account = "DEVELOPER"
    source_arn            = aws_sesv2_email_identity.sender.arn
    from_email_address    = var.email_from
  }
}

# The deploy's smoke test (and load tests, loadtest/users.py) sign in here with
# admin password auth, which takes AWS credentials: no use to anyone else.
resource "aws_cognito_user_pool_client" "smoke" {
  name                          = "${local.name}-smoke"
  user_pool_id                  = aws_cognito_user_pool.shoppers.id
  generate_secret               = false
  explicit_auth_flows           = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  id_token_validity             = 60
  access_token_validity         = 60
  refresh_token_validity        = 1
  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }
}

# Operators: the console's API (/admin/...) serves only members of this group
# (the ID token's cognito:groups claim; chalicelib/identity.py). Add people with
# `aws cognito-idp admin-add-user-to-group --group-name admins ...`.
resource "aws_cognito_user_group" "admins" {
  name         = "admins"
  user_pool_id = aws_cognito_user_pool.shoppers.id
  description  = "Operators of the FlashSale console"
}

# The API function's log group. Chalice names the API function <app>-<stage>
# (local.name), so Lambda logs to /aws/lambda/flashsale-<stage>; but Chalice
# 1.34 puts the stage's log_retention_in_days on /aws/lambda/<app>-<stage>-api_handler,
# a group nothing writes to. Without this one the API's logs had no retention,
# and, the function's role having no logs:CreateLogGroup, no group at all: they
# were lost. Made before chalice deploy, with the retention Chalice reads.
resource "aws_cloudwatch_log_group" "api" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch's own key, as the log groups Chalice makes for the other functions are.
  #checkov:skip=CKV_AWS_338:The stage's log_retention_in_days from .chalice/config.json (7 days dev, 30 prod), as for every other function.
  name              = "/aws/lambda/${local.name}"
  retention_in_days = local.chalice.stages[var.stage].log_retention_in_days
}
