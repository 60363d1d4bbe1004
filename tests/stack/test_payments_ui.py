"""The payment step in a real browser against the running stack, localstripe included:
pay a held order with Stripe's test card, have a card declined and pay with another,
let a hold run out; axe-core checks every state shown (nothing serious or critical).

The card form is localstripe's stand-in for Stripe Elements, served by the stack at
<localstripe>/js.stripe.com/v3/ (GET /payments/config names it); the shop labels its
bare inputs, so the test types into them by label like a shopper with a screen reader.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.stack.axe import assert_accessible
from tests.stack.conftest import Stack
from tests.stack.test_concurrency import new_product
from tests.stack.test_shop_ui import Shopper, shared_chromium, total_stock

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
VISA = "4242424242424242"
# Attaches, then every charge is declined: the 402 PAYMENT_FAILED path.
DECLINED_ON_CHARGE = "4000000000000341"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with shared_chromium() as chromium:
        yield chromium


class PayingShopper(Shopper):
    """A shopper whose console may log the 402 of a declined card: it is an answer."""

    def _console(self, message: Any) -> None:
        if "the server responded with a status of 402" in message.text:
            return
        super()._console(message)

    def pay(self, number: str) -> None:
        page = self.page
        page.get_by_label("Card number").fill(number)
        page.get_by_label("Expiry month").fill("12")
        page.get_by_label("Expiry year").fill("34")
        page.get_by_label("Security code (CVC)").fill("123")
        page.get_by_label("Postal code").fill("10001")
        page.get_by_role("button", name="Pay ").click()

    def my_orders_row(self, order_id: str) -> Any:
        self.page.get_by_role("navigation").get_by_role("button", name="My orders").click()
        return self.page.get_by_role("row").filter(has_text=order_id)


def pay_product(stack: Stack, stock: int, **fields: Any) -> tuple[str, str]:
    name = f"Held lamp {uuid.uuid4().hex[:6]}"
    product_id = new_product(stack, stock=stock, name=name, price=24.5, checkout="pay", **fields)
    return product_id, name


def only_order(stack: Stack, product_id: str) -> dict[str, Any]:
    orders = stack.orders_for(product_id)
    assert len(orders) == 1, orders
    return orders[0]


def test_shopper_pays_a_held_order_and_sees_it_confirmed(browser: Browser, stack: Stack) -> None:
    product_id, name = pay_product(stack, stock=3)
    shopper = PayingShopper(browser, stack, "payer@example.com", **DESKTOP)
    shopper.buy(name, 2)

    page = shopper.page
    expect(page.get_by_role("heading", name="Pay for your order")).to_be_visible()
    expect(page.get_by_role("timer", name="Time left to pay")).to_have_text(
        re.compile(r"^\d+:\d\d$")
    )
    expect(page.get_by_label("Card number")).to_be_visible()
    order = only_order(stack, product_id)
    assert order["status"] == "AWAITING_PAYMENT"
    assert total_stock(stack, product_id) == 1  # held units are out of stock while held
    shopper.shot("desktop-payment-step")
    assert_accessible(page, "the payment step")

    shopper.pay(VISA)
    expect(page.get_by_role("heading", name="Order Placed Successfully")).to_be_visible(
        timeout=30_000
    )
    expect(
        page.get_by_text("A confirmation email is on its way to payer@example.com.")
    ).to_be_visible()
    assert only_order(stack, product_id)["status"] == "CONFIRMED"
    shopper.shot("desktop-payment-confirmed")
    assert_accessible(page, "a confirmed payment")

    row = shopper.my_orders_row(order["orderId"])
    expect(row).to_contain_text("Confirmed")
    assert_accessible(page, "My orders with a paid order")
    assert total_stock(stack, product_id) == 1
    assert shopper.problems == []
    shopper.close()


def test_declined_card_keeps_the_hold_and_another_card_pays(browser: Browser, stack: Stack) -> None:
    product_id, name = pay_product(stack, stock=2)
    shopper = PayingShopper(browser, stack, "declined@example.com", **DESKTOP)
    shopper.buy(name, 1)
    page = shopper.page
    expect(page.get_by_label("Card number")).to_be_visible()

    shopper.pay(DECLINED_ON_CHARGE)
    alert = page.get_by_role("alert").filter(has_text="Your card wasn't charged.")
    expect(alert).to_contain_text("You can try another card until")
    assert only_order(stack, product_id)["status"] == "AWAITING_PAYMENT"
    shopper.shot("desktop-payment-declined")
    assert_accessible(page, "a declined card")

    # Leave and come back through My orders: the hold is still there to pay.
    order_id = only_order(stack, product_id)["orderId"]
    row = shopper.my_orders_row(order_id)
    expect(row).to_contain_text("Awaiting payment")
    expect(row).to_contain_text("min left")
    assert_accessible(page, "My orders with a held order")
    row.get_by_role("button", name=f"Pay now for order {order_id}").click()
    expect(page.get_by_label("Card number")).to_be_visible()
    shopper.pay(VISA)
    expect(page.get_by_role("heading", name="Order Placed Successfully")).to_be_visible(
        timeout=30_000
    )
    assert only_order(stack, product_id)["status"] == "CONFIRMED"
    assert shopper.problems == []
    shopper.close()


def test_hold_runs_out_and_the_units_go_back_on_sale(browser: Browser, stack: Stack) -> None:
    product_id, name = pay_product(stack, stock=2, holdMinutes=1)
    shopper = PayingShopper(browser, stack, "slow@example.com", **DESKTOP)
    shopper.buy(name, 2)
    page = shopper.page
    expect(page.get_by_role("timer")).to_be_visible()
    expect(page.get_by_test_id("hold-announcement")).to_have_text("Less than a minute left to pay.")
    assert total_stock(stack, product_id) == 0

    ended = page.get_by_role("alert").filter(has_text=f"Your hold on {name} ended at")
    expect(ended).to_contain_text("the units went back on sale.", timeout=90_000)
    expect(page.get_by_role("button", name="Pay ")).to_have_count(0)
    shopper.shot("desktop-hold-ended")
    assert_accessible(page, "a hold that ran out")
    assert only_order(stack, product_id)["status"] == "RELEASED"
    assert total_stock(stack, product_id) == 2

    row = shopper.my_orders_row(only_order(stack, product_id)["orderId"])
    expect(row).to_contain_text("Released (hold ended)")
    page.get_by_role("button", name="Shop").click()
    expect(shopper.card(name).get_by_test_id("stock")).to_contain_text("2 left")
    assert shopper.problems == []
    shopper.close()
