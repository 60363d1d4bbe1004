# --- Waiting rooms: the tick queue -> admit_shoppers ----------------------------
# The queue is infra/core's; the function is a plain @app.lambda_function
# (Chalice's on_sqs_message cannot ask for partial batch responses, nor set a
# maximum concurrency), so its trigger is here, like the release function's.

data "aws_sqs_queue" "room_ticks" {
  name = "${local.name}-room-ticks"
}

data "aws_lambda_function" "admit_shoppers" {
  function_name = "${local.name}-admit_shoppers"
}

# A tick arrives when it is due (its DelaySeconds, one a second per open room):
# no batching window, so nothing waits on top of that for a batch to fill and
# admission keeps its pace. A tick that fails is reported on its own (the
# others of the batch are done); it comes back after the queue's visibility
# timeout, and after 3 deliveries goes to the tick DLQ (a shopper's poll
# restarts that room's chain long before).
resource "aws_lambda_event_source_mapping" "admit_shoppers" {
  event_source_arn                   = data.aws_sqs_queue.room_ticks.arn
  function_name                      = data.aws_lambda_function.admit_shoppers.arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 0
  function_response_types            = ["ReportBatchItemFailures"]

  # A tick is a handful of requests and each room has one chain: a couple of
  # containers keep up with tens of open rooms, and the cap keeps the admitter
  # from taking concurrency the buyers' API needs.
  scaling_config {
    maximum_concurrency = var.rooms_max_concurrency
  }
}
