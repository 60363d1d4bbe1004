"""A stage's routes as `chalice deploy` reads them, printed as JSON.

    build/lambda-py313/bin/python -m deploy.app_routes --stage prod [--project-dir DIR]

Chalice imports app.py with the stage's environment variables (which decide the
authorizers), so this runs in its own process under the deploying interpreter;
the deploy rehearsal (deploy/rehearsal.py) checks API Gateway against it, not
against the Swagger document Chalice made from the same routes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def routes(project_dir: Path, stage: str) -> dict[str, Any]:
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(project_dir))
    config = factory.create_config_obj(chalice_stage_name=stage)
    os.environ.update(config.environment_variables)
    app = factory.load_chalice_app(config.environment_variables)
    found = []
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            authorizer = entry.authorizer
            found.append({
                "path": path,
                "method": method,
                "apiKeyRequired": bool(entry.api_key_required),
                "cors": entry.cors is not None,
                "authorizer": None if authorizer is None else authorizer.name,
                "authType": None if authorizer is None else authorizer.to_swagger().get(
                    "x-amazon-apigateway-authtype"
                ),
            })  # fmt: skip
    return {"routes": found, "binaryTypes": list(app.api.binary_types)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args()
    json.dump(routes(args.project_dir, args.stage), sys.stdout)


if __name__ == "__main__":
    main()
