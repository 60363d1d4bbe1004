"""The deploy workflow adopts an API log group made outside Terraform (its
shell, run here with stand-ins for terraform and the aws CLI)."""

from __future__ import annotations

import os
import stat
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


def adoption_script() -> str:
    """infra/core's step's lines from the log-group comment to its apply."""
    text = WORKFLOW.read_text()
    start = text.index("# Once: the API function's log group")
    start = text.rindex("\n", 0, start) + 1
    assert "infra/core" in text[text.rindex("- name:", 0, start) : start]
    return textwrap.dedent(text[start : text.index("terraform apply", start)])


def stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.parametrize(
    ("in_state", "groups_found", "imported"),
    [(False, "1", True), (True, "1", False), (False, "0", False)],
)
def test_the_api_log_group_is_imported_once_when_it_already_exists(
    tmp_path: Path, in_state: bool, groups_found: str, imported: bool
) -> None:
    calls = tmp_path / "calls"
    state = "aws_cloudwatch_log_group.api" if in_state else "aws_kms_key.data"
    stand_in(tmp_path, "terraform", f'echo "terraform $*" >> {calls}\n'
             f'[ "$1" = state ] && echo {state}; true')  # fmt: skip
    stand_in(tmp_path, "aws", f'echo "aws $*" >> {calls}\necho {groups_found}')
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "STAGE": "prod"}
    subprocess.run(["bash", "-euo", "pipefail", "-c", adoption_script()], env=env, check=True)
    made = calls.read_text().splitlines()
    want = "terraform import -input=false aws_cloudwatch_log_group.api /aws/lambda/flashsale-prod"
    assert (want in made) is imported, made
    assert any("describe-log-groups" in c for c in made) is not in_state, made
