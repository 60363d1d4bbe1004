# --- Shopper emails (issue 12) -----------------------------------------------
# The orders topic -> the mail queue -> send_emails (its event source mapping is
# infra/app's, made after chalice deploy) -> SES, through the stage's
# configuration set. SES reports bounces and complaints on the feedback topic;
# record_email_feedback (subscribed by infra/app) puts those addresses in the
# suppressions table, which the mailer reads before every send.

locals {
  # The mailer's Lambda timeout, where Chalice reads it: the queue's visibility
  # timeout is six times it (AWS's advice for Lambda consumers), so a batch
  # still running is never handed to a second container.
  chalice           = jsondecode(file("${path.module}/../../.chalice/config.json"))
  mailer_timeout    = local.chalice.stages[var.stage].lambda_functions.send_emails.lambda_timeout
  mail_max_receives = 5

  mail_sender = var.mail_sender != "" ? var.mail_sender : var.email_from
  # The address of "Name <address>", or the bare address.
  mail_sender_address = lower(regex("([^<> ]+@[^<> ]+)>? *$", local.mail_sender)[0])
  sender_is_domain    = !strcontains(var.email_identity, "@")
}

# Addresses never mailed again: hard bounces and complaints.
resource "aws_dynamodb_table" "suppressions" {
  name         = "${local.name}-suppressions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "email"

  attribute {
    name = "email"
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

# What the mailer gave up on after mail_max_receives deliveries. Anything here
# is an email nobody sent (alarm in infra/app); once the cause is fixed, move
# the messages back to the mail queue (docs/production.md: Shopper emails in production):
# the mailer's marks on the orders make a redrive send nothing twice.
resource "aws_sqs_queue" "mail_dlq" {
  name                      = "${local.name}-mail-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  kms_master_key_id         = aws_kms_key.data.arn
}

resource "aws_sqs_queue" "mail" {
  name                       = "${local.name}-mail"
  visibility_timeout_seconds = local.mailer_timeout * 6
  message_retention_seconds  = 345600 # 4 days; the DLQ keeps what fails for longer
  kms_master_key_id          = aws_kms_key.data.arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.mail_dlq.arn
    maxReceiveCount     = local.mail_max_receives
  })
}

# Only the orders topic may send to the mail queue (SNS uses the data key,
# which lets it: see SnsDeliversEncryptedMessages).
resource "aws_sqs_queue_policy" "mail" {
  queue_url = aws_sqs_queue.mail.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "OrdersTopicDelivers"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.mail.arn
        Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.order_placed.arn } }
      },
    ]
  })
}

# Raw delivery: the queue gets the message's `sqs` part (the order event as
# JSON), not SNS's envelope.
resource "aws_sns_topic_subscription" "mail_queue" {
  topic_arn            = aws_sns_topic.order_placed.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.mail.arn
  raw_message_delivery = true
  # No order event may arrive before the queue lets the topic in.
  depends_on = [aws_sqs_queue_policy.mail]
}

# --- SES -------------------------------------------------------------------------
# The shop sends from the one identity Cognito already uses
# (aws_sesv2_email_identity.sender, main.tf): a domain, signed with Easy DKIM
# (records: output dkim_records), or, for a trial, a single address.

# Optional: bounces come back to a subdomain of the shop's (SPF aligned with the
# From domain) instead of amazonses.com. Records: output mail_from_records.
resource "aws_sesv2_email_identity_mail_from_attributes" "sender" {
  count                  = var.mail_from_subdomain != "" ? 1 : 0
  email_identity         = aws_sesv2_email_identity.sender.email_identity
  mail_from_domain       = "${var.mail_from_subdomain}.${var.email_identity}"
  behavior_on_mx_failure = "USE_DEFAULT_VALUE"

  lifecycle {
    precondition {
      condition     = local.sender_is_domain
      error_message = "mail_from_subdomain needs a domain identity (email_identity is an address)."
    }
  }
}

# Every shopper email names this set (SES_CONFIGURATION_SET). SES's own
# suppression list applies to it too: an address that hard-bounced or
# complained is refused by SES even before the shop's table has it. TLS to the
# recipient's server stays opportunistic (SES's default): a confirmation holds
# no secret, and REQUIRE would drop it for a mail server without STARTTLS.
resource "aws_sesv2_configuration_set" "mail" {
  configuration_set_name = "${local.name}-mail"

  reputation_options {
    reputation_metrics_enabled = true
  }
  sending_options {
    sending_enabled = true
  }
  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }
}

# SES publishes the set's bounces and complaints here; record_email_feedback
# is its subscriber (infra/app).
# What record_email_feedback could not record after Lambda's two async retries
# (its on-failure destination, infra/app): a bounce or complaint not yet
# suppressed. SES's account-level suppression list still holds the address;
# alarm in infra/app.
resource "aws_sqs_queue" "feedback_dlq" {
  name                      = "${local.name}-email-feedback-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  kms_master_key_id         = aws_kms_key.data.arn
}

resource "aws_sns_topic" "email_feedback" {
  name              = "${local.name}-email-feedback"
  kms_master_key_id = aws_kms_key.data.arn
}

resource "aws_sns_topic_policy" "email_feedback" {
  arn = aws_sns_topic.email_feedback.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SesPublishesFeedback"
        Effect    = "Allow"
        Principal = { Service = "ses.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.email_feedback.arn
        Condition = {
          StringEquals = { "AWS:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
    ]
  })
}

resource "aws_sesv2_configuration_set_event_destination" "feedback" {
  configuration_set_name = aws_sesv2_configuration_set.mail.configuration_set_name
  event_destination_name = "bounces-and-complaints"

  event_destination {
    enabled              = true
    matching_event_types = ["BOUNCE", "COMPLAINT"]
    sns_destination {
      topic_arn = aws_sns_topic.email_feedback.arn
    }
  }

  depends_on = [aws_sns_topic_policy.email_feedback]
}

# A mailer container sends one email at a time (two reads, SES, its mark: some
# 50 to 100 ms), so a share of the rate far above 10 a second is one it cannot
# reach: raise mailer_max_concurrency with ses_max_send_rate.
check "mailer_share_is_reachable" {
  assert {
    condition     = var.ses_max_send_rate / var.mailer_max_concurrency <= 10
    error_message = "Each of the mailer_max_concurrency containers would have to send more than 10 emails a second: raise mailer_max_concurrency."
  }
}
