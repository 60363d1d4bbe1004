"""Deploy rehearsal: `chalice deploy` of each stage into the local emulator, twice.

    python -m deploy.rehearsal [--stage dev --stage prod] [--keep DIR]   (make deploy-rehearsal)

Each stage is deployed as the deploy workflow deploys it, from a copy of the
project (so the real .chalice/deployed/ is never touched) with the deploying
interpreter (build/lambda-py313): lock, restore, `chalice deploy`, save, unlock,
through deploy/chalice_state.py against the emulator's S3. The second run starts
from a fresh copy, like a fresh CI runner, and must update what the first
created (same REST API, no second function or role). Then the emulator is read
back: every function's runtime, handler, memory, timeout, environment,
tracing, reserved concurrency and log group against .chalice/config.json, every
role's only inline policy against its policy file (and that it lets the function
write its own logs), that Chalice made no event source mapping or subscription
(Terraform's, infra/app), and the REST API's resources, methods, authorizers and
binary types against the routes Chalice reads from app.py. Exits 1 naming every
mismatch.

The emulator learns Swagger 2.0 import for this (local/swagger_import.py). What
moto cannot show (IAM evaluation, invoking the functions, API Gateway serving a
request, the Terraform steps) is not rehearsed here.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_VENV = ROOT / "build" / "lambda-py313"
CHALICE = DEPLOY_VENV / "bin" / "chalice"
PYTHON = DEPLOY_VENV / "bin" / "python"
# Chalice's dependency zip, kept between rehearsals (it is keyed by requirements.txt).
PACKAGE_CACHE = ROOT / "build" / "rehearsal" / "deployments"
STAGES = ("dev", "prod")
RUNTIME = "python3.13"
BUCKET = "flashsale-tfstate-rehearsal"
REGION = "us-east-1"
# What `chalice deploy` packages and reads; everything else stays behind.
PROJECT_FILES = ("app.py", "requirements.txt", "chalicelib")
Problems = list[str]
# Mismatches the rehearsal finds in every deploy and that this repository cannot
# fix on its side yet: reported on every run, never silently. One that stops
# appearing fails the rehearsal, so the entry goes once the cause is fixed.
KNOWN: dict[str, str] = {}


class Failed(Exception):
    """A step of the rehearsal itself failed (not a read-back mismatch)."""


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def step(label: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"    {label} ...", end="", flush=True)
    try:
        yield
    except BaseException:
        print(" failed", flush=True)
        raise
    print(f" ok ({time.monotonic() - started:.1f} s)", flush=True)


def emulator_env(endpoint: str) -> dict[str, str]:
    """This environment pointed at the emulator, with nothing of a real account."""
    from deploy import stage as stages

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(stages.FAKE_CREDENTIALS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise Failed(f"{' '.join(command[:4])} ... exited {done.returncode}:\n"
                     f"{done.stdout}{done.stderr}")  # fmt: skip
    return done.stdout + done.stderr


def fresh_project(scratch: Path) -> Path:
    """A copy of what `chalice deploy` reads, as a fresh CI checkout has it."""
    if scratch.exists():
        shutil.rmtree(scratch)
    (scratch / ".chalice").mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, scratch / name)
    for source in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(source, scratch / ".chalice" / source.name)
    PACKAGE_CACHE.mkdir(parents=True, exist_ok=True)
    (scratch / ".chalice" / "deployments").symlink_to(PACKAGE_CACHE, target_is_directory=True)
    return scratch


def deploy_run(stage: str, number: int, scratch: Path, endpoint: str) -> dict[str, Any]:
    """One run of the workflow's deploy steps; the state it saved."""
    env = emulator_env(endpoint)
    owner = f"rehearsal run {number}"
    common = ["--stage", stage, "--bucket", BUCKET, "--endpoint", endpoint]
    project = ["--project-dir", str(scratch)]
    state = [str(PYTHON), "-m", "deploy.chalice_state"]
    out: dict[str, str] = {}
    with step("infra/core's API log group"):
        api_log_group(stage, scratch)
    with step("lock"):
        run([*state, "lock", *common, "--owner", owner], ROOT, env)
    with step("restore"):
        out["restore"] = run([*state, "restore", *common, *project], ROOT, env)
    with step("chalice deploy"):
        try:
            out["deploy"] = run([str(CHALICE), "deploy", "--stage", stage], scratch, env)
        finally:
            # The workflow saves and unlocks even after a failed deploy.
            run([*state, "save", *common, *project, "--owner", owner], ROOT, env)
            run([*state, "unlock", *common, "--owner", owner], ROOT, env)
    say("    save, unlock ... ok")
    deployed = scratch / ".chalice" / "deployed" / f"{stage}.json"
    return {"out": out, "state": json.loads(deployed.read_text())}


def api_log_group(stage: str, scratch: Path) -> None:
    """Plays infra/core's aws_cloudwatch_log_group.api, applied before the
    workflow's chalice deploy (there is no terraform here): the API function's
    log group, with the stage's retention (Chalice sets it on a group of another
    name). Its name and retention are the ones tests/infra/test_infra.py reads
    in the Terraform; what the read-back adds is that the function Chalice
    deploys logs to this group, by name. Played again on the update run, where
    Terraform would find it and change nothing."""
    import boto3

    from deploy import stage as stages

    logs = boto3.client("logs", region_name=REGION)
    name = f"/aws/lambda/{stages.function_name(stage, 'api_handler')}"
    settings, _ = stage_config(scratch, stage)
    with suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name)
    logs.put_retention_policy(logGroupName=name, retentionInDays=settings["log_retention_in_days"])


def app_routes(stage: str, scratch: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    raw = run([str(PYTHON), "-m", "deploy.app_routes", "--stage", stage,
               "--project-dir", str(scratch)], ROOT, env)  # fmt: skip
    routes: dict[str, Any] = json.loads(raw.strip().splitlines()[-1])
    return routes


def stage_config(scratch: Path, stage: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The stage's settings and the environment Chalice gives its functions."""
    config = json.loads((scratch / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return config["stages"][stage], env


def functions_of(settings: dict[str, Any]) -> list[str]:
    """The stage's functions: each has its own entry (and policy) in
    .chalice/config.json, so a function added there is read back too."""
    return sorted(settings.get("lambda_functions", {}))


def deployed(state: dict[str, Any], name: str) -> dict[str, Any]:
    found = [r for r in state["resources"] if r["name"] == name]
    return found[0] if found else {}


def allows(document: dict[str, Any], action: str, resource: str) -> bool:
    """IAM wildcard matching of Allow statements (no conditions are used)."""
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements

    def listed(value: str | list[str]) -> list[str]:
        return [value] if isinstance(value, str) else value

    return any(
        s.get("Effect") == "Allow"
        and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in listed(s["Action"]))
        and any(fnmatch.fnmatchcase(resource, r) for r in listed(s["Resource"]))
        for s in statements
    )


# The checks take what was read back and return what is wrong (tests/test_rehearsal.py).


def check_function(
    stage: str,
    function: str,
    settings: dict[str, Any],
    env: dict[str, str],
    configuration: dict[str, Any],
    concurrency: int | None,
) -> Problems:
    """A deployed function's configuration against its stage's config."""
    wanted = settings.get("lambda_functions", {}).get(function, {})
    name = configuration.get("FunctionName", function)
    handler = "app.app" if function == "api_handler" else f"app.{function}"
    expected = {
        "Runtime": RUNTIME,
        "Handler": handler,
        "MemorySize": wanted.get("lambda_memory_size", 128),
        "Timeout": wanted.get("lambda_timeout", 60),
        "Environment": env,
        "Tracing": "Active" if settings.get("xray") else "PassThrough",
        "ReservedConcurrency": wanted.get("reserved_concurrency"),
    }
    found = {
        "Runtime": configuration.get("Runtime"),
        "Handler": configuration.get("Handler"),
        "MemorySize": configuration.get("MemorySize"),
        "Timeout": configuration.get("Timeout"),
        "Environment": configuration.get("Environment", {}).get("Variables", {}),
        "Tracing": configuration.get("TracingConfig", {}).get("Mode", "PassThrough"),
        "ReservedConcurrency": concurrency,
    }
    return [
        f"{stage} {name}: {key} is {found[key]!r}, .chalice/config.json wants {expected[key]!r}"
        for key in expected
        if found[key] != expected[key]
    ]


def check_role(
    stage: str,
    function: str,
    role_name: str,
    trust: dict[str, Any],
    policies: dict[str, dict[str, Any]],
    policy_file: str,
    expected: dict[str, Any],
    log_group_arn: str,
) -> Problems:
    """The function's role: assumable by Lambda, its one inline policy the
    policy file as written, and that policy lets the function write its logs."""
    problems = []
    services = [
        s.get("Principal", {}).get("Service") for s in trust.get("Statement", [])
        if s.get("Effect") == "Allow" and s.get("Action") == "sts:AssumeRole"
    ]  # fmt: skip
    if "lambda.amazonaws.com" not in services:
        problems.append(f"{stage} role {role_name}: Lambda cannot assume it ({trust})")
    if len(policies) != 1:
        problems.append(f"{stage} role {role_name}: inline policies {sorted(policies)}, want one")
    for name, document in policies.items():
        if document != expected:
            problems.append(f"{stage} role {role_name}: policy {name} differs from {policy_file}")
    stream = f"{log_group_arn}:log-stream:2026/01/01/[$LATEST]0a1b"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        if not allows(expected, action, stream):
            problems.append(
                f"{stage} {function}: {policy_file} does not allow {action} on its log group "
                f"{log_group_arn.split(':log-group:')[1]} (the function's logs would be lost)"
            )
    return problems


def expected_methods(routes: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, METHOD) -> what API Gateway must hold, from the app's routes."""
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for route in routes["routes"]:
        kind = route["authType"]
        wanted[(route["path"], route["method"])] = {
            "authorizationType": {
                None: "NONE",
                "cognito_user_pools": "COGNITO_USER_POOLS",
                "awsSigv4": "AWS_IAM",
                "custom": "CUSTOM",
            }.get(kind, f"unknown auth type {kind}"),
            "authorizer": route["authorizer"] if kind in ("cognito_user_pools", "custom") else None,
            "apiKeyRequired": route["apiKeyRequired"],
            "integration": "AWS_PROXY",
        }
        if route["cors"]:
            wanted[(route["path"], "OPTIONS")] = {
                "authorizationType": "NONE",
                "authorizer": None,
                "apiKeyRequired": False,
                "integration": "MOCK",
            }
    return wanted


def check_api(
    stage: str,
    routes: dict[str, Any],
    resources: list[dict[str, Any]],
    authorizers: list[dict[str, Any]],
    handler_uri: str,
    pool_arns: list[str],
) -> Problems:
    """The REST API's methods, their auth, API keys and integrations, and its
    authorizers, against the routes Chalice read from app.py."""
    problems = []
    by_id = {a["id"]: a for a in authorizers}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in resources:
        for verb, method in (resource.get("resourceMethods") or {}).items():
            integration = method.get("methodIntegration") or {}
            found[(resource["path"], verb)] = {
                "authorizationType": method.get("authorizationType"),
                "authorizer": by_id.get(method.get("authorizerId") or "", {}).get("name"),
                "apiKeyRequired": bool(method.get("apiKeyRequired")),
                "integration": integration.get("type"),
                "uri": integration.get("uri"),
            }
    wanted = expected_methods(routes)
    for key in sorted(set(wanted) - set(found)):
        problems.append(f"{stage} API: {key[1]} {key[0]} is missing")
    for key in sorted(set(found) - set(wanted)):
        problems.append(f"{stage} API: {key[1]} {key[0]} is not a route of app.py")
    for key in sorted(set(wanted) & set(found)):
        for field, value in wanted[key].items():
            if found[key][field] != value:
                problems.append(
                    f"{stage} API: {key[1]} {key[0]} {field} is {found[key][field]!r}, "
                    f"app.py wants {value!r}"
                )
        if wanted[key]["integration"] == "AWS_PROXY" and found[key]["uri"] != handler_uri:
            problems.append(f"{stage} API: {key[1]} {key[0]} calls {found[key]['uri']}")
    used = {r["authorizer"] for r in routes["routes"] if r["authType"] == "cognito_user_pools"}
    pools = {a["name"]: a for a in authorizers if a.get("type") == "COGNITO_USER_POOLS"}
    if set(pools) != used:
        problems.append(f"{stage} API: user pool authorizers {sorted(pools)}, want {sorted(used)}")
    for name, authorizer in pools.items():
        if authorizer.get("providerARNs") != pool_arns:
            problems.append(
                f"{stage} API: authorizer {name} trusts {authorizer.get('providerARNs')}, "
                f"the stage's COGNITO_USER_POOL_ARN is {pool_arns}"
            )
    return problems


def read_back(
    clients: dict[str, Any],
    stage: str,
    scratch: Path,
    first: dict[str, Any],
    second: dict[str, Any],
) -> Problems:
    """Everything the two runs deployed, read from the emulator and checked."""
    from deploy import chalice_state
    from deploy import stage as stages

    settings, env = stage_config(scratch, stage)
    expected_functions = functions_of(settings)
    state = second["state"]
    problems: Problems = []
    account = clients["sts"].get_caller_identity()["Account"]

    # The second run planned from the state the first saved.
    if "restored" not in second["out"]["restore"]:
        problems.append(f"{stage}: the second run restored no state: {second['out']['restore']}")
    if "Creating Rest API" in second["out"]["deploy"]:
        problems.append(f"{stage}: the second deploy created a new REST API")
    api_id = deployed(state, "rest_api").get("rest_api_id")
    if api_id != deployed(first["state"], "rest_api").get("rest_api_id"):
        problems.append(f"{stage}: the REST API changed between the runs")
    keys = chalice_state.keys(stage)
    saved = clients["s3"].get_object(Bucket=BUCKET, Key=keys.state)["Body"].read()
    if json.loads(saved) != state:
        problems.append(f"{stage}: the state in S3 is not what chalice deploy wrote")
    if chalice_state.holder(clients["s3"], BUCKET, stage) is not None:
        problems.append(f"{stage}: the deploy lock was left behind")

    prefix = f"{stages.APP_NAME}-{stage}"
    functions = [
        f for page in clients["lambda"].get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f["FunctionName"] == prefix or f["FunctionName"].startswith(prefix + "-")
    ]  # fmt: skip
    if len(functions) != len(expected_functions):
        names = sorted(f["FunctionName"] for f in functions)
        problems.append(
            f"{stage}: {len(functions)} functions {names}, want {len(expected_functions)}"
        )
    roles = [r for r in clients["iam"].list_roles()["Roles"] if r["RoleName"].startswith(prefix)]
    if len(roles) != len(expected_functions):
        problems.append(f"{stage}: {len(roles)} roles, want one per function")
    subscribed = {
        s["Endpoint"] for s in clients["sns"].list_subscriptions()["Subscriptions"]
        if s["Protocol"] == "lambda"
    }  # fmt: skip
    function_arns = {}
    for function in expected_functions:
        arn = deployed(state, function if function != "api_handler" else "api_handler").get(
            "lambda_arn", ""
        )
        name = arn.rsplit(":", 1)[-1]
        function_arns[function] = arn
        if name != stages.function_name(stage, function):
            problems.append(
                f"{stage} {function}: deploy/stage.py calls it "
                f"{stages.function_name(stage, function)!r}, Chalice deployed {name!r}"
            )
        if not name:
            problems.append(f"{stage} {function}: not in the deployed state")
            continue
        configuration = clients["lambda"].get_function(FunctionName=name)["Configuration"]
        concurrency = clients["lambda"].get_function_concurrency(FunctionName=name)
        problems += check_function(
            stage, function, settings, env, configuration,
            concurrency.get("ReservedConcurrentExecutions"),
        )  # fmt: skip
        role_name = configuration["Role"].rsplit("/", 1)[1]
        role = clients["iam"].get_role(RoleName=role_name)["Role"]
        policies = {
            policy: clients["iam"].get_role_policy(RoleName=role_name, PolicyName=policy)[
                "PolicyDocument"
            ]
            for policy in clients["iam"].list_role_policies(RoleName=role_name)["PolicyNames"]
        }
        policy_file = settings["lambda_functions"][function]["iam_policy_file"]
        expected = json.loads((scratch / ".chalice" / policy_file).read_text())
        log_group = f"/aws/lambda/{name}"
        log_group_arn = f"arn:aws:logs:{REGION}:{account}:log-group:{log_group}"
        problems += check_role(
            stage, function, role_name, role["AssumeRolePolicyDocument"], policies,
            policy_file, expected, log_group_arn,
        )  # fmt: skip
        groups = clients["logs"].describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
        retention = [g.get("retentionInDays") for g in groups if g["logGroupName"] == log_group]
        if retention != [settings.get("log_retention_in_days")]:
            problems.append(f"{stage} {name}: log group retention {retention}")
        # Terraform owns the stream and queue mappings and the feedback subscription.
        mappings = clients["lambda"].list_event_source_mappings(FunctionName=name)
        if mappings["EventSourceMappings"]:
            problems.append(f"{stage} {name}: Chalice created an event source mapping")
        if arn in subscribed:
            problems.append(f"{stage} {name}: Chalice subscribed it to a topic")

    if not api_id:
        return [*problems, f"{stage}: no REST API in the deployed state"]
    api = clients["apigateway"].get_rest_api(restApiId=api_id)
    endpoint = settings.get("api_gateway_endpoint_type", "EDGE")
    if api["endpointConfiguration"]["types"] != [endpoint]:
        problems.append(f"{stage} API: endpoint {api['endpointConfiguration']}, want {endpoint}")
    routes = app_routes(stage, scratch)
    if sorted(api.get("binaryMediaTypes") or []) != sorted(routes["binaryTypes"]):
        problems.append(f"{stage} API: binary media types differ from the app's")
    clients["apigateway"].get_stage(restApiId=api_id, stageName=settings["api_gateway_stage"])
    resources = clients["apigateway"].get_resources(restApiId=api_id, embed=["methods"])
    authorizers = clients["apigateway"].get_authorizers(restApiId=api_id)["items"]
    handler_uri = (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{function_arns['api_handler']}/invocations"
    )
    pool_arns = [env["COGNITO_USER_POOL_ARN"]] if "COGNITO_USER_POOL_ARN" in env else []
    problems += check_api(stage, routes, resources["items"], authorizers, handler_uri, pool_arns)
    # API Gateway may call the API function, from this API only.
    policy = json.loads(
        clients["lambda"].get_policy(FunctionName=function_arns["api_handler"])["Policy"]
    )
    source = f"arn:aws:execute-api:{REGION}:{account}:{api_id}/*"
    granted = [
        s for s in policy["Statement"]
        if s.get("Principal", {}).get("Service") == "apigateway.amazonaws.com"
        and s.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn") == source
    ]  # fmt: skip
    if len(granted) != 1:
        problems.append(f"{stage} API: {len(granted)} invoke permissions for {source}, want 1")
    return problems


def rehearse(stages_to_run: list[str], keep: Path | None) -> Problems:
    from local.emulator import Emulator
    from local.launch import free_port

    emulator = Emulator("127.0.0.1", free_port()).start()
    problems: Problems = []
    work = Path(tempfile.mkdtemp(prefix="flashsale-rehearsal-")) if keep is None else keep
    try:
        say(f"==> deploy rehearsal of {', '.join(stages_to_run)} into the emulator "
            f"at {emulator.url}")  # fmt: skip
        os.environ.update(emulator_env(emulator.url))
        import boto3

        session = boto3.session.Session()
        clients = {
            name: session.client(name)
            for name in ("s3", "sts", "lambda", "iam", "sns", "logs", "apigateway")
        }
        clients["s3"].create_bucket(Bucket=BUCKET)
        for stage in stages_to_run:
            runs = []
            for number, kind in ((1, "create"), (2, "update")):
                say(f"==> {stage}: run {number} ({kind}) from a fresh copy of the project")
                scratch = fresh_project(work / f"{stage}-run{number}")
                runs.append(deploy_run(stage, number, scratch, emulator.url))
            with step(f"{stage}: read back"):
                found = read_back(clients, stage, scratch, *runs)
            problems += found
            say(f"    {stage}: {len(found)} mismatch(es) with the project")
    finally:
        emulator.stop()
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return problems


def known(problems: Problems, rehearsed: list[str]) -> Problems:
    """The problems not in KNOWN (printed), plus each KNOWN entry seen no more."""
    left = list(problems)
    for pattern, reason in KNOWN.items():
        matched = [p for p in left if re.match(pattern, p)]
        if len(matched) < len(rehearsed):
            left.append(f"a known problem no longer shows (remove it from KNOWN): {reason}")
        for problem in matched:
            say(f"  known, not failing: {problem}: {reason}")
            left.remove(problem)
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", choices=STAGES, help="default: all")
    parser.add_argument("--keep", type=Path, help="leave the project copies in this directory")
    args = parser.parse_args(argv)
    if not CHALICE.exists():
        say("==> no python3.13 deploy venv (make lambda-venv, PY313=...): deploy rehearsal skipped")
        return 0
    started = time.monotonic()
    try:
        problems = rehearse(args.stage or list(STAGES), args.keep)
    except Failed as exc:
        say(f"deploy rehearsal FAILED: {exc}")
        return 1
    problems = known(problems, args.stage or list(STAGES))
    if problems:
        say("deploy rehearsal FAILED, deployed resources differ from the project:")
        for problem in problems:
            say(f"  - {problem}")
        return 1
    say(f"==> deploy rehearsal passed ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
