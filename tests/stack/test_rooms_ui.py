"""The waiting room in a real browser against the running stack: join the
pre-queue, be admitted in turn when the sale starts and buy with the pass; a
later shopper queues behind and is told when the drop sells out. axe-core
checks every state shown (nothing serious or critical)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from chalicelib import instants
from tests.stack.axe import assert_accessible
from tests.stack.conftest import Stack
from tests.stack.test_concurrency import new_product
from tests.stack.test_shop_ui import Shopper, shared_chromium

DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with shared_chromium() as chromium:
        yield chromium


def test_a_shopper_queues_is_admitted_buys_and_the_next_is_told_sold_out(
    browser: Browser, stack: Stack
) -> None:
    name = f"Queued drop {uuid.uuid4().hex[:6]}"
    starts = datetime.now(UTC) + timedelta(seconds=12)
    product_id = new_product(
        stack,
        stock=1,
        name=name,
        price=30.0,
        checkout="instant",
        saleStartsAt=instants.canonical(starts),
        waitingRoom={"ratePerSecond": 1, "passSeconds": 60},
    )
    first = Shopper(browser, stack, f"first-{uuid.uuid4().hex[:6]}@example.com", **DESKTOP)
    room = first.page.get_by_role("region", name=f"Waiting room for {name}")
    room.get_by_role("button", name=f"Join the queue for {name}").click()
    expect(room.get_by_test_id("queue-message")).to_contain_text("You're in the queue")
    assert_accessible(first.page, "the waiting room before the start")

    # The sale starts, the pre-queue (one shopper) is shuffled, the turn comes.
    turn = room.get_by_test_id("queue-turn")
    expect(turn).to_be_visible(timeout=45_000)
    expect(first.page.get_by_role("timer", name="Time left to buy")).to_be_visible()
    assert_accessible(first.page, "the shopper's turn")
    turn.get_by_role("button", name=f"Buy {name}").click()
    confirmation = first.page.get_by_role("status", name="Order confirmation")
    expect(confirmation).to_contain_text("Order placed!", timeout=15_000)
    (order,) = stack.orders_for(product_id)
    expect(confirmation).to_contain_text(order["orderId"])

    # A shopper who comes after the start queues behind; the drop sells out.
    late = Shopper(browser, stack, f"late-{uuid.uuid4().hex[:6]}@example.com", **DESKTOP)
    late_room = late.page.get_by_role("region", name=f"Waiting room for {name}")
    join = late_room.get_by_role("button", name=f"Join the queue for {name}")
    if join.is_visible():
        join.click()
    expect(late_room.get_by_test_id("queue-message")).to_contain_text("Sold out", timeout=30_000)
    assert_accessible(late.page, "the waiting room sold out")
    assert stack.stock(product_id) == 0
    assert not first.problems and not late.problems, first.problems + late.problems
    first.close()
    late.close()
