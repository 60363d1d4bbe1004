# --- Operability: one dashboard, and alarms on what should wake someone --------
# Alarms go to the stage's ops topic (infra/core) and say when they clear.

data "aws_sns_topic" "ops" {
  name = "${local.name}-ops"
}

locals {
  api_function      = local.name # Chalice names the API function <app>-<stage>
  notify_function   = data.aws_lambda_function.notify_orders.function_name
  mailer_function   = data.aws_lambda_function.send_emails.function_name
  feedback_function = data.aws_lambda_function.record_email_feedback.function_name
  alarm_actions     = [data.aws_sns_topic.ops.arn]
  dlq_name          = "${local.name}-notify-dlq"
  mail_queue_name   = data.aws_sqs_queue.mail.name
  mail_dlq_name     = "${local.name}-mail-dlq"
  feedback_dlq_name = "${local.name}-email-feedback-dlq"
  release_function  = data.aws_lambda_function.release_holds.function_name
  holds_dlq_name    = "${local.name}-holds-dlq"
}

resource "aws_cloudwatch_dashboard" "sale" {
  dashboard_name = "${local.name}-sale"
  dashboard_body = templatefile("${path.module}/dashboard.json.tftpl", {
    region          = var.region
    service         = "flashsale"
    api_name        = var.api_name
    api_stage       = var.api_stage_name
    api_function    = local.api_function
    notify_function = local.notify_function
    products_table  = "${local.name}-products"
    orders_table    = "${local.name}-orders"
    purchases_table = "${local.name}-purchases"
    table_prefix    = "${local.name}-"
    dlq_name        = local.dlq_name
    web_acl         = "${local.name}-shop"
    mailer_function = local.mailer_function
    mail_queue      = local.mail_queue_name
    mail_dlq        = local.mail_dlq_name
    feedback_dlq    = local.feedback_dlq_name
    room_ticks      = local.room_ticks_queue_name
    room_ticks_dlq  = local.room_ticks_dlq_name
    admit_function  = local.admit_function
  })
}

# Shoppers get errors: more than 5% of API answers are 5xx (BUSY included) for
# 3 of 5 minutes.
resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.name}-api-5xx"
  alarm_description   = "More than 5% of API answers are 5xx: shoppers cannot buy."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = var.api_name, Stage = var.api_stage_name }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = 0.05
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  alarm_name          = "${local.name}-api-latency-p99"
  alarm_description   = "API p99 latency above ${var.latency_alarm_ms} ms for 5 minutes."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = { ApiName = var.api_name, Stage = var.api_stage_name }
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.latency_alarm_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# BUSY is the shop's answer when DynamoDB throttles or conflicts beyond its
# retries: a few are the price of a rush, a fifth of all attempts is an outage.
resource "aws_cloudwatch_metric_alarm" "busy_rate" {
  alarm_name          = "${local.name}-orders-busy"
  alarm_description   = "More than ${var.busy_alarm_percent}% of order attempts answered 503 BUSY."
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.busy_alarm_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "busy_rate"
    expression  = "100 * busy / (placed + rejected)"
    label       = "BUSY % of order attempts"
    return_data = true
  }
  metric_query {
    id = "busy"
    metric {
      namespace   = "FlashSale"
      metric_name = "OrdersRejected"
      dimensions  = { reason = "BUSY", service = "flashsale" }
      stat        = "Sum"
      period      = 60
    }
  }
  metric_query {
    id = "placed"
    metric {
      namespace   = "FlashSale"
      metric_name = "OrdersPlaced"
      dimensions  = { service = "flashsale" }
      stat        = "Sum"
      period      = 60
    }
  }
  # Alarms cannot SEARCH: every rejection reason the API counts, summed.
  metric_query {
    id         = "rejected"
    expression = "FILL(busy, 0) + FILL(r_stock, 0) + FILL(r_window, 0) + FILL(r_limit, 0) + FILL(r_invalid, 0) + FILL(r_missing, 0) + FILL(r_reused, 0) + FILL(r_forbidden, 0) + FILL(r_payment, 0)"
  }
  dynamic "metric_query" {
    for_each = {
      r_stock     = "OUT_OF_STOCK"
      r_window    = "SALE_NOT_ACTIVE"
      r_limit     = "PURCHASE_LIMIT_EXCEEDED"
      r_invalid   = "INVALID_REQUEST"
      r_missing   = "PRODUCT_NOT_FOUND"
      r_reused    = "IDEMPOTENCY_KEY_REUSED"
      r_forbidden = "FORBIDDEN"
      r_payment   = "PAYMENT_UNAVAILABLE"
    }
    content {
      id = metric_query.key
      metric {
        namespace   = "FlashSale"
        metric_name = "OrdersRejected"
        dimensions  = { reason = metric_query.value, service = "flashsale" }
        stat        = "Sum"
        period      = 60
      }
    }
  }
}

# An unhandled error in the API is a 502 for a shopper; in the notifier, a batch
# to retry; in the mailer, a batch that failed whole (SES or DynamoDB down);
# in the feedback handler, a bounce or complaint not recorded (Lambda retries
# SNS's asynchronous invocation twice); in the release function, a batch of
# holds that failed whole (they come back, then go to the holds DLQ); in the
# admitter, a batch of ticks that failed whole (a tick failing alone is reported
# to the mapping, not raised: the tick DLQ's alarm sees those). Throttles mean Lambda turned requests away.
resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = {
    api      = local.api_function
    notifier = local.notify_function
    mailer   = local.mailer_function
    feedback = local.feedback_function
    release  = local.release_function
    rooms    = local.admit_function
  }
  alarm_name          = "${local.name}-${each.key}-errors"
  alarm_description   = "${each.value} raised unhandled errors in 3 of the last 5 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "api_throttles" {
  alarm_name          = "${local.name}-api-throttles"
  alarm_description   = "Lambda throttled the API (account concurrency exhausted): shoppers get 5xx."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = local.api_function }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Confirmations lag: the oldest record the notifier has not got through is more
# than 5 minutes old (a backlog, an SNS outage, the reserved concurrency too low).
resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  alarm_name          = "${local.name}-confirmations-late"
  alarm_description   = "Order confirmations are more than 5 minutes behind."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = local.notify_function }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 300000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Anything in the DLQ is a confirmation nobody sent: replay it (docs/confirmations-and-email.md).
resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  alarm_name          = "${local.name}-notify-dlq-not-empty"
  alarm_description   = "The notifier gave up on orders: fix the cause, then make replay-dlq STAGE=${var.stage}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- Shopper emails ---------------------------------------------------------------

# Anything in the mail DLQ is an email nobody sent: fix the cause, then move the
# messages back (docs/production.md: Shopper emails in production).
resource "aws_cloudwatch_metric_alarm" "mail_dlq_depth" {
  alarm_name          = "${local.name}-mail-dlq-not-empty"
  alarm_description   = "The mailer gave up on shopper emails: fix the cause, then redrive ${local.mail_dlq_name} to ${local.mail_queue_name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.mail_dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# A bounce or complaint the feedback handler could not record (SES's own
# account-level suppression list still holds the address).
resource "aws_cloudwatch_metric_alarm" "feedback_dlq_depth" {
  alarm_name          = "${local.name}-email-feedback-dlq-not-empty"
  alarm_description   = "Bounces or complaints were not recorded: fix the cause, then feed ${local.feedback_dlq_name}'s messages to record_email_feedback."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.feedback_dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Mail falling behind: the oldest order event in the mail queue has waited
# longer than the threshold (a sale beyond the SES rate, SES throttling, the
# mailer failing).
resource "aws_cloudwatch_metric_alarm" "mail_late" {
  alarm_name          = "${local.name}-mail-late"
  alarm_description   = "Shopper emails are more than ${var.mail_late_alarm_seconds} s behind their orders."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = local.mail_queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = var.mail_late_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# SES's account-wide reputation (the rates SES itself reviews and pauses on;
# they count Cognito's mail too). Published only once there were bounces or
# complaints, and over a representative volume rather than a fixed window.
resource "aws_cloudwatch_metric_alarm" "ses_bounce_rate" {
  alarm_name          = "${local.name}-ses-bounce-rate"
  alarm_description   = "SES bounce rate above ${var.ses_bounce_rate_alarm * 100}% (SES reviews the account at 5%)."
  namespace           = "AWS/SES"
  metric_name         = "Reputation.BounceRate"
  statistic           = "Maximum"
  period              = 900
  evaluation_periods  = 1
  threshold           = var.ses_bounce_rate_alarm
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "ses_complaint_rate" {
  alarm_name          = "${local.name}-ses-complaint-rate"
  alarm_description   = "SES complaint rate above ${var.ses_complaint_rate_alarm * 100}% (SES reviews the account at 0.1%)."
  namespace           = "AWS/SES"
  metric_name         = "Reputation.ComplaintRate"
  statistic           = "Maximum"
  period              = 900
  evaluation_periods  = 1
  threshold           = var.ses_complaint_rate_alarm
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- Checkout (docs/payments.md) -----------------------------------------------

# Money taken for units the shop had already given back: the webhook came after
# the hold's release and the payment was refunded (Powertools' LateRefunds, EMF,
# the service dimension only). Any one is worth a look: holds too short, the
# release early, or Stripe's webhooks late (blocked, throttled, failing).
resource "aws_cloudwatch_metric_alarm" "late_refunds" {
  alarm_name          = "${local.name}-late-refunds"
  alarm_description   = "Payments succeeded after their hold was released and were refunded: check the webhook's delivery in Stripe and the holds' length."
  namespace           = "FlashSale"
  metric_name         = "LateRefunds"
  dimensions          = { service = "flashsale" }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Holds release_holds gave up on: their units stay out of stock until someone
# reads the order (the lazy check releases it). Fix the cause, then redrive the
# DLQ to the holds queue: releasing a hold twice changes nothing.
resource "aws_cloudwatch_metric_alarm" "holds_dlq_depth" {
  alarm_name          = "${local.name}-holds-dlq-not-empty"
  alarm_description   = "release_holds gave up on holds: fix the cause, then redrive ${local.holds_dlq_name} to ${data.aws_sqs_queue.holds.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.holds_dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- Waiting rooms (docs/waiting-room.md) -------------------------------------------

locals {
  admit_function        = data.aws_lambda_function.admit_shoppers.function_name
  room_ticks_queue_name = data.aws_sqs_queue.room_ticks.name
  room_ticks_dlq_name   = "${local.name}-room-ticks-dlq"
}

# Ticks admit_shoppers failed on three times. Each broke a room's chain of ticks
# until a shopper's poll restarted it (the watchdog, after 10 s): admission
# stood still meanwhile. Look at the admitter's logs; redriving is not needed
# (the tick number makes an old tick a no-op).
resource "aws_cloudwatch_metric_alarm" "room_ticks_dlq_depth" {
  alarm_name          = "${local.name}-room-ticks-dlq-not-empty"
  alarm_description   = "admit_shoppers gave up on waiting-room ticks: admission stalled until a poll restarted the room; check ${local.admit_function}'s logs (no redrive needed)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = local.room_ticks_dlq_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Ticks falling behind: the oldest tick has waited longer than the threshold
# (each is due a second after the last; the mapping's concurrency too low for
# the rooms open, the admitter slow, throttled or failing). Counted only while
# ticks are ready or being run: a room opened long before its start holds one
# tick delayed until the start (up to SQS's 15 minutes), which is no lag, should
# SQS count a delayed message's age from its send.
resource "aws_cloudwatch_metric_alarm" "room_ticks_late" {
  alarm_name          = "${local.name}-room-ticks-late"
  alarm_description   = "Waiting-room ticks are more than ${var.room_ticks_late_alarm_seconds} s late: admission lags its rate (raise rooms_max_concurrency, or check ${local.admit_function})."
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.room_ticks_late_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "late"
    expression  = "IF(ready + running > 0, age, 0)"
    label       = "oldest tick's age while ticks are due (s)"
    return_data = true
  }
  metric_query {
    id = "age"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = local.room_ticks_queue_name }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "ready"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = local.room_ticks_queue_name }
      stat        = "Maximum"
      period      = 60
    }
  }
  metric_query {
    id = "running"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesNotVisible"
      dimensions  = { QueueName = local.room_ticks_queue_name }
      stat        = "Maximum"
      period      = 60
    }
  }
}
