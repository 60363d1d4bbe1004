"""tools.verify_queue: a shopper's own check of the shuffle (offline mode)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chalicelib.rooms import shuffle
from tools import verify_queue

SEED = os.urandom(32)
ENTRIES = [f"entry-{n}" for n in range(50)]


def write(tmp_path: Path, entries: list[str]) -> Path:
    path = tmp_path / "list.txt"
    path.write_text("\n".join(entries) + "\n")
    return path


def test_an_honest_room_checks_and_gives_the_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = ENTRIES[17]
    args = ["--seed", SEED.hex(), "--commitment", shuffle.commitment(SEED)]
    args += ["--digest", shuffle.digest(ENTRIES).hex(), "--entries", str(write(tmp_path, ENTRIES))]
    assert verify_queue.main([*args, "--entry", mine]) == 0
    position = shuffle.order(SEED, ENTRIES).index(mine) + 1
    assert f"position {position} of 50" in capsys.readouterr().out


def test_a_seed_changed_after_the_commitment_does_not_check(tmp_path: Path) -> None:
    args = ["--seed", os.urandom(32).hex(), "--commitment", shuffle.commitment(SEED)]
    assert verify_queue.main([*args, "--entries", str(write(tmp_path, ENTRIES))]) == 1


def test_an_entry_slipped_in_after_the_freeze_does_not_check(tmp_path: Path) -> None:
    published = shuffle.digest(ENTRIES).hex()
    args = ["--seed", SEED.hex(), "--commitment", shuffle.commitment(SEED), "--digest", published]
    entries = write(tmp_path, [*ENTRIES, "friend-of-the-operator"])
    assert verify_queue.main([*args, "--entries", str(entries)]) == 1
