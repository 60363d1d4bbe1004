"""The operator console (/admin) in a real browser against the running stack.

`test_operator_runs_a_sale_end_to_end` is the issue's scenario on the real admin API:
create a sale in the console, buy it in the shop from a second browser context, watch
the console's sold count and chart move, cancel that order, see the stock come back in
both, export the CSV and check its rows. It waits for the admin API to be merged.

`test_console_pages_with_a_stand_in_api` runs today: the console's pages against a
stand-in for the admin API (Playwright answers the API's /admin requests from the spec's
shapes), checked with axe-core, on a desktop and a phone. Both save screenshots to
build/screenshots/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.stack.axe import assert_accessible
from tests.stack.conftest import Stack, running_stack
from tests.stack.test_shop_ui import SCREENSHOTS, Shopper, shared_chromium, total_stock

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # A stack of its own: the console counts orders from the Orders stream, and
    # a backlog other test files left on a shared stack's stream (thousands of
    # orders) held the count back past any sensible wait.
    with running_stack("console-stack") as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # The same Chromium as the shop's browser tests when both files run.
    with shared_chromium() as chromium:
        yield chromium


class Operator:
    """A browser context on the console, its console errors collected."""

    def __init__(self, chromium: Browser, stack: Stack, **context: Any) -> None:
        self.stack = stack
        self.context = chromium.new_context(accept_downloads=True, **context)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        # Chromium logs every 4xx fetch; a status a test provokes on purpose is an answer.
        self.provoked: set[int] = set()
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        expected = any(
            f"the server responded with a status of {status}" in message.text
            for status in self.provoked
        )
        if message.type == "error" and not expected:
            self.problems.append(f"console: {message.text}")

    def open(self, path: str = "/admin") -> None:
        self.page.goto(f"{self.stack.ui_url}{path}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def fits_the_screen(self) -> bool:
        # Wide tables scroll inside their own region; the page itself never scrolls sideways.
        overflow = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        return bool(overflow <= 0)

    def close(self) -> None:
        self.context.close()


def number(page: Page, test_id: str) -> int:
    return int(page.get_by_test_id(test_id).inner_text())


# --- The scenario, on the real admin API ------------------------------------


def test_operator_runs_a_sale_end_to_end(browser: Browser, stack: Stack) -> None:
    product_id = f"console-{uuid.uuid4().hex[:8]}"
    name = f"Console kettle {product_id[-4:]}"
    operator = Operator(browser, stack, **DESKTOP)

    # Create the sale in the console.
    operator.open("/admin/new")
    form = operator.page
    form.get_by_label("Name").fill(name)
    form.get_by_label("Product id").fill(product_id)
    form.get_by_label("Description").fill("Boils a litre in a minute.")
    form.get_by_label("Image URL").fill("/images/sweets.svg")
    form.get_by_label("Price (USD)").fill("12.50")
    form.get_by_label("Stock").fill("6")
    form.get_by_label("Shards").fill("2")
    form.get_by_label("Per-shopper limit").fill("3")
    start = (datetime.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    form.get_by_label("Sale starts").fill(start)
    form.get_by_label("Cancel window (minutes)").fill("15")
    assert_accessible(form, "the create-sale form")
    operator.shot("console-create-sale")
    form.get_by_role("button", name="Create sale").click()

    # Its live view: nothing sold yet.
    page = operator.page
    expect(page).to_have_url(re.compile(f"/admin/sales/{product_id}$"))
    expect(page.get_by_role("heading", name=name, level=2)).to_be_visible()
    expect(page.get_by_text("Sale created.")).to_be_visible()
    expect(page.get_by_test_id("stock-left")).to_have_text("6")
    expect(page.get_by_test_id("units-sold")).to_have_text("0")
    expect(page.get_by_text("No orders yet.")).to_be_visible()

    # A shopper buys 2 in the shop, in another browser context.
    shopper = Shopper(browser, stack, "kim@example.com", **DESKTOP)
    card = shopper.card(name)
    expect(card.get_by_test_id("stock")).to_contain_text("6 left")
    shopper.buy(name, 2)
    confirmation = shopper.page.get_by_role("status", name="Order confirmation")
    expect(confirmation).to_contain_text("A confirmation email is on its way to kim@example.com.")
    order_id = stack.orders_for(product_id)[0]["orderId"]

    # The console moves by itself (it refreshes every 3 s): sold count, stock, chart, orders.
    expect(page.get_by_test_id("units-sold")).to_have_text("2", timeout=10_000)
    expect(page.get_by_test_id("stock-left")).to_have_text("4")
    expect(page.get_by_role("img", name=re.compile("2 units sold"))).to_be_visible()
    assert page.locator("svg rect.bar").count() >= 1
    row = page.get_by_role("row").filter(has_text=order_id)
    expect(row).to_contain_text("kim@example.com")
    expect(row).to_contain_text("Confirmed")
    page.get_by_text("The chart as a table").click()
    expect(page.get_by_role("table", name="Minute by minute, oldest first")).to_contain_text("2")
    assert_accessible(page, "the live view with an order")
    operator.shot("console-live-sale")

    # Search by shopper, then by order id.
    page.get_by_label("Find by").select_option("Shopper")
    page.get_by_role("searchbox").fill("kim@example.com")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row").filter(has_text=order_id)).to_be_visible()
    page.get_by_label("Find by").select_option("Order id")
    page.get_by_role("searchbox").fill("no-such-order")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No orders of this sale match")).to_be_visible()
    page.get_by_role("button", name="Show all").click()

    # Cancel the order from the console: the stock comes back in both.
    page.get_by_role("button", name=f"Cancel order {order_id}").click()
    dialog = page.get_by_role("dialog", name="Cancel this order?")
    expect(dialog).to_contain_text("kim@example.com")
    assert_accessible(page, "the console's cancel dialog")
    operator.shot("console-cancel-dialog")
    dialog.get_by_role("button", name="Cancel order").click()
    expect(page.get_by_text(f"Order {order_id} cancelled; 2 back in stock.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=order_id)).to_contain_text("Cancelled")
    expect(page.get_by_test_id("stock-left")).to_have_text("6", timeout=10_000)
    expect(page.get_by_test_id("units-sold")).to_have_text("0")
    expect(card.get_by_test_id("stock")).to_contain_text("6 left", timeout=10_000)
    assert total_stock(stack, product_id) == 6

    # Restock 4, then the table of sales shows the new level.
    page.get_by_label("Units to add").fill("4")
    page.get_by_role("button", name="Restock").click()
    expect(page.get_by_text("Added 4 units. Stock is now 10.")).to_be_visible()
    expect(card.get_by_test_id("stock")).to_contain_text("10 left", timeout=10_000)

    # The CSV: the header of the spec and the one (cancelled) order.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"orders-{product_id}.csv"
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert list(rows[0]) == [
        "orderId",
        "userId",
        "email",
        "quantity",
        "unitPrice",
        "totalAmount",
        "status",
        "createdAt",
        "cancelledAt",
    ]
    assert [(r["orderId"], r["userId"], r["quantity"], r["status"]) for r in rows] == [
        (order_id, "kim@example.com", "2", "CANCELLED")
    ]
    assert rows[0]["cancelledAt"]

    # End the sale now: the shop shows it ended.
    page.get_by_role("button", name="End sale now").click()
    page.get_by_role("dialog").get_by_role("button", name="End sale now").click()
    expect(page.get_by_text("Sale ended. Shoppers can no longer buy it.")).to_be_visible()
    expect(page.locator(".live-head .badge")).to_have_text("Ended", timeout=10_000)
    expect(card.get_by_test_id("stock")).to_contain_text("Sale ended", timeout=10_000)

    # The sales table lists it with its figures.
    page.get_by_role("link", name="Sales", exact=True).click()
    sale_row = page.get_by_role("row").filter(has_text=product_id)
    expect(sale_row).to_contain_text("Ended")
    assert_accessible(page, "the sales table")
    operator.shot("console-sales")

    # A phone: the live view fits the screen and passes axe.
    phone = Operator(browser, stack, **PHONE)
    phone.open(f"/admin/sales/{product_id}")
    expect(phone.page.get_by_role("heading", name=name, level=2)).to_be_visible()
    assert phone.fits_the_screen()
    assert_accessible(phone.page, "the live view on a phone")
    phone.shot("console-phone-live-sale")

    assert operator.problems == [] and shopper.problems == [] and phone.problems == []
    for context in (operator, shopper, phone):
        context.close()


# --- The console today, on a stand-in admin API -----------------------------------------


class StandInAdminApi:
    """Answers the console's calls to the API origin from the spec's shapes, in memory."""

    def __init__(self, stack: Stack) -> None:
        self.origin = f"http://{stack.host}:{stack.api_port}"
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.now = now
        self.sales: dict[str, dict[str, Any]] = {
            "kettle-1": self._sale("kettle-1", "Midnight kettle", stock=37, sold=63, state="live"),
            "lamp-2": self._sale(
                "lamp-2",
                "Desk lamp",
                stock=100,
                sold=0,
                state="scheduled",
                saleStartsAt=self._iso(now + timedelta(days=1)),
            ),
            "mug-3": self._sale("mug-3", "Welcome mug", stock=0, sold=40, state="sold_out"),
            "cable-4": self._sale(
                "cable-4",
                "USB-C cable",
                stock=12,
                sold=8,
                state="ended",
                saleEndsAt=self._iso(now - timedelta(hours=2)),
            ),
        }
        self.orders = [
            {
                "orderId": f"ord-{n:04d}",
                "userId": f"shopper-{n:02d}@example.com",
                "email": f"shopper-{n:02d}@example.com",
                "productId": "kettle-1",
                "productName": "Midnight kettle",
                "quantity": 1 + n % 3,
                "unitPrice": 19.99,
                "totalAmount": round(19.99 * (1 + n % 3), 2),
                "status": "CONFIRMED",
                "createdAt": self._iso(now - timedelta(minutes=n)),
            }
            for n in range(1, 8)
        ]
        self.cancelled: list[str] = []

    @staticmethod
    def _iso(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _sale(
        self, product_id: str, name: str, stock: int, sold: int, state: str, **more: Any
    ) -> Any:
        return {
            "productId": product_id,
            "name": name,
            "price": 19.99,
            "stock": stock,
            "shards": 4,
            "maxPerUser": 3,
            "cancelWindowMinutes": 15,
            "state": state,
            "unitsSold": sold,
            "unitsCancelled": 2,
            "orders": sold // 2,
            "cancelledOrders": 1,
            "revenue": round(sold * 19.99, 2),
            **more,
        }

    def live(self, product_id: str) -> Any:
        stock = 100
        minutes = []
        for i in range(60):
            sold = [0, 0, 12, 9, 7, 5, 4, 3, 2, 1][i - 45] if 45 <= i < 55 else 0
            stock -= sold
            minutes.append(
                {
                    "minute": self._iso(self.now - timedelta(minutes=59 - i)),
                    "unitsSold": sold,
                    "unitsCancelled": 1 if i == 50 else 0,
                    "orders": (sold + 1) // 2,
                    "stock": stock + (1 if i >= 50 else 0),
                }
            )
        return {
            "sale": self.sales[product_id],
            "serverTime": self._iso(datetime.now(UTC)),
            "minutes": minutes,
            "rejections": {
                "OUT_OF_STOCK": 0,
                "SALE_NOT_ACTIVE": 14,
                "PURCHASE_LIMIT_EXCEEDED": 5,
                "BUSY": 2,
            },
        }

    def install(self, page: Page) -> None:
        page.route(f"{self.origin}/admin/**", self.handle)
        page.route(f"{self.origin}/orders/*/cancel", self.handle)

    def handle(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        cors = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Allow-Methods": "GET, PUT, POST",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=cors)
            return

        def reply(status: int, body: Any) -> None:
            route.fulfill(
                status=status, headers=cors, content_type="application/json", body=json.dumps(body)
            )

        if parts[0] == "orders":
            order = next(o for o in self.orders if o["orderId"] == parts[1])
            order.update(status="CANCELLED", cancelledAt=self._iso(datetime.now(UTC)))
            self.cancelled.append(parts[1])
            reply(200, order)
        elif parts == ["admin", "sales"]:
            reply(200, {"sales": list(self.sales.values()), "count": len(self.sales)})
        elif len(parts) == 3 and request.method == "PUT":
            fields = json.loads(request.post_data or "{}")
            if fields.get("price", 0) > 1_000_000:
                reply(400, {"code": "INVALID_REQUEST", "message": "price must be at most 1000000"})
                return
            created = self._sale(parts[2], fields["name"], fields["stock"], 0, "live")
            self.sales[parts[2]] = {**created, **fields}
            reply(200, self.sales[parts[2]])
        elif parts[3:] == ["live"]:
            reply(200, self.live(parts[2]))
        elif parts[3:] == ["orders"]:
            query = parse_qs(url.query)
            found = [o for o in self.orders if o["productId"] == parts[2]]
            if "userId" in query:
                found = [o for o in found if o["userId"] == query["userId"][0]]
            if "orderId" in query:
                found = [o for o in found if o["orderId"] == query["orderId"][0]]
            reply(200, {"orders": found})
        elif parts[3:] == ["orders.csv"]:
            lines = [
                "orderId,userId,email,quantity,unitPrice,totalAmount,status,createdAt,cancelledAt"
            ]
            lines += [
                f"{o['orderId']},{o['userId']},{o['email']},{o['quantity']},{o['unitPrice']},"
                f"{o['totalAmount']},{o['status']},{o['createdAt']},{o.get('cancelledAt', '')}"
                for o in self.orders
            ]
            route.fulfill(
                status=200, headers=cors, content_type="text/csv", body="\n".join(lines) + "\n"
            )
        else:
            reply(404, {"code": "PRODUCT_NOT_FOUND", "message": f"no route {url.path}"})


def test_console_pages_with_a_stand_in_api(browser: Browser, stack: Stack) -> None:
    api = StandInAdminApi(stack)
    operator = Operator(browser, stack, **DESKTOP)
    api.install(operator.page)
    page = operator.page

    # /admin straight from the address bar: the dev server answers index.html.
    operator.open("/admin")
    expect(page.get_by_role("heading", name="Sales", level=2)).to_be_visible()
    rows = page.get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Midnight kettle")
    expect(rows.nth(1)).to_contain_text("Live")
    expect(rows.nth(1)).to_contain_text("$1,259.37")
    assert_accessible(page, "the sales table")
    operator.shot("standin-console-sales")

    # The live view: figures, an SVG chart with a text summary, refusals, orders.
    page.get_by_role("link", name="Midnight kettle", exact=True).click()
    expect(page.get_by_role("heading", name="Midnight kettle", level=2)).to_be_focused()
    expect(page.get_by_test_id("units-sold")).to_have_text("63")
    chart = page.get_by_role("img", name=re.compile("Units sold per minute and stock over time"))
    expect(chart).to_be_visible()
    assert page.locator("svg rect.bar").count() == 8
    expect(page.get_by_role("table", name="Refused purchases by reason")).to_contain_text(
        "Outside the sale window"
    )
    expect(page.get_by_role("row").filter(has_text="ord-0001")).to_contain_text("Confirmed")
    page.get_by_text("The chart as a table").click()
    assert_accessible(page, "the live view")
    operator.shot("standin-console-live-sale")

    # Keyboard only: tab to a Cancel button, confirm in the dialog with the keyboard.
    page.get_by_role("button", name="Cancel order ord-0002").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Cancel this order?")
    expect(dialog.get_by_role("button", name="Keep order")).to_be_focused()
    assert_accessible(page, "the console's cancel dialog")
    operator.shot("standin-console-cancel-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Cancel order ord-0002").click()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Cancel order")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Order ord-0002 cancelled; 3 back in stock.")).to_be_visible()
    assert api.cancelled == ["ord-0002"]

    # Search by shopper.
    page.get_by_role("searchbox").fill("shopper-03@example.com")
    page.keyboard.press("Enter")
    expect(page.get_by_role("row").filter(has_text="ord-")).to_have_count(1)

    # CSV export through fetch + Blob.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "orders-kettle-1.csv"
    exported = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert len(exported) == 7
    assert {r["status"] for r in exported} == {"CONFIRMED", "CANCELLED"}

    # The form: errors are listed and linked; then a valid sale is created.
    page.get_by_role("link", name="New sale", exact=True).first.click()
    page.get_by_role("button", name="Create sale").click()
    expect(page.get_by_role("alert")).to_contain_text("Please fix these")
    assert_accessible(page, "the create-sale form with errors")
    operator.shot("standin-console-form-errors")
    page.get_by_label("Name").fill("Flash tea set")
    expect(page.get_by_label("Product id")).to_have_value("flash-tea-set")
    page.get_by_label("Price (USD)").fill("2000000")
    operator.provoked.add(400)
    page.get_by_label("Stock").fill("25")
    page.get_by_role("button", name="Create sale").click()
    expect(page.get_by_role("alert")).to_contain_text("The API refused these values.")
    page.get_by_label("Price (USD)").fill("29.90")
    page.get_by_role("button", name="Create sale").click()
    expect(page).to_have_url(re.compile("/admin/sales/flash-tea-set$"))
    expect(page.get_by_text("Sale created.")).to_be_visible()

    # A phone: the live view fits, its tables scroll in place, axe passes.
    phone = Operator(browser, stack, **PHONE)
    api.install(phone.page)
    phone.open("/admin/sales/kettle-1")
    expect(phone.page.get_by_test_id("units-sold")).to_have_text("63")
    assert phone.fits_the_screen()
    assert_accessible(phone.page, "the live view on a phone")
    phone.shot("standin-console-phone-live-sale")
    phone.open("/admin")
    expect(phone.page.get_by_role("row").filter(has_text="Midnight kettle")).to_contain_text("Live")
    assert phone.fits_the_screen()
    assert_accessible(phone.page, "the sales table on a phone")
    phone.shot("standin-console-phone-sales")

    assert operator.problems == [] and phone.problems == []
    operator.close()
    phone.close()
