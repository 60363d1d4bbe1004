# Repository variables: AWS_DEPLOY_ROLE_ARN and TF_STATE_BUCKET.
output "deploy_role_arn" {
  value = aws_iam_role.deploy.arn
}

output "state_bucket" {
  value = aws_s3_bucket.state.bucket
}
