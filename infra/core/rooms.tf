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
