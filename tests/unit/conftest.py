"""Pure tests: no emulator, no test client, no network.

Every test here is marked `unit` (tests/lanes.py)."""

from tests.lanes import folder_marker

pytest_collection_modifyitems = folder_marker(__file__, "unit")
