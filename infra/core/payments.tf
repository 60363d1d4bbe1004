# --- Checkout that takes money (docs/payments.md) -----------------------------
# Every hold of a `pay` order puts one message on the holds queue, delayed until
# the hold ends (at most SQS's 15 minutes; release_holds sends a longer hold's
# message on again). release_holds (its event source mapping is infra/app's,
# made after chalice deploy) releases the hold if it is still unpaid. Stripe's
# secret key and webhook signing secret live in SSM, never in a config file.

locals {
  # The release function's Lambda timeout, where Chalice reads it: the queue's
  # visibility timeout is six times it (AWS's advice for Lambda consumers), so a
  # batch still running is never handed to a second container.
  release_timeout    = local.chalice.stages[var.stage].lambda_functions.release_holds.lambda_timeout
  holds_max_receives = 5
  # The operator writes the real values (docs/production.md: Payments); until
  # then Stripe refuses this one, and the webhook verifies nothing with it.
  stripe_placeholder = "set-by-the-operator"
}

# Holds release_holds failed on holds_max_receives times. Each is a hold the
# queue no longer releases: the lazy check (a read or /pay of the order) still
# releases it, but its units stay out of stock until then (alarm in infra/app).
resource "aws_sqs_queue" "holds_dlq" {
  name                      = "${local.name}-holds-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  kms_master_key_id         = aws_kms_key.data.arn
}

resource "aws_sqs_queue" "holds" {
  name                       = "${local.name}-holds"
  visibility_timeout_seconds = local.release_timeout * 6
  # Holds last at most an hour (holdMinutes 1..60): a message older than a day is
  # one nobody will miss; the DLQ keeps failures for longer.
  message_retention_seconds = 86400
  kms_master_key_id         = aws_kms_key.data.arn
  # Data keys are reused for SQS's longest period: one KMS call per 24 hours per
  # producer or consumer container, not one per hold.
  kms_data_key_reuse_period_seconds = 86400
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.holds_dlq.arn
    maxReceiveCount     = local.holds_max_receives
  })
}

# SecureStrings under the stage's data key (the functions' policies may decrypt
# with that key only). Terraform creates them with a placeholder and never
# writes them again: the operator puts the real value with
# `aws ssm put-parameter --overwrite`. (Terraform still reads the value into its
# state on refresh; the state bucket is encrypted and only the deploy role
# reads it.)
resource "aws_ssm_parameter" "stripe_secret_key" {
  name        = "/flashsale/${var.stage}/stripe/secret-key"
  description = "Stripe secret API key (sk_live_... or sk_test_...) of the ${local.name} shop"
  type        = "SecureString"
  key_id      = aws_kms_key.data.arn
  value       = local.stripe_placeholder

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "stripe_webhook_secret" {
  name        = "/flashsale/${var.stage}/stripe/webhook-secret"
  description = "Signing secret (whsec_...) of the Stripe webhook endpoint of the ${local.name} shop"
  type        = "SecureString"
  key_id      = aws_kms_key.data.arn
  value       = local.stripe_placeholder

  lifecycle {
    ignore_changes = [value]
  }
}
