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

output "feedback_dlq_arn" {
  value = aws_sqs_queue.feedback_dlq.arn
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

# The DNS records the sending domain must publish (Easy DKIM), for its owner:
# terraform output -json dkim_records.
output "dkim_records" {
  value = [
    for token in aws_sesv2_email_identity.sender.dkim_signing_attributes[0].tokens : {
      name  = "${token}._domainkey.${var.email_identity}"
      type  = "CNAME"
      value = "${token}.dkim.amazonses.com"
    }
  ]
}

# With mail_from_subdomain: the MX and SPF records of the MAIL FROM domain.
output "mail_from_records" {
  value = flatten([
    for attributes in aws_sesv2_email_identity_mail_from_attributes.sender : [
      { name = attributes.mail_from_domain, type = "MX", value = "10 feedback-smtp.${var.region}.amazonses.com" },
      { name = attributes.mail_from_domain, type = "TXT", value = "v=spf1 include:amazonses.com ~all" },
    ]
  ])
}

output "suppressions_table" {
  value = aws_dynamodb_table.suppressions.name
}

output "ses_configuration_set" {
  value = aws_sesv2_configuration_set.mail.configuration_set_name
}

# SES refuses (and the mailer then gives up on) mail from an address outside
# the verified identity: fail the plan instead.
output "mail_sender" {
  value = local.mail_sender
  precondition {
    condition = (
      local.mail_sender_address == lower(var.email_identity) ||
      endswith(local.mail_sender_address, "@${lower(var.email_identity)}") ||
      endswith(local.mail_sender_address, ".${lower(var.email_identity)}")
    )
    error_message = "The mail sender's address must be email_identity itself or at that domain (or a subdomain of it)."
  }
}

output "ses_max_send_rate" {
  value = var.ses_max_send_rate
}

output "mailer_max_concurrency" {
  value = var.mailer_max_concurrency
}

output "mail_queue_arn" {
  value = aws_sqs_queue.mail.arn
}

output "mail_dlq_arn" {
  value = aws_sqs_queue.mail_dlq.arn
}

output "email_feedback_topic_arn" {
  value = aws_sns_topic.email_feedback.arn
}

output "holds_queue_url" {
  value = aws_sqs_queue.holds.url
}

output "holds_queue_arn" {
  value = aws_sqs_queue.holds.arn
}

output "holds_dlq_arn" {
  value = aws_sqs_queue.holds_dlq.arn
}

# Names, not values: the functions read the secrets from SSM themselves.
output "stripe_secret_key_parameter" {
  value = aws_ssm_parameter.stripe_secret_key.name
}

output "stripe_webhook_secret_parameter" {
  value = aws_ssm_parameter.stripe_webhook_secret.name
}

output "stripe_publishable_key" {
  value = var.stripe_publishable_key
}

output "checkout_default" {
  value = var.checkout_default
}

output "currency_default" {
  value = var.currency_default
}

output "rooms_table" {
  value = aws_dynamodb_table.rooms.name
}

output "rooms_queue_url" {
  value = aws_sqs_queue.room_ticks.url
}

output "rooms_queue_arn" {
  value = aws_sqs_queue.room_ticks.arn
}

output "rooms_dlq_arn" {
  value = aws_sqs_queue.room_ticks_dlq.arn
}

# The name, not the value: the functions read the key from SSM themselves.
output "room_signing_key_parameter" {
  value = aws_ssm_parameter.room_signing_key.name
}
