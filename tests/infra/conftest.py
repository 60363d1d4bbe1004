"""Terraform, IAM policies, packaging, the deploy role and tools, the provider schema.

Every test here is marked `infra` (tests/lanes.py)."""

from tests.lanes import folder_marker

pytest_collection_modifyitems = folder_marker(__file__, "infra")
