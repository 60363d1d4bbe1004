# --- Waiting rooms for hot drops (docs/waiting-room.md) -------------------------
# One table per stage: a room's item (seed, commitment, the admitter's state),
# one entry per shopper, the frozen pre-queue's list pages and the used-pass
# counters, all under the product's partition; the local secondary index gives
# the admitter the entries in arrival order.
resource "aws_dynamodb_table" "rooms" {
  name         = "${local.name}-rooms"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "productId"
  range_key    = "sk"

  attribute {
    name = "productId"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "arrival"
    type = "S"
  }

  local_secondary_index {
    name            = "arrival-index"
    range_key       = "arrival"
    projection_type = "ALL"
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

# --- The admitter's ticks ----------------------------------------------------------
# Each open room keeps one chain of delayed messages on this queue (one a second
# while it admits, one every five while it is sold out); admit_shoppers (its
# event source mapping is infra/app's, made after chalice deploy) runs each tick
# and sends the next. A lost or dead-lettered tick is sent again by the next
# shopper's poll (the watchdog, docs/waiting-room.md), so the DLQ is for looking
# at, not for redriving.

locals {
  # The admitter's Lambda timeout, where Chalice reads it: the visibility
  # timeout is six times it (AWS's advice for Lambda consumers), so a tick still
  # running is never handed to a second container.
  admit_timeout          = local.chalice.stages[var.stage].lambda_functions.admit_shoppers.lambda_timeout
  room_ticks_max_receive = 3
  # The operator writes the real key (docs/production.md: Waiting rooms); until
  # then the app refuses this one (chalicelib/wiring.py, ROOM_KEY_PLACEHOLDER)
  # and the rooms answer 503 BUSY rather than sign with a known key.
  room_key_placeholder = "set-by-the-operator"
}

# Ticks admit_shoppers failed on three times: that room's chain is broken until
# a poll restarts it (alarm in infra/app).
resource "aws_sqs_queue" "room_ticks_dlq" {
  name                      = "${local.name}-room-ticks-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's longest
  kms_master_key_id         = aws_kms_key.data.arn
}

resource "aws_sqs_queue" "room_ticks" {
  name                       = "${local.name}-room-ticks"
  visibility_timeout_seconds = local.admit_timeout * 6
  # A tick is worth something for seconds: one an hour old is long superseded
  # (the tick number makes it a no-op anyway).
  message_retention_seconds = 3600
  kms_master_key_id         = aws_kms_key.data.arn
  # One KMS call per 24 hours per producer or consumer container, not one per
  # tick (a room sends 3,600 an hour).
  kms_data_key_reuse_period_seconds = 86400
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.room_ticks_dlq.arn
    maxReceiveCount     = local.room_ticks_max_receive
  })
}

# The HMAC key of tickets and passes: a SecureString under the stage's data key,
# created with the placeholder and never written by Terraform again (the
# operator puts a random key of 32 bytes or more with `aws ssm put-parameter
# --overwrite`). Rotating it invalidates every outstanding ticket and pass.
resource "aws_ssm_parameter" "room_signing_key" {
  name        = "/flashsale/${var.stage}/rooms/signing-key"
  description = "HMAC-SHA256 key (32+ random bytes) signing the waiting-room tickets and passes of the ${local.name} shop"
  type        = "SecureString"
  key_id      = aws_kms_key.data.arn
  value       = local.room_key_placeholder

  lifecycle {
    ignore_changes = [value]
  }
}
