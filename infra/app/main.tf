# What surrounds the functions `chalice deploy` created: applied after it, on
# every deploy. Resources of infra/core and Chalice are found by their names.

locals {
  name = "flashsale-${var.stage}"
  # One source for the stream mapping's settings: the local stack's poller
  # (local/delivery.py) plays the mapping with the same file.
  notify_mapping = jsondecode(file("${path.module}/notify_mapping.json"))
  # Which records reach the function: a new order, a fresh cancellation. The
  # bookkeeping writes that follow each (the stats marks, the notifier's and the
  # mailer's marks and leases) carry a mark these patterns exclude, so they are
  # dropped by the mapping instead of costing an invocation each. The poller
  # applies the same file.
  notify_filters = jsondecode(file("${path.module}/notify_filters.json"))
}

data "aws_dynamodb_table" "orders" {
  name = "${local.name}-orders"
}

data "aws_sqs_queue" "notify_dlq" {
  name = "${local.name}-notify-dlq"
}

data "aws_lambda_function" "notify_orders" {
  function_name = "${local.name}-notify_orders"
}

# --- Orders stream -> notify_orders -------------------------------------------
# Chalice cannot set any of this, and its CreateEventSourceMapping fails on every
# redeploy; so the mapping is Terraform's. Failed records are retried a bounded
# number of times from the first failure the function reports, a batch that
# fails whole is split to find the culprit, and what is given up goes to the DLQ
# as a pointer to the stream records (`make replay-dlq` sends those later).
resource "aws_lambda_event_source_mapping" "notify_orders" {
  event_source_arn               = data.aws_dynamodb_table.orders.stream_arn
  function_name                  = data.aws_lambda_function.notify_orders.arn
  starting_position              = local.notify_mapping.starting_position
  batch_size                     = local.notify_mapping.batch_size
  function_response_types        = local.notify_mapping.function_response_types
  maximum_retry_attempts         = local.notify_mapping.maximum_retry_attempts
  bisect_batch_on_function_error = local.notify_mapping.bisect_batch_on_function_error
  maximum_record_age_in_seconds  = local.notify_mapping.maximum_record_age_in_seconds

  filter_criteria {
    dynamic "filter" {
      for_each = local.notify_filters
      content {
        pattern = jsonencode(filter.value)
      }
    }
  }

  destination_config {
    on_failure {
      destination_arn = data.aws_sqs_queue.notify_dlq.arn
    }
  }
}
