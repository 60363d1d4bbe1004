terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0" # the schema infra/provider_schema.py checks against
    }
  }
  # Applied once per account by an administrator, with local state: this module
  # creates the bucket the others keep their state in (docs/production.md: First-time setup).
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project = "flashsale"
    }
  }
}
