variable "region" {
  description = "Region of the state bucket (and of the stages)."
  type        = string
  default     = "us-east-1"
}

variable "state_bucket" {
  description = "Name of the S3 bucket for Terraform's and Chalice's state (globally unique)."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose deploy workflow assumes the role."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository is owner/name."
  }
}

variable "environments" {
  description = "GitHub environments (= stages) the deploy role is trusted for."
  type        = list(string)
  default     = ["prod", "dev"]
}
