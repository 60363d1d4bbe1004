data "aws_caller_identity" "current" {}

locals {
  name       = "flashsale-${var.stage}"
  api_domain = "${var.rest_api_id}.execute-api.${var.region}.amazonaws.com"
  ui_origin  = "ui"
  api_origin = "api"
}

# --- The shop UI: a private bucket only CloudFront can read -------------------

resource "aws_s3_bucket" "ui" {
  #checkov:skip=CKV_AWS_18:Only CloudFront reads this bucket (OAC); server access logs would need a log bucket of their own.
  #checkov:skip=CKV_AWS_145:CloudFront OAC reads SSE-S3 objects without a KMS grant, and the UI is public content anyway.
  #checkov:skip=CKV_AWS_144:The UI is rebuilt from git on every deploy; no cross-region copy is needed.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events from a static-site bucket.
  bucket = "${local.name}-ui-${data.aws_caller_identity.current.account_id}"
}

resource "aws_s3_bucket_public_access_block" "ui" {
  bucket                  = aws_s3_bucket.ui.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "ui" {
  bucket = aws_s3_bucket.ui.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "ui" {
  bucket = aws_s3_bucket.ui.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "ui" {
  bucket = aws_s3_bucket.ui.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "ui" {
  bucket = aws_s3_bucket.ui.id
  rule {
    id     = "expire-old-ui-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_cloudfront_origin_access_control" "ui" {
  name                              = "${local.name}-ui"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Only this distribution may read the bucket.
resource "aws_s3_bucket_policy" "ui" {
  bucket = aws_s3_bucket.ui.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudFrontReadsTheUi"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = "s3:GetObject"
        Resource  = "${aws_s3_bucket.ui.arn}/*"
        Condition = {
          StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.shop.arn }
        }
      },
      {
        Sid       = "HttpsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.ui.arn, "${aws_s3_bucket.ui.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.ui]
}

# --- Caching: a 1-second catalog absorbs a sale's refresh storm; orders never cache

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

# Managed-AllViewerExceptHostHeader, less x-api-key: a viewer's own key never
# reaches the API (the origin's custom header sets the real one).
resource "aws_cloudfront_origin_request_policy" "api" {
  name    = "${local.name}-api"
  comment = "All viewer headers but Host and x-api-key, all cookies and query strings"
  cookies_config {
    cookie_behavior = "all"
  }
  headers_config {
    header_behavior = "allExcept"
    headers {
      items = ["host", "x-api-key"]
    }
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

resource "aws_cloudfront_cache_policy" "catalog" {
  name        = "${local.name}-catalog-1s"
  comment     = "GET /products: every edge asks the API at most once a second"
  min_ttl     = 1
  default_ttl = 1
  max_ttl     = 1
  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# The waiting room's list of the frozen pre-queue (docs/waiting-room.md): fixed
# once published, so an edge keeps each page as long as the API says (a day).
resource "aws_cloudfront_cache_policy" "room_list" {
  name        = "${local.name}-room-list"
  comment     = "GET /products/{id}/queue/entries?page=n: immutable pages"
  min_ttl     = 0
  default_ttl = 60
  max_ttl     = 86400
  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "whitelist"
      query_strings {
        items = ["page"]
      }
    }
  }
}

resource "aws_cloudfront_response_headers_policy" "security" {
  name = "${local.name}-security-headers"
  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    content_security_policy {
      # Stripe.js and its card and 3-D Secure frames (docs/payments.md), as
      # Stripe's CSP guidance lists them; nothing else of a third party.
      content_security_policy = "default-src 'self'; script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; img-src 'self' https: data:; style-src 'self'; connect-src 'self' https://*.amazoncognito.com https://api.stripe.com; frame-ancestors 'none'"
      override                = true
    }
  }
}

resource "aws_cloudfront_function" "spa_routes" {
  name    = "${local.name}-spa-routes"
  runtime = "cloudfront-js-2.0"
  comment = "Console pages are the shop app's index.html"
  publish = true
  code    = file("${path.module}/spa_routes.js")
}

resource "aws_cloudfront_distribution" "shop" {
  #checkov:skip=CKV_AWS_86:Access logs need a log bucket this project does not run; CloudFront metrics are on.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate fixes TLSv1 as the floor; set a custom domain and certificate to raise it.
  #checkov:skip=CKV_AWS_310:One UI bucket and one API; an origin group would fail over to nothing.
  #checkov:skip=CKV_AWS_374:A flash sale sells worldwide; no geo restriction.
  #checkov:skip=CKV2_AWS_42:No custom domain yet, so the default certificate is used (see CKV_AWS_174).
  enabled             = true
  is_ipv6_enabled     = true
  default_root_object = "index.html"
  web_acl_id          = aws_wafv2_web_acl.shop.arn # waf.tf
  price_class         = "PriceClass_100"
  comment             = "FlashSale ${var.stage}: shop UI and /api"

  origin {
    origin_id                = local.ui_origin
    domain_name              = aws_s3_bucket.ui.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.ui.id
  }

  origin {
    origin_id   = local.api_origin
    domain_name = local.api_domain
    # The stage's API key: API Gateway refuses any request without it, so the
    # execute-api URL is no way around this distribution (and its WAF).
    custom_header {
      name  = "x-api-key"
      value = aws_api_gateway_api_key.cloudfront.value
    }
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id           = local.ui_origin
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id

    # Console pages are the app's index.html (not a custom error response, which
    # would also replace the API's own 403/404 bodies under /api).
    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.spa_routes.arn
    }
  }

  # The catalog: cached for one second at every edge.
  ordered_cache_behavior {
    path_pattern               = "/${var.api_stage_name}/products"
    target_origin_id           = local.api_origin
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.catalog.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  # A waiting room's public state: the same for every shopper, so one copy a
  # second per edge answers the whole crowd's polls (docs/waiting-room.md).
  # Joining (POST .../queue/join) has a path of its own and is not cached.
  ordered_cache_behavior {
    path_pattern               = "/${var.api_stage_name}/products/*/queue"
    target_origin_id           = local.api_origin
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.catalog.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  ordered_cache_behavior {
    path_pattern               = "/${var.api_stage_name}/products/*/queue/entries"
    target_origin_id           = local.api_origin
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.room_list.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  # Everything else under /api (orders above all): never cached, every header through.
  ordered_cache_behavior {
    path_pattern               = "/${var.api_stage_name}/*"
    target_origin_id           = local.api_origin
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.api.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

# --- Shopper sign-in: Cognito's hosted pages, returning to the shop (PKCE) ------

resource "aws_cognito_user_pool_domain" "shop" {
  domain       = "${local.name}-${data.aws_caller_identity.current.account_id}"
  user_pool_id = var.user_pool_id
}

# A public client for the browser: authorization code flow with PKCE, no secret.
resource "aws_cognito_user_pool_client" "shop_web" {
  name                                 = "${local.name}-shop-web"
  user_pool_id                         = var.user_pool_id
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = ["https://${aws_cloudfront_distribution.shop.domain_name}/"]
  logout_urls                          = ["https://${aws_cloudfront_distribution.shop.domain_name}/"]
  explicit_auth_flows                  = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  id_token_validity                    = 60
  access_token_validity                = 60
  refresh_token_validity               = 30
  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "days"
  }
}
