# Once per AWS account: the state bucket, GitHub's OIDC provider, and the role
# the deploy workflow assumes, allowed exactly what that workflow does
# (deploy-policy.json.tftpl; tests/infra/test_deploy_role.py derives the list).

data "aws_caller_identity" "current" {}

# --- State: Terraform's and Chalice's deployed state, versioned and encrypted ---

resource "aws_kms_key" "state" {
  description             = "flashsale Terraform and Chalice state"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
    ]
  })
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access to state is by the deploy role and admins only, and CloudTrail records it; a log bucket would need a log bucket.
  #checkov:skip=CKV_AWS_144:State is small and versioned; a second region's copy would not be used to deploy.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to state changes.
  bucket = var.state_bucket
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "keep-old-states-90-days"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# --- GitHub Actions: OIDC, no stored keys ---------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # AWS trusts GitHub's certificate authority for this issuer; the list is kept
  # because the API still asks for one.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

resource "aws_iam_role" "deploy" {
  name                 = "flashsale-deploy"
  description          = "Assumed by ${var.github_repository}'s deploy workflow (environments ${join(", ", var.environments)})"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { Federated = aws_iam_openid_connect_provider.github.arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            # Only jobs of this repository running in these GitHub environments,
            # which can require reviewers: not any branch, fork or pull request.
            "token.actions.githubusercontent.com:sub" = [
              for environment in var.environments : "repo:${var.github_repository}:environment:${environment}"
            ]
          }
        }
      },
    ]
  })
}

resource "aws_iam_role_policy" "deploy" {
  name = "flashsale-deploy"
  role = aws_iam_role.deploy.id
  policy = templatefile("${path.module}/deploy-policy.json.tftpl", {
    account_id    = data.aws_caller_identity.current.account_id
    state_bucket  = aws_s3_bucket.state.bucket
    state_key_arn = aws_kms_key.state.arn
  })
}
