"""Waiting rooms (docs/waiting-room.md): fair, verifiable admission to a hot drop.

- `shuffle`: the published order of the pre-queue (pure; tools.verify_queue uses it).
- `tokens`: signed tickets and passes (pure).
- `admission`: what one admitter tick decides (pure).
- `store`: the rooms table, the only code that knows its items.
- `service`: joins, polls, the personal call, the operator's view and rate.
- `admitter`: the ticks: freeze and shuffle, rank arrivals, admit.
- `gate`: what POST /orders checks and adds to its transaction.
"""
