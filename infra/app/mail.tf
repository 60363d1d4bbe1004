# --- Shopper emails: wiring the mailer and the feedback handler ---------------
# The queue, the topic and SES are infra/core's; the functions are Chalice's
# plain @app.lambda_function (Chalice's on_sqs_message cannot ask for partial
# batch responses, nor set a maximum concurrency), so their triggers are here.

data "aws_sqs_queue" "mail" {
  name = "${local.name}-mail"
}

data "aws_lambda_function" "send_emails" {
  function_name = "${local.name}-send_emails"
}

data "aws_lambda_function" "record_email_feedback" {
  function_name = "${local.name}-record_email_feedback"
}

data "aws_sns_topic" "email_feedback" {
  name = "${local.name}-email-feedback"
}

data "aws_sqs_queue" "feedback_dlq" {
  name = "${local.name}-email-feedback-dlq"
}

# Mail queue -> send_emails. A record that fails (SES throttling beyond the
# mailer's own retries, a read that failed) is reported on its own and comes
# back after the queue's visibility timeout; the queue's redrive policy sends
# it to the mail DLQ after 5 deliveries. The maximum concurrency is the number
# of containers sharing SES's rate (each paces itself to its share).
resource "aws_lambda_event_source_mapping" "send_emails" {
  event_source_arn                   = data.aws_sqs_queue.mail.arn
  function_name                      = data.aws_lambda_function.send_emails.arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.mailer_max_concurrency
  }
}

# Feedback topic -> record_email_feedback (bounces and complaints).
resource "aws_lambda_permission" "email_feedback" {
  statement_id  = "EmailFeedbackTopicInvokes"
  action        = "lambda:InvokeFunction"
  function_name = data.aws_lambda_function.record_email_feedback.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = data.aws_sns_topic.email_feedback.arn
}

# SNS invokes it asynchronously: Lambda retries a failed event twice, then sends
# it here instead of dropping it.
resource "aws_lambda_function_event_invoke_config" "record_email_feedback" {
  function_name                = data.aws_lambda_function.record_email_feedback.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = data.aws_sqs_queue.feedback_dlq.arn
    }
  }
}

resource "aws_sns_topic_subscription" "email_feedback" {
  topic_arn = data.aws_sns_topic.email_feedback.arn
  protocol  = "lambda"
  endpoint  = data.aws_lambda_function.record_email_feedback.arn
  # SNS's first delivery must find the permission in place.
  depends_on = [aws_lambda_permission.email_feedback]
}
