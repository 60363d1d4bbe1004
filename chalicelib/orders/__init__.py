"""Orders: placing, cancelling and reading them.

- `service`: `OrderService`, the facade wiring.py builds; the cancel loop.
- `writer`: `OrderWriter`, the place loop (one TransactWriteItems per attempt).
- `budget`: `Budget`, the requests one order request may make, and the backoff.
- `stock`: `StockView`, what one container knows of stock (hints, beliefs, reservations).
- `plan`: which stock items an order takes its units from.
- `verdicts`: what a cancelled transaction means (`judge`, `judge_cancel`).
- `transactions`: the TransactWriteItems an order and a cancellation send.
- `queries`: reading orders and page tokens.
"""

from chalicelib.model import CANCELLED, CONFIRMED, Allocation, Order
from chalicelib.orders.budget import MAX_CALLS
from chalicelib.orders.plan import plan
from chalicelib.orders.queries import decode_token, encode_token
from chalicelib.orders.service import OrderService
from chalicelib.orders.writer import Placed, order_id_for

__all__ = [
    "CANCELLED",
    "CONFIRMED",
    "MAX_CALLS",
    "Allocation",
    "Order",
    "OrderService",
    "Placed",
    "decode_token",
    "encode_token",
    "order_id_for",
    "plan",
]
