"""The shop UI in a real browser (Debian's Chromium driven by Playwright)
against the running stack: buy, watch stock drop, hit the limit and sold out;
axe-core checks every state shown (WCAG 2 A/AA, nothing serious or critical)."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from local.stack import ROOT
from tests.stack.axe import assert_accessible
from tests.stack.conftest import Stack, left_open
from tests.stack.test_concurrency import new_product, shard_stocks

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "build" / "screenshots"
# The shop polls every 3 s and the API caches the catalog for 1 s, so on a busy
# CI machine a change may take longer to show than Playwright's 5 s default.
expect.set_options(timeout=10_000)


def total_stock(stack: Stack, product_id: str) -> int:
    """A product's stock whether or not it is sharded (a sharded one keeps it in its shards)."""
    shards = shard_stocks(stack, product_id)
    return sum(shards) if shards else stack.stock(product_id)


_SHARED: dict[str, Any] = {}


@contextmanager
def shared_chromium() -> Iterator[Browser]:
    """One Chromium for every browser-test module of the session: Playwright's sync API
    runs one instance per thread, so each module's `browser` fixture borrows this one."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if not _SHARED:
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        _SHARED.update(playwright=playwright, chromium=chromium, users=0)
    _SHARED["users"] += 1
    try:
        yield _SHARED["chromium"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            _SHARED["chromium"].close()
            _SHARED["playwright"].stop()
            _SHARED.clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with shared_chromium() as chromium:
        yield chromium


class Shopper:
    """One browser tab with its console watched for errors."""

    def __init__(self, browser: Browser, stack: Stack, user: str | None, **context: Any) -> None:
        self.context = browser.new_context(**context)
        left_open.append(self.context)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)
        # The UI keeps its dev identity in localStorage, like a signed-in session;
        # None leaves it to the UI, as for a shopper's first visit.
        if user is not None:
            self.page.add_init_script(
                f"localStorage.setItem('flashsale.userId', {json.dumps(user)})"
            )
        self.page.goto(stack.ui_url)

    def _console(self, message: Any) -> None:
        # Chromium logs every 4xx/5xx fetch; a 409 for a sold-out item is an answer, not a bug.
        expected = "the server responded with a status of 409" in message.text
        if message.type == "error" and not expected:
            self.problems.append(f"console: {message.text}")

    def card(self, name: str) -> Any:
        return self.page.get_by_role("article").filter(has_text=name)

    def buy(self, name: str, quantity: int = 1) -> None:
        card = self.card(name)
        card.get_by_label("Quantity").select_option(str(quantity))
        card.get_by_role("button", name=f"Buy {name}").click()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        left_open.remove(self.context)
        self.context.close()


def test_shopper_buys_sees_stock_drop_then_limit_and_sold_out(
    browser: Browser, stack: Stack
) -> None:
    name = f"Flash lamp {uuid.uuid4().hex[:6]}"
    product_id = new_product(stack, stock=3, maxPerUser=2, name=name, price=24.5)
    alice = Shopper(browser, stack, "alice-ui", viewport={"width": 1280, "height": 900})
    card = alice.card(name)
    expect(card.get_by_test_id("stock")).to_contain_text("3 left")

    # Buy two: confirmation with the order id, and the stock drops.
    alice.buy(name, 2)
    confirmation = alice.page.get_by_role("status", name="Order confirmation")
    expect(confirmation).to_contain_text("Order placed!")
    order_id = stack.orders_for(product_id)[0]["orderId"]
    expect(confirmation).to_contain_text(order_id)
    expect(card.get_by_test_id("stock")).to_contain_text("1 left")
    alice.shot("desktop-after-purchase")
    assert_accessible(alice.page, "the shop after a purchase")

    # A third unit is over alice's limit of two.
    alice.buy(name, 1)
    expect(card.get_by_role("alert")).to_contain_text("You've reached the limit for this item.")
    assert_accessible(alice.page, "the shop with a limit message")

    # Bob's page still shows the last unit when someone else takes it.
    bob = Shopper(browser, stack, "bob-ui", viewport={"width": 1280, "height": 900})
    expect(bob.card(name).get_by_test_id("stock")).to_contain_text("1 left")
    stale = bob.page.request.get(f"http://{stack.host}:{stack.api_port}/products").body()

    def frozen(route: Route) -> None:
        route.fulfill(status=200, body=stale, content_type="application/json")

    bob.page.route("**/products", frozen)
    assert (
        stack.api(
            "POST", "/orders", {"userId": "carol", "productId": product_id, "quantity": 1}
        ).status
        == 201
    )
    bob.buy(name, 1)
    expect(bob.card(name).get_by_role("alert")).to_contain_text(
        "Sold out: someone got there first."
    )
    bob.page.unroute("**/products", frozen)
    expect(bob.card(name).get_by_test_id("stock")).to_contain_text("Sold out")
    expect(bob.card(name).get_by_role("button", name=f"Buy {name}")).to_be_disabled()
    bob.shot("desktop-sold-out")
    assert_accessible(bob.page, "the shop with a sold-out product")

    # My orders lists alice's order.
    alice.page.get_by_role("button", name="My orders").click()
    expect(alice.page.get_by_role("cell", name=order_id, exact=True)).to_be_visible()
    alice.shot("desktop-my-orders")
    assert_accessible(alice.page, "My orders")

    assert stack.stock(product_id) == 0
    assert alice.problems == [] and bob.problems == []
    alice.close()
    bob.close()


def test_phone_layout_fits_and_counts_down(browser: Browser, stack: Stack) -> None:
    name = f"Midnight deal {uuid.uuid4().hex[:6]}"
    new_product(stack, stock=5, name=name, saleStartsAt="2099-01-01T00:00:00Z")
    phone = Shopper(
        browser,
        stack,
        "phone-ui",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    card = phone.card(name)
    expect(card.get_by_test_id("stock")).to_contain_text("Starts in")
    expect(card.get_by_role("button", name=f"Buy {name}")).to_be_disabled()
    overflow = phone.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    card.scroll_into_view_if_needed()
    phone.shot("phone-shop")
    assert_accessible(phone.page, "the shop on a phone")
    phone.page.get_by_role("button", name="My orders").click()
    expect(phone.page.get_by_text("No orders yet for phone-ui.")).to_be_visible()
    phone.shot("phone-my-orders")
    assert phone.problems == []
    phone.close()


def test_new_shopper_shops_as_an_address_and_is_told_where_mail_goes(
    browser: Browser, stack: Stack
) -> None:
    name = f"Welcome mug {uuid.uuid4().hex[:6]}"
    product_id = new_product(stack, stock=4, name=name, price=9.5)
    newcomer = Shopper(browser, stack, None, viewport={"width": 1280, "height": 900})
    identity = newcomer.page.get_by_label("Shopping as")
    expect(identity).to_have_value(re.compile(r"^shopper-[a-z0-9]{4,}@example\.com$"))
    address = identity.input_value()

    newcomer.buy(name, 1)
    confirmation = newcomer.page.get_by_role("status", name="Order confirmation")
    expect(confirmation).to_contain_text(f"A confirmation email is on its way to {address}.")
    assert [o["userId"] for o in stack.orders_for(product_id)] == [address]
    newcomer.shot("desktop-confirmation-email")

    # The address is kept: a reload is the same shopper.
    newcomer.page.reload()
    expect(newcomer.page.get_by_label("Shopping as")).to_have_value(address)
    assert_accessible(newcomer.page, "the shop for a new shopper")
    assert newcomer.problems == []
    newcomer.close()


def test_shopper_cancels_own_order_and_is_told_when_the_window_passed(
    browser: Browser, stack: Stack
) -> None:
    # Two sales through the admin API: one with the default cancel window, one with none.
    open_id, closed_id = (f"cancel-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for product_id, name, window in ((open_id, "Open box", 15), (closed_id, "Final sale", 0)):
        reply = stack.api(
            "PUT",
            f"/admin/sales/{product_id}",
            {
                "name": f"{name} {product_id[-4:]}",
                "price": 5,
                "stock": 3,
                "cancelWindowMinutes": window,
            },
        )
        assert reply.status == 200, reply.body
    open_name = f"Open box {open_id[-4:]}"
    closed_name = f"Final sale {closed_id[-4:]}"
    shopper = Shopper(browser, stack, "dana@example.com", viewport={"width": 1280, "height": 900})
    shopper.buy(open_name, 2)
    expect(shopper.card(open_name).get_by_test_id("stock")).to_contain_text("1 left")
    shopper.buy(closed_name, 1)
    expect(shopper.card(closed_name).get_by_test_id("stock")).to_contain_text("2 left")
    open_order = stack.orders_for(open_id)[0]["orderId"]
    closed_order = stack.orders_for(closed_id)[0]["orderId"]

    shopper.page.get_by_role("button", name="My orders").click()
    shopper.page.get_by_role("button", name=f"Cancel order {open_order}").click()
    dialog = shopper.page.get_by_role("dialog", name="Cancel this order?")
    expect(dialog).to_contain_text(open_name)
    assert_accessible(shopper.page, "the cancel dialog")
    shopper.shot("desktop-cancel-dialog")
    dialog.get_by_role("button", name="Cancel order").click()
    expect(
        shopper.page.get_by_text(f"Order cancelled: 2 \N{MULTIPLICATION SIGN} {open_name}")
    ).to_be_visible()
    row = shopper.page.get_by_role("row").filter(has_text=open_order)
    expect(row).to_contain_text("Cancelled")
    assert total_stock(stack, open_id) == 3

    shopper.page.get_by_role("button", name=f"Cancel order {closed_order}").click()
    shopper.page.get_by_role("dialog").get_by_role("button", name="Cancel order").click()
    expect(shopper.page.get_by_role("alert")).to_contain_text(
        "This order can no longer be cancelled"
    )
    assert_accessible(shopper.page, "My orders with a refused cancel")
    shopper.shot("desktop-cancel-refused")
    assert total_stock(stack, closed_id) == 2

    shopper.page.get_by_role("button", name="Shop").click()
    expect(shopper.card(open_name).get_by_test_id("stock")).to_contain_text("3 left")
    # The refused cancel is a 409 answer, which Chromium logs like any 4xx.
    assert shopper.problems == []
    shopper.close()


def test_screenshots_are_saved() -> None:
    # Runs after the two tests above (file order); the images are for people to look at.
    names = {p.stem for p in SCREENSHOTS.glob("*.png")}
    assert {"desktop-after-purchase", "desktop-sold-out", "phone-shop"} <= names
    assert shutil.disk_usage(SCREENSHOTS).free > 0
