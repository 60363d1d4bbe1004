"""The local stage as Chalice itself reads it from .chalice/config.json: its
environment names the emulator (AWS_ENDPOINT_URL, http://127.0.0.1:4566 by
default: `make emulator`), the region and dummy credentials, so that a plain
`chalice local --stage local` runs against it.

A harness whose emulator listens elsewhere (`make run EMULATOR_PORT=…`, the
tests' stacks on free ports) passes its endpoint as a user-provided parameter,
which Chalice merges over the stage's variables, as it does a CLI option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"
ENDPOINT = "AWS_ENDPOINT_URL"


def config(stage: str = STAGE, endpoint: str | None = None) -> Any:
    """Chalice's Config for `stage`; with `endpoint`, its AWS_ENDPOINT_URL instead
    of the stage's."""
    params = {"environment_variables": {ENDPOINT: endpoint}} if endpoint else {}
    return CLIFactory(str(ROOT)).create_config_obj(
        chalice_stage_name=stage, user_provided_params=params
    )


def environment(stage: str = STAGE, endpoint: str | None = None) -> dict[str, str]:
    """The environment variables Chalice gives `stage` (global ones included)."""
    variables: dict[str, str] = config(stage, endpoint).environment_variables
    return variables


# What a harness sets for the services it started on ports of its own choosing:
# the emulator and localstripe.
HARNESS_VARIABLES = (ENDPOINT, "STRIPE_API_BASE")


def endpoint_override(factory: type[CLIFactory], overrides: dict[str, str]) -> None:
    """Make every config `factory` creates name these services (`overrides`, from
    HARNESS_VARIABLES): what `python -m local.api` does when its environment
    names them."""
    create = factory.create_config_obj
    if getattr(create, "endpoint_override", None) == overrides:
        return

    def create_config_obj(self: CLIFactory, *args: Any, **kwargs: Any) -> Any:
        params = dict(kwargs.pop("user_provided_params", None) or {})
        variables = {**params.get("environment_variables", {}), **overrides}
        params["environment_variables"] = variables
        return create(self, *args, user_provided_params=params, **kwargs)

    create_config_obj.endpoint_override = dict(overrides)  # type: ignore[attr-defined]
    factory.create_config_obj = create_config_obj  # type: ignore[method-assign]
