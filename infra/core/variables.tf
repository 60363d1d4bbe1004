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
  description = "Optional address sent a copy of every order event (AWS asks it to confirm); empty: none."
  type        = string
  default     = ""
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

variable "mail_sender" {
  description = "From of the shopper emails (MAIL_SENDER), within email_identity, e.g. \"FlashSale <orders@shop.example>\"; empty: email_from."
  type        = string
  default     = ""
}

variable "mail_from_subdomain" {
  description = "Custom MAIL FROM subdomain of a domain email_identity (e.g. \"mail\" for mail.<domain>); empty: SES's own."
  type        = string
  default     = ""
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?)?$", var.mail_from_subdomain))
    error_message = "mail_from_subdomain is one DNS label (or empty)."
  }
}

# The mailer's pacing and the mail queue's mapping come from these two: each of
# at most mailer_max_concurrency containers sends ses_max_send_rate /
# mailer_max_concurrency emails a second (the stage config writes both).
variable "ses_max_send_rate" {
  description = "Emails a second the shop may send: at most the account's SES sending rate, less what Cognito needs."
  type        = number
  default     = 14
  validation {
    condition     = var.ses_max_send_rate > 0
    error_message = "ses_max_send_rate must be positive."
  }
}

variable "mailer_max_concurrency" {
  description = "Maximum concurrency of the mail queue's event source mapping (2 to 1000, AWS's bounds)."
  type        = number
  default     = 2
  validation {
    condition     = floor(var.mailer_max_concurrency) == var.mailer_max_concurrency && var.mailer_max_concurrency >= 2 && var.mailer_max_concurrency <= 1000
    error_message = "mailer_max_concurrency is a whole number from 2 to 1000."
  }
}

# The browser's Stripe key: public by design (Stripe.js runs with it in every
# shopper's browser), so a plain variable; the secret key is SSM's.
variable "stripe_publishable_key" {
  description = "Stripe publishable key (pk_live_... or pk_test_...) the shop's checkout page uses."
  type        = string
  validation {
    condition     = can(regex("^pk_(live|test)_[A-Za-z0-9]+$", var.stripe_publishable_key))
    error_message = "stripe_publishable_key is a Stripe publishable key: pk_live_... or pk_test_..."
  }
}

variable "checkout_default" {
  description = "Checkout of products created without one (CHECKOUT_DEFAULT): pay (Stripe) or instant."
  type        = string
  default     = "pay"
  validation {
    condition     = contains(["pay", "instant"], var.checkout_default)
    error_message = "checkout_default is pay or instant."
  }
}

variable "currency_default" {
  description = "ISO 4217 currency, lower case, of products created without one (CURRENCY_DEFAULT)."
  type        = string
  default     = "usd"
  validation {
    condition     = can(regex("^[a-z]{3}$", var.currency_default))
    error_message = "currency_default is an ISO 4217 code in lower case, e.g. usd."
  }
}
