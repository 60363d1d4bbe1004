"""The deploy role (infra/bootstrap) may do exactly what the deploy workflow does.

What the workflow does is derived here: its `aws` CLI calls (parsed from
.github/workflows/deploy.yml), the AWS calls of its Python tools (recorded while
they run against moto), what `chalice deploy` calls for this app, and what
Terraform needs for each resource and data source type the modules use (a
table: a new type fails until it is added). Every such need must be allowed,
and every permission granted must be such a need.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest
from moto import mock_aws

from deploy import chalice_state, smoke

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
ACCOUNT = "111122223333"
REGION = "us-east-1"
STATE_BUCKET = "acme-flashsale-tfstate"
STATE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/state-0a1b"

Need = tuple[str, str]  # (IAM action, resource ARN)

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/flashsale-prod-orders"
PRODUCTS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/flashsale-prod-products"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:flashsale-prod-order-placed"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:flashsale-prod-notify-dlq"
POOL = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/us-east-1_abc"
IDENTITY = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/shop.example"
CONFIGURATION_SET = f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/flashsale-prod-mail"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/flashsale-prod-api_handler"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:flashsale-prod-notify_orders"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/flashsale-prod-api_handler"
WAF_LOGS = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws-waf-logs-flashsale-prod"
API_LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/flashsale-prod"
REST_API = f"arn:aws:apigateway:{REGION}::/restapis/abc123"
DISTRIBUTION = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1ABC"
WEB_ACL = f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/flashsale-prod-shop/0a1b"
UI_BUCKET = f"arn:aws:s3:::flashsale-prod-ui-{ACCOUNT}"
ALARM = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:flashsale-prod-api-5xx"
DASHBOARD = f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/flashsale-prod-sale"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/flashsale/prod/stripe/secret-key"

# What Terraform calls to create, read, update and delete each type the modules
# use (the AWS provider's CRUD calls; tags through default_tags).
TERRAFORM: dict[tuple[str, ...], set[Need]] = {
    ("data", "aws_caller_identity"): set(),  # sts:GetCallerIdentity needs no permission
    ("resource", "aws_dynamodb_table"): {(f"dynamodb:{a}", TABLE) for a in (
        "CreateTable", "DeleteTable", "DescribeTable", "UpdateTable", "DescribeContinuousBackups",
        "UpdateContinuousBackups", "DescribeTimeToLive", "UpdateTimeToLive", "ListTagsOfResource",
        "TagResource", "UntagResource")},
    # A table encrypted with a customer-managed key: DynamoDB takes a grant on it
    # for the caller.
    ("resource", "aws_dynamodb_table", "kms"): {("kms:CreateGrant", KEY), ("kms:DescribeKey", KEY)},
    ("data", "aws_dynamodb_table"): {("dynamodb:DescribeTable", TABLE),
                                     ("dynamodb:ListTagsOfResource", TABLE)},
    ("resource", "aws_kms_key"): {("kms:CreateKey", "*"), ("kms:TagResource", "*")} | {
        (f"kms:{a}", KEY) for a in ("DescribeKey", "GetKeyPolicy", "PutKeyPolicy",
        "GetKeyRotationStatus", "EnableKeyRotation", "ListResourceTags", "UntagResource",
        "ScheduleKeyDeletion")},
    ("resource", "aws_kms_alias"): {("kms:ListAliases", "*")} | {
        (f"kms:{a}", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/flashsale-prod-data")
        for a in ("CreateAlias", "DeleteAlias", "UpdateAlias")},
    ("resource", "aws_sns_topic"): {(f"sns:{a}", TOPIC) for a in (
        "CreateTopic", "DeleteTopic", "GetTopicAttributes", "SetTopicAttributes",
        "ListTagsForResource", "TagResource", "UntagResource")},
    ("data", "aws_sns_topic"): {("sns:ListTopics", "*")},
    ("resource", "aws_sns_topic_subscription"): {(f"sns:{a}", TOPIC) for a in (
        "Subscribe", "Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes",
        "ListSubscriptionsByTopic")},
    ("resource", "aws_sqs_queue"): {(f"sqs:{a}", QUEUE) for a in (
        "CreateQueue", "DeleteQueue", "GetQueueAttributes", "SetQueueAttributes", "GetQueueUrl",
        "ListQueueTags", "TagQueue", "UntagQueue")},
    ("data", "aws_sqs_queue"): {("sqs:GetQueueUrl", QUEUE), ("sqs:GetQueueAttributes", QUEUE),
                                ("sqs:ListQueueTags", QUEUE)},
    ("resource", "aws_cognito_user_pool"): {("cognito-idp:CreateUserPool", "*")} | {
        (f"cognito-idp:{a}", POOL) for a in ("DescribeUserPool", "UpdateUserPool",
        "DeleteUserPool", "GetUserPoolMfaConfig", "SetUserPoolMfaConfig", "ListTagsForResource",
        "TagResource", "UntagResource")} | {
        # Cognito's email through SES creates its service-linked role once.
        ("iam:CreateServiceLinkedRole",
         f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/email.cognito-idp.amazonaws.com/x")},
    ("resource", "aws_cognito_user_pool_client"): {(f"cognito-idp:{a}", POOL) for a in (
        "CreateUserPoolClient", "DescribeUserPoolClient", "UpdateUserPoolClient",
        "DeleteUserPoolClient")},
    ("resource", "aws_cognito_user_group"): {(f"cognito-idp:{a}", POOL) for a in (
        "CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup")},
    ("resource", "aws_cognito_user_pool_domain"): {
        ("cognito-idp:CreateUserPoolDomain", POOL), ("cognito-idp:DeleteUserPoolDomain", POOL),
        ("cognito-idp:DescribeUserPoolDomain", "*")},
    ("resource", "aws_sesv2_email_identity"): {(f"ses:{a}", IDENTITY) for a in (
        "CreateEmailIdentity", "GetEmailIdentity", "DeleteEmailIdentity", "ListTagsForResource",
        "TagResource", "UntagResource")},
    # Deleted by putting empty attributes.
    ("resource", "aws_sesv2_email_identity_mail_from_attributes"): {
        ("ses:PutEmailIdentityMailFromAttributes", IDENTITY), ("ses:GetEmailIdentity", IDENTITY)},
    # Updates put only the option blocks the module sets (reputation, sending,
    # suppression).
    ("resource", "aws_sesv2_configuration_set"): {(f"ses:{a}", CONFIGURATION_SET) for a in (
        "CreateConfigurationSet", "GetConfigurationSet", "DeleteConfigurationSet",
        "PutConfigurationSetReputationOptions", "PutConfigurationSetSendingOptions",
        "PutConfigurationSetSuppressionOptions", "ListTagsForResource", "TagResource",
        "UntagResource")},
    ("resource", "aws_sesv2_configuration_set_event_destination"): {
        (f"ses:{a}", CONFIGURATION_SET) for a in (
        "CreateConfigurationSetEventDestination", "GetConfigurationSetEventDestinations",
        "UpdateConfigurationSetEventDestination", "DeleteConfigurationSetEventDestination")},
    ("resource", "aws_sns_topic_policy"): {(f"sns:{a}", TOPIC) for a in (
        "SetTopicAttributes", "GetTopicAttributes")},
    ("resource", "aws_sqs_queue_policy"): {(f"sqs:{a}", QUEUE) for a in (
        "SetQueueAttributes", "GetQueueAttributes")},
    ("resource", "aws_lambda_permission"): {(f"lambda:{a}", FUNCTION) for a in (
        "AddPermission", "RemovePermission", "GetPolicy")},
    ("data", "aws_lambda_function"): {(f"lambda:{a}", FUNCTION) for a in (
        "GetFunction", "GetFunctionCodeSigningConfig", "ListVersionsByFunction")},
    ("resource", "aws_lambda_function_event_invoke_config"): {(f"lambda:{a}", FUNCTION) for a in (
        "PutFunctionEventInvokeConfig", "GetFunctionEventInvokeConfig",
        "UpdateFunctionEventInvokeConfig", "DeleteFunctionEventInvokeConfig")},
    ("resource", "aws_lambda_event_source_mapping"): {(f"lambda:{a}", "*") for a in (
        "CreateEventSourceMapping", "GetEventSourceMapping", "UpdateEventSourceMapping",
        "DeleteEventSourceMapping")},
    # A SecureString under the stage's data key: SSM encrypts on put and, as
    # Terraform reads the value back, decrypts with the caller's permission.
    ("resource", "aws_ssm_parameter"): {(f"ssm:{a}", PARAMETER) for a in (
        "PutParameter", "GetParameter", "DeleteParameter", "ListTagsForResource",
        "AddTagsToResource", "RemoveTagsFromResource")} | {
        ("ssm:DescribeParameters", "*"), ("kms:Encrypt", KEY), ("kms:Decrypt", KEY)},
    ("resource", "aws_cloudwatch_dashboard"): {(f"cloudwatch:{a}", DASHBOARD) for a in (
        "PutDashboard", "GetDashboard", "DeleteDashboards")},
    ("resource", "aws_cloudwatch_metric_alarm"): {(f"cloudwatch:{a}", ALARM) for a in (
        "PutMetricAlarm", "DescribeAlarms", "DeleteAlarms", "ListTagsForResource",
        "TagResource", "UntagResource")},
    ("resource", "aws_cloudwatch_log_group"): {("logs:DescribeLogGroups", "*")} | {
        (f"logs:{a}", group) for group in (WAF_LOGS, API_LOGS) for a in ("CreateLogGroup",
        "DeleteLogGroup", "PutRetentionPolicy", "ListTagsForResource", "TagResource",
        "UntagResource")},
    ("resource", "aws_api_gateway_api_key"): {(f"apigateway:{v}", f"arn:aws:apigateway:{REGION}::/apikeys/k1")
                                               for v in ("GET", "POST", "PATCH", "DELETE")}
                                              | {("apigateway:POST", f"arn:aws:apigateway:{REGION}::/apikeys")},
    ("resource", "aws_api_gateway_usage_plan"): {(f"apigateway:{v}", f"arn:aws:apigateway:{REGION}::/usageplans/u1")
                                                  for v in ("GET", "POST", "PATCH", "DELETE")}
                                                 | {("apigateway:POST", f"arn:aws:apigateway:{REGION}::/usageplans")},
    ("resource", "aws_api_gateway_usage_plan_key"): {
        (f"apigateway:{v}", f"arn:aws:apigateway:{REGION}::/usageplans/u1/keys/k1")
        for v in ("GET", "POST", "DELETE")},
    ("resource", "aws_api_gateway_method_settings"): {
        ("apigateway:PATCH", f"{REST_API}/stages/api"), ("apigateway:GET", f"{REST_API}/stages/api")},
    ("resource", "aws_api_gateway_gateway_response"): {
        (f"apigateway:{v}", f"{REST_API}/gatewayresponses/THROTTLED") for v in ("GET", "PUT", "DELETE")},
    ("resource", "aws_cloudfront_distribution"): {(f"cloudfront:{a}", DISTRIBUTION) for a in (
        "CreateDistribution", "GetDistribution", "UpdateDistribution", "DeleteDistribution",
        "ListTagsForResource", "TagResource", "UntagResource")} | {("wafv2:GetWebACL", WEB_ACL)},
    ("resource", "aws_cloudfront_function"): {
        (f"cloudfront:{a}", f"arn:aws:cloudfront::{ACCOUNT}:function/flashsale-prod-spa-routes")
        for a in ("CreateFunction", "DescribeFunction", "GetFunction", "UpdateFunction",
                  "PublishFunction", "DeleteFunction")},
    ("resource", "aws_cloudfront_origin_access_control"): {
        (f"cloudfront:{a}OriginAccessControl", f"arn:aws:cloudfront::{ACCOUNT}:origin-access-control/O1")
        for a in ("Create", "Get", "Update", "Delete")},
    ("resource", "aws_cloudfront_cache_policy"): {
        (f"cloudfront:{a}CachePolicy", f"arn:aws:cloudfront::{ACCOUNT}:cache-policy/C1")
        for a in ("Create", "Get", "Update", "Delete")},
    ("data", "aws_cloudfront_cache_policy"): {
        ("cloudfront:ListCachePolicies", "*"),
        ("cloudfront:GetCachePolicy", f"arn:aws:cloudfront::{ACCOUNT}:cache-policy/managed")},
    ("resource", "aws_cloudfront_origin_request_policy"): {
        (f"cloudfront:{a}OriginRequestPolicy", f"arn:aws:cloudfront::{ACCOUNT}:origin-request-policy/R1")
        for a in ("Create", "Get", "Update", "Delete")},
    ("resource", "aws_cloudfront_response_headers_policy"): {
        (f"cloudfront:{a}ResponseHeadersPolicy", f"arn:aws:cloudfront::{ACCOUNT}:response-headers-policy/H1")
        for a in ("Create", "Get", "Update", "Delete")},
    ("resource", "aws_s3_bucket"): {(f"s3:{a}", UI_BUCKET) for a in (
        "CreateBucket", "DeleteBucket", "ListBucket", "GetBucketAcl", "GetBucketCORS",
        "GetBucketWebsite", "GetBucketVersioning", "GetAccelerateConfiguration",
        "GetBucketRequestPayment", "GetBucketLogging", "GetLifecycleConfiguration",
        "GetReplicationConfiguration", "GetEncryptionConfiguration",
        "GetBucketObjectLockConfiguration", "GetBucketTagging", "PutBucketTagging",
        "GetBucketPolicy")},
    ("resource", "aws_s3_bucket_lifecycle_configuration"): {
        ("s3:GetLifecycleConfiguration", UI_BUCKET), ("s3:PutLifecycleConfiguration", UI_BUCKET)},
    ("resource", "aws_s3_bucket_ownership_controls"): {
        ("s3:GetBucketOwnershipControls", UI_BUCKET), ("s3:PutBucketOwnershipControls", UI_BUCKET)},
    ("resource", "aws_s3_bucket_policy"): {(f"s3:{a}", UI_BUCKET) for a in (
        "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy")},
    ("resource", "aws_s3_bucket_public_access_block"): {
        ("s3:GetBucketPublicAccessBlock", UI_BUCKET), ("s3:PutBucketPublicAccessBlock", UI_BUCKET)},
    ("resource", "aws_s3_bucket_server_side_encryption_configuration"): {
        ("s3:GetEncryptionConfiguration", UI_BUCKET), ("s3:PutEncryptionConfiguration", UI_BUCKET)},
    ("resource", "aws_s3_bucket_versioning"): {
        ("s3:GetBucketVersioning", UI_BUCKET), ("s3:PutBucketVersioning", UI_BUCKET)},
    ("resource", "aws_wafv2_web_acl"): {(f"wafv2:{a}", WEB_ACL) for a in (
        "CreateWebACL", "GetWebACL", "UpdateWebACL", "DeleteWebACL", "ListTagsForResource",
        "TagResource", "UntagResource")} | {
        # Managed rule groups are named in the ACL: WAF checks the caller may use them.
        ("wafv2:CreateWebACL", f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/managedruleset/AWS/x")},
    ("resource", "aws_wafv2_web_acl_logging_configuration"): {
        (f"wafv2:{a}", WEB_ACL) for a in ("PutLoggingConfiguration", "GetLoggingConfiguration",
        "DeleteLoggingConfiguration")} | {(f"logs:{a}", "*") for a in (
        "CreateLogDelivery", "DeleteLogDelivery", "PutResourcePolicy", "DescribeResourcePolicies")},
}  # fmt: skip

# What `chalice deploy` calls for this app: two functions with their own roles
# and log groups, reserved concurrency, a REST API (Chalice's deployer and
# awsclient; it cannot be rehearsed offline: moto imports OpenAPI 3 only).
CHALICE_DEPLOY: set[Need] = {(f"iam:{a}", ROLE) for a in (
    "GetRole", "CreateRole", "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy",
    "UpdateAssumeRolePolicy", "PassRole", "DeleteRole", "TagRole")} | {
    (f"lambda:{a}", FUNCTION) for a in (
    "GetFunction", "CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration",
    "GetFunctionConfiguration", "DeleteFunction", "AddPermission", "RemovePermission",
    "GetPolicy", "PutFunctionConcurrency", "DeleteFunctionConcurrency", "ListTags",
    "TagResource", "UntagResource")} | {
    ("logs:DescribeLogGroups", "*"), ("logs:CreateLogGroup", LOG_GROUP),
    ("logs:PutRetentionPolicy", LOG_GROUP), ("logs:DeleteLogGroup", LOG_GROUP)} | {
    (f"apigateway:{v}", REST_API) for v in ("GET", "PUT", "PATCH", "DELETE")} | {
    ("apigateway:POST", f"arn:aws:apigateway:{REGION}::/restapis"),
    ("apigateway:POST", f"{REST_API}/deployments"),
    ("apigateway:GET", f"{REST_API}/stages/api")}  # fmt: skip


@pytest.fixture(scope="module")
def policy() -> list[dict[str, Any]]:
    template = (ROOT / "infra" / "bootstrap" / "deploy-policy.json.tftpl").read_text()
    values = {"account_id": ACCOUNT, "state_bucket": STATE_BUCKET, "state_key_arn": STATE_KEY}
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)
    return list(json.loads(rendered)["Statement"])


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM wildcard matching; conditions only narrow, and are checked apart."""
    return any(
        s["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s["Action"])
        and any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"])
        for s in statements
    )


def workflow_cli_needs() -> set[Need]:
    """The (action, resource) of every `aws` CLI call in the deploy workflow."""
    text = WORKFLOW.read_text().replace("\\\n", " ")
    calls = set(re.findall(r"\baws ([a-z0-9-]+) ([a-z0-9-]+)", text))
    needs: set[Need] = set()
    special: dict[tuple[str, str], set[Need]] = {
        ("s3", "sync"): {("s3:ListBucket", UI_BUCKET), ("s3:PutObject", f"{UI_BUCKET}/index.html"),
                         ("s3:DeleteObject", f"{UI_BUCKET}/old.js")},
        ("apigateway", "create-deployment"): {("apigateway:POST", f"{REST_API}/deployments")},
        ("cloudfront", "create-invalidation"): {("cloudfront:CreateInvalidation", DISTRIBUTION)},
        ("lambda", "list-event-source-mappings"): {("lambda:ListEventSourceMappings", "*")},
        ("logs", "describe-log-groups"): {("logs:DescribeLogGroups", "*")},
        ("dynamodb", "delete-item"): {("dynamodb:DeleteItem", PRODUCTS)},
    }  # fmt: skip
    resources = {"cognito-idp": POOL}
    for service, command in calls:
        if (service, command) in special:
            needs |= special[(service, command)]
            continue
        assert service in resources, f"map `aws {service} {command}` in this test"
        action = "".join(part.capitalize() for part in command.split("-"))
        needs.add((f"{service}:{action}", resources[service]))
    assert ("cognito-idp", "admin-create-user") in calls and ("s3", "sync") in calls
    return needs


def recorded(client: Any, calls: list[str]) -> None:
    client.meta.events.register(
        "provide-client-params.*.*",
        lambda params, model, **kwargs: calls.append(
            f"{client.meta.service_model.signing_name}:{model.name}"
        ),
    )


@pytest.fixture(scope="module")
def tool_needs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[Need]]:
    """The deploy tools' AWS calls, recorded while they do what the workflow asks."""
    calls: list[str] = []
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=STATE_BUCKET)
        lambda_client = boto3.client("lambda", region_name=REGION)
        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool = cognito.create_user_pool(PoolName="p")["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool,
            ClientName="smoke",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
        )["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(UserPoolId=pool, Username="smoke", MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool, Username="smoke", Password="Smoke-Passw0rd-1!", Permanent=True
        )
        for client in (s3, lambda_client, cognito):
            recorded(client, calls)
        project = tmp_path_factory.mktemp("runner")
        chalice_state.lock(s3, STATE_BUCKET, "prod", "run-1")
        chalice_state.restore(s3, STATE_BUCKET, "prod", project, lambda_client)
        deployed = chalice_state.deployed_file(project, "prod")
        deployed.parent.mkdir(parents=True, exist_ok=True)
        deployed.write_text('{"resources": []}')
        chalice_state.save(s3, STATE_BUCKET, "prod", project, owner="run-1")
        chalice_state.unlock(s3, STATE_BUCKET, "prod", "run-1")
        smoke.sign_in(cognito, pool, client_id, "smoke", "Smoke-Passw0rd-1!")
    state_object = f"arn:aws:s3:::{STATE_BUCKET}/flashsale/prod/chalice-deployed.json"
    arns = {"s3": state_object, "lambda": FUNCTION, "cognito-idp": POOL}
    needs = set()
    for call in calls:
        service, operation = call.split(":")
        action = {"HeadObject": "GetObject"}.get(operation, operation)
        needs.add((f"{service}:{action}", arns[service]))
    # The smoke test's admin request goes through API Gateway's IAM authorizer.
    needs.add(
        (
            "execute-api:Invoke",
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/api/PUT/products/smoke-test",
        )
    )
    # Terraform's own state, and its S3-native lock (a .tflock object), encrypted.
    tf_state = f"arn:aws:s3:::{STATE_BUCKET}/flashsale/prod/core.tfstate"
    needs |= {("s3:GetObject", tf_state), ("s3:PutObject", tf_state),
              ("s3:DeleteObject", tf_state + ".tflock"), ("s3:ListBucket", f"arn:aws:s3:::{STATE_BUCKET}"),
              ("kms:Decrypt", STATE_KEY), ("kms:Encrypt", STATE_KEY), ("kms:GenerateDataKey", STATE_KEY)}  # fmt: skip
    yield needs


def terraform_needs() -> set[Need]:
    types = set()
    for path in sorted((ROOT / "infra").glob("*/*.tf")):
        if path.parent.name == "bootstrap":
            continue  # applied by an administrator, not the deploy role
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                types |= {(kind, name.strip('"')) for name in entry}
    missing = sorted(types - {key[:2] for key in TERRAFORM})
    assert missing == [], f"add what Terraform needs for {missing} to this test and the role"
    return set().union(*(needs for key, needs in TERRAFORM.items() if key[:2] in types))


def test_every_call_of_the_deploy_is_allowed(
    policy: list[dict[str, Any]], tool_needs: set[Need]
) -> None:
    needs = workflow_cli_needs() | tool_needs | CHALICE_DEPLOY | terraform_needs()
    denied = sorted(need for need in needs if not allowed(policy, *need))
    assert denied == []


def test_the_role_grants_nothing_the_deploy_does_not_do(
    policy: list[dict[str, Any]], tool_needs: set[Need]
) -> None:
    needs = workflow_cli_needs() | tool_needs | CHALICE_DEPLOY | terraform_needs()
    needed_actions = {action.lower() for action, _ in needs}
    for statement in policy:
        for action in statement["Action"]:
            assert "*" not in action, f"wildcard action {action}"
            assert action.lower() in needed_actions, f"{action} ({statement['Sid']}) is never used"
        if "*" in statement["Resource"]:
            # Only actions AWS cannot scope (or scopes by condition) get "*".
            assert statement.get("Condition") or all(
                (action, "*") in needs for action in statement["Action"]
            ), statement["Sid"]


def test_the_workflow_cli_calls_are_parsed(policy: list[dict[str, Any]]) -> None:
    needs = workflow_cli_needs()
    assert ("cognito-idp:AdminDeleteUser", POOL) in needs
    assert ("apigateway:POST", f"{REST_API}/deployments") in needs
    # The check can fail: a call the role does not cover is reported.
    assert not allowed(policy, "cognito-idp:AdminDisableUser", POOL)
    assert not allowed(policy, "dynamodb:DeleteItem", TABLE)  # only the products table


def test_only_this_repositorys_deploy_environments_assume_the_role() -> None:
    with (ROOT / "infra" / "bootstrap" / "main.tf").open() as handle:
        parsed = hcl2.load(handle)
    resources = {
        (kind, name.strip('"')): body
        for entry in parsed["resource"]
        for kind, named in entry.items()
        for name, body in named.items()
    }
    trust = resources[('"aws_iam_role"', "deploy")]["assume_role_policy"]
    assert "sts:AssumeRoleWithWebIdentity" in trust
    assert '"token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"' in trust
    assert "repo:${var.github_repository}:environment:${environment}" in trust
    bucket_policy = resources[('"aws_s3_bucket_policy"', "state")]["policy"]
    assert '"aws:SecureTransport" = "false"' in bucket_policy and '"Deny"' in bucket_policy
    encryption = resources[('"aws_s3_bucket_server_side_encryption_configuration"', "state")]
    assert "aws:kms" in json.dumps(encryption)
    versioning = resources[('"aws_s3_bucket_versioning"', "state")]
    assert "Enabled" in json.dumps(versioning)


def test_the_role_uses_the_data_key_for_parameters_only_through_ssm(
    policy: list[dict[str, Any]],
) -> None:
    # Encrypt and Decrypt on the stage's keys are for the Stripe SecureStrings:
    # only SSM may use them on the role's behalf, so the deploy cannot decrypt
    # a table's or a queue's data directly.
    (statement,) = [s for s in policy if s["Sid"] == "StripeParametersEncryptedThroughSsmOnly"]
    assert set(statement["Action"]) == {"kms:Encrypt", "kms:Decrypt"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:ResourceTag/Project": "flashsale"},
        "StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"},
    }
    others = [s for s in policy if s is not statement and s["Sid"] != "StateEncryption"]
    assert not allowed(others, "kms:Decrypt", KEY)
    (parameters,) = [s for s in policy if s["Sid"] == "StripeParameters"]
    assert parameters["Resource"] == [f"arn:aws:ssm:*:{ACCOUNT}:parameter/flashsale/*"]
