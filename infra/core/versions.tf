terraform {
  required_version = ">= 1.10" # use_lockfile: S3-native state locking
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0" # the schema infra/provider_schema.py checks against
    }
  }
  # State lives in S3; the bucket and key are given at `terraform init`
  # (-backend-config), see docs/production.md, "First-time setup".
  backend "s3" {}
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project = "flashsale"
      Stage   = var.stage
    }
  }
}
