output "notify_mapping_uuid" {
  value = aws_lambda_event_source_mapping.notify_orders.uuid
}

output "mail_mapping_uuid" {
  value = aws_lambda_event_source_mapping.send_emails.uuid
}

output "holds_mapping_uuid" {
  value = aws_lambda_event_source_mapping.release_holds.uuid
}

output "rooms_mapping_uuid" {
  value = aws_lambda_event_source_mapping.admit_shoppers.uuid
}
