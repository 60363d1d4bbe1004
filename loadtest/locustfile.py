"""Shoppers in a flash sale, for Locust: browse, look, buy, check their orders.

Against the local stack:   make loadtest   (headless; prints requests/s, failures and p99)
Against a deployed stage, signed in (loadtest/users.py creates the Cognito users):
    LOADTEST_USERS=build/load-users.csv LOADTEST_USER_POOL_ID=<pool> \\
    LOADTEST_CLIENT_ID=<smoke client> python -m locust -f loadtest/locustfile.py \\
    --host https://<cloudfront>/api
Each simulated shopper signs in as one of those users (ID tokens last an hour)
and buys as its token's subject. Mind the WAF's per-IP limits: one machine is
one address.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, between, task

from loadtest.users import Identities

# Business answers a sale gives under load; they are not failures.
EXPECTED = {200, 201, 409}


IDENTITIES = Identities()


class Shopper(FastHttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.user_id, self.auth = IDENTITIES.next()
        self.products: list[str] = []
        self.rooms: list[str] = []
        self.browse()

    @task(5)
    def browse(self) -> None:
        with self.client.get("/products", name="GET /products", catch_response=True) as reply:
            if reply.status_code != 200:
                reply.failure(f"status {reply.status_code}")
                return
            listed = reply.json()["products"]
            # A product behind a waiting room is bought with the room's pass
            # (docs/waiting-room.md): these shoppers only watch its queue.
            self.products = [p["productId"] for p in listed if "waitingRoom" not in p]
            self.rooms = [p["productId"] for p in listed if "waitingRoom" in p]

    @task(2)
    def look(self) -> None:
        if self.products:
            product = random.choice(self.products)
            self.client.get(f"/products/{product}", name="GET /products/{id}")

    @task(2)
    def watch_queue(self) -> None:
        if self.rooms:
            product = random.choice(self.rooms)
            self.client.get(f"/products/{product}/queue", name="GET /products/{id}/queue")

    @task(3)
    def buy(self) -> None:
        if not self.products:
            return
        body = {"userId": self.user_id, "productId": random.choice(self.products), "quantity": 1}
        headers = {"Idempotency-Key": str(uuid.uuid4()), **self.auth}
        with self.client.post(
            "/orders", json=body, headers=headers, name="POST /orders", catch_response=True
        ) as reply:
            if reply.status_code in EXPECTED:
                reply.success()
            else:
                reply.failure(f"status {reply.status_code}: {reply.text[:200]}")

    @task(1)
    def my_orders(self) -> None:
        self.client.get(
            f"/users/{self.user_id}/orders", name="GET /users/{id}/orders", headers=self.auth
        )
