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
