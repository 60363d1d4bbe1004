variable "region" {
  description = "AWS region of the stage."
  type        = string
  default     = "us-east-1"
}

variable "stage" {
  description = "Chalice stage (dev or prod)."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.stage)
    error_message = "stage must be dev or prod."
  }
}
