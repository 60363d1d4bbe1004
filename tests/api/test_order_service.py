"""The order writer under injected DynamoDB faults, and its request budget."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from chalicelib import orders as orders_module
from chalicelib import retry, settings, wiring
from chalicelib.catalog import Catalog
from chalicelib.errors import Busy
from chalicelib.model import OrderRequest
from chalicelib.orders import OrderService
from tests.conftest import Shop


class FlakyDynamoDB:
    """A real (moto) client that fails the first `failures` transactions the way
    DynamoDB does when another transaction holds an item, without writing."""

    def __init__(self, client: Any, failures: int, error: str = "TransactionConflict") -> None:
        self._client = client
        self.failures = failures
        self.error = error
        self.transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        if self.failures > 0:
            self.failures -= 1
            items = kwargs["TransactItems"]
            if self.error == "ThrottlingException":
                error: dict[str, Any] = {"Error": {"Code": "ThrottlingException"}}
            else:
                reasons = [{"Code": "None"}] * len(items)
                reasons[0] = {"Code": self.error}
                error = {
                    "Error": {"Code": "TransactionCanceledException"},
                    "CancellationReasons": reasons,
                }
            raise ClientError(error, "TransactWriteItems")
        return self._client.transact_write_items(**kwargs)


def service(dynamodb: Any, client: Any, sleeps: list[float]) -> OrderService:
    config = settings.load()
    return OrderService(client, config, Catalog(dynamodb, config.products_table), sleeps.append)


@pytest.mark.parametrize("error", ["TransactionConflict", "ThrottlingError", "ThrottlingException"])
def test_transient_failures_are_retried_with_jitter_then_commit_once(
    shop: Shop, error: str
) -> None:
    shop.put_product(stock=5)
    flaky = FlakyDynamoDB(shop.dynamodb, failures=3, error=error)
    sleeps: list[float] = []

    placed = service(shop.dynamodb, flaky, sleeps).place(OrderRequest("alice", "p1", 2))

    assert flaky.transactions == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= retry.ORDER.cap for s in sleeps)
    assert shop.stock() == 3
    assert [o["orderId"] for o in shop.orders()] == [placed.order.order_id]


def test_persistent_conflict_gives_busy_and_writes_nothing(shop: Shop) -> None:
    shop.put_product(stock=5)
    flaky = FlakyDynamoDB(shop.dynamodb, failures=10**6)
    sleeps: list[float] = []

    with pytest.raises(Busy) as raised:
        service(shop.dynamodb, flaky, sleeps).place(OrderRequest("alice", "p1", 1))

    # One read filled the product cache; every other request of the budget was a try.
    assert flaky.transactions == orders_module.MAX_CALLS - 1
    assert raised.value.headers() == {"Retry-After": "1"}
    assert shop.stock() == 5
    assert shop.orders() == []


def test_busy_reaches_the_client_as_503_with_retry_after(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.put_product(stock=5)
    shop.order()  # builds the services
    real = wiring.orders()
    flaky = FlakyDynamoDB(shop.dynamodb, failures=10**6)
    monkeypatch.setattr(real, "_client", flaky)
    monkeypatch.setattr(real, "_sleep", lambda seconds: None)

    response = shop.order(userId="bob")

    assert response.status_code == 503
    assert response.json_body["code"] == "BUSY"
    assert response.headers["Retry-After"] == "1"
    assert shop.stock() == 4


def test_conflicted_replay_still_yields_one_order(shop: Shop) -> None:
    shop.put_product(stock=5)
    flaky = FlakyDynamoDB(shop.dynamodb, failures=2)
    orders = service(shop.dynamodb, flaky, [])
    request = OrderRequest("alice", "p1", 1)

    first = orders.place(request, "key-1")
    flaky.failures = 2
    second = orders.place(request, "key-1")

    assert second.replayed and second.order == first.order
    assert shop.stock() == 4
    assert len(shop.orders()) == 1


def test_happy_path_is_one_dynamodb_request_per_order(shop: Shop) -> None:
    shop.put_product(stock=50, maxPerUser=10, shards=1)
    calls: Counter[str] = Counter()
    shop.dynamodb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    orders = service(shop.dynamodb, shop.dynamodb, [])

    for n in range(20):
        orders.place(OrderRequest(f"user-{n % 4}", "p1", 1))

    # One read fills the product cache; then each order is a single transaction.
    assert calls == Counter({"TransactWriteItems": 20, "GetItem": 1})
    assert shop.stock() == 30


@pytest.mark.parametrize(
    "failure",
    [
        ReadTimeoutError(endpoint_url="http://dynamodb"),
        EndpointConnectionError(endpoint_url="http://dynamodb"),
        ClientError({"Error": {"Code": "ThrottlingException"}}, "Scan"),
    ],
)
def test_unreachable_or_throttled_aws_is_503_busy_not_500(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    shop.put_product()

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(wiring.catalog(), "list", unavailable)
    response = shop.request("GET", "/products")
    assert response.status_code == 503
    assert response.json_body["code"] == "BUSY"
    assert response.headers["Retry-After"] == "1"
