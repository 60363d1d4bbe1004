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

variable "api_name" {
  description = "The REST API's name (Chalice names it after the app); API Gateway's metrics use it."
  type        = string
  default     = "flashsale"
}

variable "api_stage_name" {
  description = "API Gateway stage (Chalice's api_gateway_stage)."
  type        = string
  default     = "api"
}

variable "busy_alarm_percent" {
  description = "Share of order attempts answered BUSY that wakes someone."
  type        = number
  default     = 20
}

variable "latency_alarm_ms" {
  description = "API p99 latency that wakes someone."
  type        = number
  default     = 3000
}

variable "mailer_max_concurrency" {
  description = "The mail queue mapping's maximum concurrency: infra/core's output mailer_max_concurrency, which the mailer's pace also divides by."
  type        = number
  validation {
    condition     = floor(var.mailer_max_concurrency) == var.mailer_max_concurrency && var.mailer_max_concurrency >= 2 && var.mailer_max_concurrency <= 1000
    error_message = "mailer_max_concurrency is a whole number from 2 to 1000."
  }
}

variable "mail_late_alarm_seconds" {
  description = "Age in seconds of the mail queue's oldest message that wakes someone (at 14 emails a second, 10,000 orders drain in 12 minutes)."
  type        = number
  default     = 900
}

# SES reviews an account at a 5% bounce or 0.1% complaint rate, and may pause
# it at 10% or 0.5%: wake someone well before.
variable "ses_bounce_rate_alarm" {
  description = "SES account bounce rate (0 to 1) that wakes someone."
  type        = number
  default     = 0.02
}

variable "ses_complaint_rate_alarm" {
  description = "SES account complaint rate (0 to 1) that wakes someone."
  type        = number
  default     = 0.0005
}

variable "holds_max_concurrency" {
  description = "Maximum concurrency of the holds queue's event source mapping (release_holds containers; 2 to 1000, AWS's bounds)."
  type        = number
  default     = 20
  validation {
    condition     = floor(var.holds_max_concurrency) == var.holds_max_concurrency && var.holds_max_concurrency >= 2 && var.holds_max_concurrency <= 1000
    error_message = "holds_max_concurrency is a whole number from 2 to 1000."
  }
}

variable "rooms_max_concurrency" {
  description = "Maximum concurrency of the room-ticks queue's event source mapping (admit_shoppers containers; 2 to 1000, AWS's bounds)."
  type        = number
  default     = 2
  validation {
    condition     = floor(var.rooms_max_concurrency) == var.rooms_max_concurrency && var.rooms_max_concurrency >= 2 && var.rooms_max_concurrency <= 1000
    error_message = "rooms_max_concurrency is a whole number from 2 to 1000."
  }
}

variable "room_ticks_late_alarm_seconds" {
  description = "Alarm when the oldest waiting-room tick due has waited longer than this (s): admission lags its rate."
  type        = number
  default     = 30
}
