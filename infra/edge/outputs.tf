output "ui_bucket" {
  value = aws_s3_bucket.ui.bucket
}

output "distribution_id" {
  value = aws_cloudfront_distribution.shop.id
}

output "shop_url" {
  value = "https://${aws_cloudfront_distribution.shop.domain_name}"
}
