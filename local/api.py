"""`chalice local`, with a listen backlog sized for a flash sale and unknown
routes answered in the contract's shape (local/gateway.py).

Chalice's dev server keeps socketserver's default backlog of 5, so the burst of
connections when a sale opens gets reset by the kernel. An AWS_ENDPOINT_URL in
this process's environment (`make run`'s emulator, on whatever EMULATOR_PORT)
wins over the local stage's own (local/stage.py). Everything else is the stock
`chalice local` command: `python -m local.api local --stage local ...`.
"""

import os
import sys

from chalice import local as chalice_local
from chalice.cli import factory, main

from local import gateway, stage

chalice_local.ThreadedHTTPServer.request_queue_size = 1024
gateway.install()
if overrides := {name: os.environ[name] for name in stage.HARNESS_VARIABLES if name in os.environ}:
    stage.endpoint_override(factory.CLIFactory, overrides)

if __name__ == "__main__":
    sys.exit(main())
