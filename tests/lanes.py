"""Test lanes by folder: each folder's conftest marks the tests under it, so
`-m stack` or `-m "not stack"` selects a lane and a new file joins its folder's
lane without a marker line of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def folder_marker(conftest: str, name: str) -> Callable[[list[pytest.Item]], None]:
    """A `pytest_collection_modifyitems` that marks `name` on the tests beside `conftest`."""
    folder = Path(conftest).resolve().parent
    marker = getattr(pytest.mark, name)

    # pytest calls every conftest's modifyitems with the whole session's items,
    # not only its own folder's: hence the path test.
    def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
        for item in items:
            if item.path.is_relative_to(folder):
                item.add_marker(marker)

    return pytest_collection_modifyitems
