"""Which stock items an order takes its units from (docs/orders.md, "How an order is
placed", step 2). Pure."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from chalicelib.model import Allocation


def plan(
    hints: Mapping[str, int],
    quantity: int,
    rng: random.Random,
    rank: Callable[[str], float] = lambda key: 0.0,
) -> Allocation | None:
    """The stock items to take `quantity` units from, by what `hints` believes
    they hold; None when they hold too little in all. When no single item
    suffices, the fullest items are taken (the fewest items, the fewest chances
    to meet another order); `rank` breaks ties, and each container ranks items
    its own way, so containers taking the last units spread over them."""
    if sum(max(units, 0) for units in hints.values()) < quantity:
        return None
    whole = [key for key, units in hints.items() if units >= quantity]
    if whole:
        # Weighted by units: shards drain evenly, so the last units are spread
        # thin late rather than early, and buyers rarely meet on one item.
        (key,) = rng.choices(whole, weights=[hints[key] for key in whole])
        return ((key, quantity),)
    taken: list[tuple[str, int]] = []
    needed = quantity
    for key in sorted(hints, key=lambda k: (-hints[k], rank(k))):
        take = min(hints[key], needed)
        if take > 0:
            taken.append((key, take))
            needed -= take
        if not needed:
            break
    return tuple(taken)
