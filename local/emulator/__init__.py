"""The local AWS emulator: moto's server behind one global lock.

moto's backends are not thread-safe (concurrent TransactWriteItems can oversell
or fail), so every request runs alone. Around that lock, small WSGI layers count
DynamoDB operations and inject the faults real DynamoDB, SNS and SES produce
under load but moto never does, set through a small admin API:

    GET  /_flashsale/stats          {"dynamodb": {"TransactWriteItems": n, ...},
                                     "dynamodbByApp": {"<AWS_SDK_UA_APP_ID>": {...}},
                                     "dynamodbByAppTable": {"<app>": {"<table>": {...}}},
                                     "throttledByApp": {"<app>": n}, ...}
    POST /_flashsale/stats/reset    every counter back to zero
    PUT  /_flashsale/faults         {"transactionConflictRate": 0.3, "hotItemWindowMs": 5,
                                     "throttleRate": 0.2, "snsOutage": true,
                                     "sesThrottleRate": 0.5}    ({} turns them all off)
    POST /_flashsale/restart        {"downSeconds": 2}

A request goes through the layers outermost first (`server.layered`), one
module each:

    admin.Admin            the /_flashsale/ API above
    injector.FaultInjector throttling, SNS outage, SES throttling (never reach moto)
    recorder.Recorder      the counters (`stats.Stats`)
    longpolls.LongPolls    SQS long polls waited out here, not under the lock
    lock.Serialised        the one lock
    conflicts.Conflicts    TransactionConflict at random and by the hot-item model
    moto

They share a `state.State`: the `faults.Faults` in force (an immutable value the
admin API replaces whole) and the counters. `python -m local.emulator` runs it.
"""

from local.emulator.faults import Faults
from local.emulator.server import Emulator, layered
from local.emulator.stats import Stats

__all__ = ["Emulator", "Faults", "Stats", "layered"]
