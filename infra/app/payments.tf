# --- Checkout: the holds queue -> release_holds --------------------------------
# The queue is infra/core's; the function is a plain @app.lambda_function
# (Chalice's on_sqs_message cannot ask for partial batch responses, nor set a
# maximum concurrency), so its trigger is here, like the mailer's.

data "aws_sqs_queue" "holds" {
  name = "${local.name}-holds"
}

data "aws_lambda_function" "release_holds" {
  function_name = "${local.name}-release_holds"
}

# A hold's message arrives when the hold ends (its DelaySeconds): no batching
# window, so nothing waits on top of that for a batch to fill. A hold that fails
# to release is reported on its own and comes back after the queue's visibility
# timeout; the redrive policy sends it to the holds DLQ after 5 deliveries.
resource "aws_lambda_event_source_mapping" "release_holds" {
  event_source_arn                   = data.aws_sqs_queue.holds.arn
  function_name                      = data.aws_lambda_function.release_holds.arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 0
  function_response_types            = ["ReportBatchItemFailures"]

  # Releases are writes on the sale's hot stock items, like the orders that
  # compete for them: capped, so a wave of expiring holds cannot crowd out the
  # buyers (or exhaust the account's concurrency).
  scaling_config {
    maximum_concurrency = var.holds_max_concurrency
  }
}
