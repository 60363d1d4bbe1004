"""The API and the domain code through the Chalice test client, on in-process moto.

Every test here is marked `api` (tests/lanes.py)."""

from tests.lanes import folder_marker

pytest_collection_modifyitems = folder_marker(__file__, "api")
