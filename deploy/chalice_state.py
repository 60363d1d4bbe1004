"""Chalice's deployed state, kept in the Terraform state bucket, under a deploy lock.

`chalice deploy` plans from `.chalice/deployed/<stage>.json`, which a fresh CI
runner does not have: without it every deploy would create a new REST API and
fail on resources that already exist. The deploy workflow runs, per stage:

    python -m deploy.chalice_state lock    --stage prod --bucket B --owner RUN
    python -m deploy.chalice_state restore --stage prod --bucket B
    chalice deploy --stage prod
    python -m deploy.chalice_state save    --stage prod --bucket B      (always)
    python -m deploy.chalice_state unlock  --stage prod --bucket B --owner RUN (always)

The lock is an S3 object created with a conditional write (If-None-Match: *),
so of two runs exactly one gets it; the other is refused and told who holds it
and since when. A lock left by a run that died stays until someone who has
checked that nothing is deploying runs `force-unlock`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from deploy import stage as stages

# A lock older than this is reported as stale (the deploy job times out sooner).
STALE_AFTER_SECONDS = 2 * 3600


class Locked(Exception):
    """Another run holds the stage's deploy lock."""


class NoSavedState(Exception):
    """The stage runs in AWS, but no deployed state was ever saved for it."""


@dataclass(frozen=True)
class Keys:
    state: str
    lock: str


def keys(stage: str) -> Keys:
    """Where a stage's state and lock live in the bucket."""
    prefix = f"{stages.APP_NAME}/{stage}"
    return Keys(state=f"{prefix}/chalice-deployed.json", lock=f"{prefix}/chalice-deploy.lock")


def deployed_file(project_dir: Path, stage: str) -> Path:
    return project_dir / ".chalice" / "deployed" / f"{stage}.json"


def _now() -> datetime:
    return datetime.now(UTC)


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound")


def lock(s3: Any, bucket: str, stage: str, owner: str, now: datetime | None = None) -> None:
    """Take the stage's deploy lock, or raise Locked naming its holder."""
    body = {"owner": owner, "since": (now or _now()).isoformat(timespec="seconds")}
    try:
        # Created only if absent: S3 answers 412 to every run but the first.
        s3.put_object(
            Bucket=bucket,
            Key=keys(stage).lock,
            Body=json.dumps(body).encode(),
            ContentType="application/json",
            IfNoneMatch="*",
        )
    except ClientError as exc:
        # 409 ConditionalRequestConflict: another run's write is in flight.
        if exc.response["Error"]["Code"] not in (
            "PreconditionFailed",
            "ConditionalRequestConflict",
        ):
            raise
        raise Locked(describe_lock(s3, bucket, stage, now)) from exc


def holder(s3: Any, bucket: str, stage: str) -> dict[str, str] | None:
    """Who holds the stage's lock and since when, or None."""
    try:
        raw = s3.get_object(Bucket=bucket, Key=keys(stage).lock)["Body"].read()
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    held: dict[str, str] = json.loads(raw)
    return held


def describe_lock(s3: Any, bucket: str, stage: str, now: datetime | None = None) -> str:
    held = holder(s3, bucket, stage)
    if held is None:
        return f"the {stage} deploy lock was released meanwhile; try again"
    age = ((now or _now()) - datetime.fromisoformat(held["since"])).total_seconds()
    message = (
        f"stage {stage} is being deployed by {held['owner']} since {held['since']} "
        f"({age / 60:.0f} min ago)"
    )
    if age > STALE_AFTER_SECONDS:
        message += (
            "; that is longer than any deploy takes: if nothing is deploying, run "
            f"`python -m deploy.chalice_state force-unlock --stage {stage} --bucket {bucket}`"
        )
    return message


def unlock(s3: Any, bucket: str, stage: str, owner: str) -> bool:
    """Release the lock if `owner` holds it; True if released."""
    held = holder(s3, bucket, stage)
    if held is None or held["owner"] != owner:
        return False
    s3.delete_object(Bucket=bucket, Key=keys(stage).lock)
    return True


def force_unlock(s3: Any, bucket: str, stage: str) -> dict[str, str] | None:
    """Remove the lock whoever holds it (a dead run's); return what it said."""
    held = holder(s3, bucket, stage)
    s3.delete_object(Bucket=bucket, Key=keys(stage).lock)
    return held


def restore(
    s3: Any, bucket: str, stage: str, project_dir: Path, lambda_client: Any | None = None
) -> bool:
    """Write the saved state to .chalice/deployed/<stage>.json; False on a first
    deploy. Raises NoSavedState when the stage's API function exists nonetheless:
    planning from nothing would create a second REST API beside the live one."""
    target = deployed_file(project_dir, stage)
    try:
        saved = s3.get_object(Bucket=bucket, Key=keys(stage).state)["Body"].read()
    except ClientError as exc:
        if not _missing(exc):
            raise
        if lambda_client is not None and _function_exists(lambda_client, stage):
            raise NoSavedState(
                f"{stages.function_name(stage, 'api_handler')} exists but s3://{bucket}/"
                f"{keys(stage).state} does not: put that stage's deployed state there "
                "(docs/production.md, Chalice's deployed state) before deploying"
            ) from exc
        target.unlink(missing_ok=True)
        return False
    json.loads(saved)  # never hand Chalice a damaged file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(saved)
    return True


def _function_exists(lambda_client: Any, stage: str) -> bool:
    try:
        lambda_client.get_function(FunctionName=stages.function_name(stage, "api_handler"))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def save(s3: Any, bucket: str, stage: str, project_dir: Path, owner: str | None = None) -> bool:
    """Upload .chalice/deployed/<stage>.json if present and changed; True if uploaded.
    With `owner`, only while that owner holds the lock."""
    source = deployed_file(project_dir, stage)
    if not source.exists():
        return False
    if owner is not None:
        held = holder(s3, bucket, stage)
        if held is None or held["owner"] != owner:
            raise Locked(f"{owner} does not hold the {stage} deploy lock; state not saved")
    data = source.read_bytes()
    json.loads(data)
    try:
        current = s3.get_object(Bucket=bucket, Key=keys(stage).state)["Body"].read()
        if hashlib.sha256(current).digest() == hashlib.sha256(data).digest():
            return False
    except ClientError as exc:
        if not _missing(exc):
            raise
    s3.put_object(Bucket=bucket, Key=keys(stage).state, Body=data, ContentType="application/json")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["lock", "restore", "save", "unlock", "force-unlock"])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--owner", help="who deploys (CI: the workflow run id)")
    parser.add_argument("--project-dir", type=Path, default=stages.ROOT)
    parser.add_argument("--endpoint", help="an AWS emulator's URL")
    args = parser.parse_args(argv)
    if args.endpoint:
        stages.use_emulator(args.endpoint)
    s3 = stages.client("s3")
    where = f"s3://{args.bucket}/{keys(args.stage).state}"
    try:
        if args.command == "lock":
            if not args.owner:
                parser.error("lock needs --owner")
            lock(s3, args.bucket, args.stage, args.owner)
            print(f"deploy lock for {args.stage} taken by {args.owner}")
        elif args.command == "restore":
            found = restore(s3, args.bucket, args.stage, args.project_dir, stages.client("lambda"))
            print(f"restored {where}" if found else f"no state at {where}: first deploy")
        elif args.command == "save":
            uploaded = save(s3, args.bucket, args.stage, args.project_dir, args.owner)
            print(f"saved {where}" if uploaded else "deployed state unchanged (or absent)")
        elif args.command == "unlock":
            if not args.owner:
                parser.error("unlock needs --owner")
            released = unlock(s3, args.bucket, args.stage, args.owner)
            print("deploy lock released" if released else f"{args.owner} held no lock")
        else:
            held = force_unlock(s3, args.bucket, args.stage)
            print(f"removed the deploy lock of {held}" if held else "there was no lock")
    except (Locked, NoSavedState) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
