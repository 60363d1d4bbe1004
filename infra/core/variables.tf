variable "region" {
  description = "AWS region for every FlashSale resource."
  type        = string
  default     = "us-east-1"
}

variable "stage" {
  description = "Chalice stage these resources serve (dev or prod)."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.stage)
    error_message = "stage must be dev or prod."
  }
}

variable "notification_email" {
  description = "Address subscribed to the order-placed topic (AWS asks it to confirm)."
  type        = string
}
