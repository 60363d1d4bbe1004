# `python -m infra.stage_config <stage>` copies these into .chalice/config.json.
output "region" {
  value = var.region
}

output "products_table" {
  value = aws_dynamodb_table.products.name
}

output "orders_table" {
  value = aws_dynamodb_table.orders.name
}

output "purchases_table" {
  value = aws_dynamodb_table.purchases.name
}

output "orders_by_user_index" {
  value = local.orders_index
}

output "orders_by_product_index" {
  value = local.orders_by_product_index
}

output "sales_stats_table" {
  value = aws_dynamodb_table.stats.name
}

output "orders_stream_arn" {
  value = aws_dynamodb_table.orders.stream_arn
}

output "order_topic_arn" {
  value = aws_sns_topic.order_placed.arn
}

output "data_key_arn" {
  value = aws_kms_key.data.arn
}

output "notify_dlq_arn" {
  value = aws_sqs_queue.notify_dlq.arn
}

output "user_pool_arn" {
  value = aws_cognito_user_pool.shoppers.arn
}

output "user_pool_id" {
  value = aws_cognito_user_pool.shoppers.id
}

output "ops_topic_arn" {
  value = aws_sns_topic.ops.arn
}

output "sender_identity_arn" {
  value = aws_sesv2_email_identity.sender.arn
}

# Publish these as CNAMEs <token>._domainkey.<domain> -> <token>.dkim.amazonses.com.
output "dkim_tokens" {
  value = aws_sesv2_email_identity.sender.dkim_signing_attributes[0].tokens
}

output "smoke_client_id" {
  value = aws_cognito_user_pool_client.smoke.id
}
