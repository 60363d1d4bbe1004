variable "region" {
  description = "Region of the API (CloudFront itself is global)."
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

variable "rest_api_id" {
  description = "API Gateway REST API id that `chalice deploy` created (.chalice/deployed/<stage>.json)."
  type        = string
}

variable "api_stage_name" {
  description = "API Gateway stage; Chalice's api_gateway_stage, also the /api path prefix."
  type        = string
  default     = "api"
}

variable "throttle_rate_limit" {
  description = "Steady requests per second the API accepts before 429s."
  type        = number
  default     = 2000
}

variable "throttle_burst_limit" {
  description = "Burst of requests the API absorbs when a sale opens."
  type        = number
  default     = 5000
}

# A sale's payments arrive at the pace shoppers pay (a card form each), well
# below its orders; Stripe retries a refused event.
variable "webhook_throttle_rate_limit" {
  description = "Steady Stripe webhook requests per second the API accepts before 429s (Stripe retries those)."
  type        = number
  default     = 100
}

variable "webhook_throttle_burst_limit" {
  description = "Burst of Stripe webhook requests the API absorbs."
  type        = number
  default     = 200
}

variable "user_pool_id" {
  description = "The shoppers' Cognito user pool (infra/core output user_pool_id)."
  type        = string
}

variable "waf_requests_per_ip" {
  description = "Requests one IP address may send in 5 minutes (all paths; WAF counts cached ones too) before 429s."
  type        = number
  default     = 1500
}

variable "waf_orders_per_ip" {
  description = "POST /api/orders one IP address may send in a minute before 429s (bots buying out a sale)."
  type        = number
  default     = 20
}

variable "waf_block_hosting_providers" {
  description = "Block requests from cloud hosting providers' addresses (AWSManagedRulesAnonymousIpList); on for a sale."
  type        = bool
  default     = false
}

variable "smoke_token" {
  description = "Value of the x-flashsale-smoke header that lets the deploy's smoke test past the WAF; empty: no bypass."
  type        = string
  default     = ""
  sensitive   = true
}
