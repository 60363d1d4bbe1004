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

variable "ops_email" {
  description = "Address subscribed to the ops topic the alarms publish to (AWS asks it to confirm)."
  type        = string
}

variable "email_identity" {
  description = "SES identity the shop sends from: a domain (DKIM records to publish) or one address."
  type        = string
}

variable "email_from" {
  description = "From address of the shop's mail, within email_identity, e.g. \"FlashSale <no-reply@shop.example>\"."
  type        = string
}
