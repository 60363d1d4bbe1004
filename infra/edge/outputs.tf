output "ui_bucket" {
  value = aws_s3_bucket.ui.bucket
}

output "distribution_id" {
  value = aws_cloudfront_distribution.shop.id
}

output "shop_url" {
  value = "https://${aws_cloudfront_distribution.shop.domain_name}"
}

# The UI is built with these (VITE_COGNITO_DOMAIN, VITE_COGNITO_CLIENT_ID).
output "cognito_domain" {
  value = "https://${aws_cognito_user_pool_domain.shop.domain}.auth.${var.region}.amazoncognito.com"
}

output "web_client_id" {
  value = aws_cognito_user_pool_client.shop_web.id
}

output "api_key_id" {
  value = aws_api_gateway_api_key.cloudfront.id
}
