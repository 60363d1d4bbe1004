"""Chalice's deployed state survives fresh CI runners, and one deploy runs at a
time: deploy/chalice_state.py against the local emulator's S3 (moto's server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploy import chalice_state
from deploy.chalice_state import Locked, NoSavedState
from local.emulator import Emulator
from local.launch import free_port
from local.stack import emulator_client

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    running = Emulator("127.0.0.1", free_port()).start()
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture
def bucket(emulator: str) -> str:
    name = f"flashsale-tfstate-{uuid.uuid4().hex[:8]}"
    emulator_client("s3", emulator).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(emulator: str) -> Any:
    return emulator_client("s3", emulator)


def fake_chalice_deploy(project_dir: Path, stage: str) -> dict[str, Any]:
    """What `chalice deploy` does with its state: plan from the deployed file if
    there is one (reusing its REST API), then write the file anew."""
    path = chalice_state.deployed_file(project_dir, stage)
    before = json.loads(path.read_text()) if path.exists() else None
    api_id = before["resources"][0]["rest_api_id"] if before else uuid.uuid4().hex[:10]
    deploys = (before["deploys"] if before else 0) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api_id}],
        "schema_version": "2.0", "backend": "api", "deploys": deploys,
    }))  # fmt: skip
    return {"saw": before, "rest_api_id": api_id}


def cli(emulator: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
    return subprocess.run(
        [sys.executable, "-m", "deploy.chalice_state", *args, "--endpoint", emulator],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def deploy_run(emulator: str, bucket: str, project_dir: Path, owner: str) -> dict[str, Any]:
    """One CI run on a fresh runner, through the commands the workflow runs."""
    common = ["--stage", STAGE, "--bucket", bucket, "--project-dir", str(project_dir)]
    for command in (["lock", "--owner", owner], ["restore"]):
        done = cli(emulator, *command, *common)
        assert done.returncode == 0, done.stderr
    result = fake_chalice_deploy(project_dir, STAGE)
    for command in (["save", "--owner", owner], ["unlock", "--owner", owner]):
        done = cli(emulator, *command, *common)
        assert done.returncode == 0, done.stderr
    return result


def test_the_second_deploy_starts_from_what_the_first_saved(
    emulator: str, bucket: str, tmp_path: Path
) -> None:
    first = deploy_run(emulator, bucket, tmp_path / "runner-1", owner="run-1")
    second = deploy_run(emulator, bucket, tmp_path / "runner-2", owner="run-2")

    assert first["saw"] is None  # a first deploy plans from nothing
    assert second["saw"] is not None and second["saw"]["deploys"] == 1
    assert second["rest_api_id"] == first["rest_api_id"]  # no second REST API
    saved = emulator_client("s3", emulator).get_object(
        Bucket=bucket, Key=chalice_state.keys(STAGE).state
    )
    assert json.loads(saved["Body"].read())["deploys"] == 2
    assert chalice_state.holder(emulator_client("s3", emulator), bucket, STAGE) is None


def test_a_concurrent_run_is_refused_while_the_lock_is_held(
    emulator: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    chalice_state.lock(s3, bucket, STAGE, "run-1")

    refused = cli(emulator, "lock", "--stage", STAGE, "--bucket", bucket, "--owner", "run-2")
    assert refused.returncode == 1
    assert "being deployed by run-1" in refused.stderr
    # The refused run may not save or release what it does not hold.
    fake_chalice_deploy(tmp_path, STAGE)
    with pytest.raises(Locked):
        chalice_state.save(s3, bucket, STAGE, tmp_path, owner="run-2")
    assert chalice_state.unlock(s3, bucket, STAGE, "run-2") is False
    assert chalice_state.holder(s3, bucket, STAGE)["owner"] == "run-1"  # type: ignore[index]

    assert chalice_state.unlock(s3, bucket, STAGE, "run-1") is True
    chalice_state.lock(s3, bucket, STAGE, "run-2")  # free again


def test_of_racing_runs_exactly_one_gets_the_lock(bucket: str, s3: Any) -> None:
    gate = threading.Barrier(8)
    winners: list[str] = []

    def run(owner: str) -> None:
        gate.wait()
        try:
            chalice_state.lock(s3, bucket, STAGE, owner)
            winners.append(owner)
        except Locked:
            pass

    threads = [threading.Thread(target=run, args=(f"run-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1
    assert chalice_state.holder(s3, bucket, STAGE)["owner"] == winners[0]  # type: ignore[index]


def test_a_stale_lock_stays_until_someone_forces_it(emulator: str, bucket: str, s3: Any) -> None:
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    chalice_state.lock(s3, bucket, STAGE, "run-that-died", now=three_hours_ago)

    with pytest.raises(Locked, match="force-unlock"):
        chalice_state.lock(s3, bucket, STAGE, "run-2")

    forced = cli(emulator, "force-unlock", "--stage", STAGE, "--bucket", bucket)
    assert forced.returncode == 0 and "run-that-died" in forced.stdout
    chalice_state.lock(s3, bucket, STAGE, "run-2")


def test_restore_refuses_a_live_stage_without_saved_state(
    emulator: str, bucket: str, s3: Any, tmp_path: Path
) -> None:
    iam = emulator_client("iam", emulator)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_client = emulator_client("lambda", emulator)
    assert chalice_state.restore(s3, bucket, STAGE, tmp_path, lambda_client) is False
    lambda_client.create_function(
        FunctionName=f"flashsale-{STAGE}", Runtime="python3.13", Role=role,
        Handler="app.app", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )  # fmt: skip

    with pytest.raises(NoSavedState):
        chalice_state.restore(s3, bucket, STAGE, tmp_path, lambda_client)
    assert not chalice_state.deployed_file(tmp_path, STAGE).exists()


def test_save_uploads_only_a_changed_state(bucket: str, s3: Any, tmp_path: Path) -> None:
    assert chalice_state.save(s3, bucket, STAGE, tmp_path) is False  # nothing deployed
    fake_chalice_deploy(tmp_path, STAGE)
    assert chalice_state.save(s3, bucket, STAGE, tmp_path) is True
    assert chalice_state.save(s3, bucket, STAGE, tmp_path) is False
    fake_chalice_deploy(tmp_path, STAGE)
    assert chalice_state.save(s3, bucket, STAGE, tmp_path) is True
