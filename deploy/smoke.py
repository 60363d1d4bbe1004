"""Post-deploy smoke test: health, the catalog through CloudFront, and one order.

    make smoke BASE_URL=https://<distribution>.cloudfront.net SMOKE_ARGS="..."
    python -m deploy.smoke --base-url URL [options]

Deployed (what the deploy workflow runs after each deploy):
    --api-prefix /api --expect-cloudfront
    --user-pool-id POOL --client-id SMOKE_CLIENT --username USER   (SMOKE_PASSWORD in env)
    --create-product --signing-host <rest-api-id>.execute-api.<region>.amazonaws.com
The shopper signs in with ADMIN_USER_PASSWORD_AUTH on the pool's smoke client
(the caller's AWS credentials need cognito-idp:AdminInitiateAuth), and the
smoke product is put through the admin route, signed with SigV4 for the API's
own host (the caller needs execute-api:Invoke on PUT /products/smoke-*). With
SMOKE_TOKEN in the environment every request carries it as x-flashsale-smoke,
which the WAF lets through (CI runs from addresses it may block).

Local stack (no sign-in; `make run`):
    --base-url http://127.0.0.1:8000 --create-product

Every check prints a line; the first failure stops the run with exit code 1.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

SMOKE_PRODUCT = "smoke-test"
USER_AGENT = "FlashSaleSmoke/1.0 (post-deploy check)"


class SmokeFailed(Exception):
    """A check did not hold."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Shopper:
    user_id: str
    id_token: str | None  # None: the local stage, no sign-in


def sign_in(
    cognito: Any, user_pool_id: str, client_id: str, username: str, password: str
) -> Shopper:
    """A Cognito user's ID token and subject (the API's userId), by admin password auth."""
    result = cognito.admin_initiate_auth(
        UserPoolId=user_pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    if "AuthenticationResult" not in result:
        raise SmokeFailed(f"sign-in wants a challenge: {result.get('ChallengeName')}")
    token = result["AuthenticationResult"]["IdToken"]
    return Shopper(user_id=claims(token)["sub"], id_token=token)


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload (not verified: API Gateway verifies; this only reads `sub`)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


class Client:
    """HTTP to the stage: the base URL plus the API prefix (/api behind CloudFront)."""

    def __init__(self, base_url: str, api_prefix: str = "", smoke_token: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SmokeFailed(f"not an http(s) URL: {base_url!r}")
        self._parsed = parsed
        self._prefix = api_prefix.rstrip("/")
        self._smoke_token = smoke_token

    def path(self, path: str) -> str:
        return f"{self._parsed.path.rstrip('/')}{self._prefix}{path}"

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        connection_class = (
            http.client.HTTPSConnection
            if self._parsed.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = connection_class(self._parsed.hostname, self._parsed.port, timeout=30)
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if self._smoke_token:
            all_headers["x-flashsale-smoke"] = self._smoke_token
        payload = None if body is None else json.dumps(body)
        if payload is not None:
            all_headers.setdefault("Content-Type", "application/json")
        try:
            connection.request(method, self.path(path), body=payload, headers=all_headers)
            response = connection.getresponse()
            raw = response.read()
        except OSError as exc:
            raise SmokeFailed(f"{method} {self.path(path)}: {exc}") from exc
        finally:
            connection.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")[:300]
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)


def sigv4_headers(
    method: str, host: str, path: str, body: str, region: str, credentials: Any
) -> dict[str, str]:
    """SigV4 headers for API Gateway's IAM authorizer, signed for the API's own host
    (CloudFront forwards requests to it with that Host)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method=method,
        url=f"https://{host}{path}",
        data=body,
        headers={"Content-Type": "application/json", "Host": host},
    )
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return {k: v for k, v in request.headers.items() if k.lower() != "host"}


def expect(condition: bool, message: str, answer: Answer | None = None) -> None:
    if not condition:
        detail = f": {answer.status} {answer.body!r}" if answer is not None else ""
        raise SmokeFailed(message + detail)
    print(f"ok   {message}", flush=True)


def with_busy_retries(call: Any, attempts: int = 4) -> Answer:
    """A 503 BUSY or 429 is the shop asking to come back: do, as the UI does."""
    answer: Answer = call()
    for _ in range(attempts - 1):
        if answer.status not in (429, 503):
            break
        time.sleep(min(float(answer.headers.get("retry-after", "1")), 5))
        answer = call()
    return answer


def run(
    client: Client,
    shopper: Shopper,
    product_id: str = SMOKE_PRODUCT,
    expect_cloudfront: bool = False,
    product_headers: Any = None,
) -> str:
    """The smoke checks; returns the order id placed."""
    health = client.call("GET", "/health")
    expect(health.status == 200 and health.body == {"status": "ok"}, "GET /health", health)

    if product_headers is not None:
        # Restocked on every run; no per-user limit (the smoke shopper comes back).
        product = {"name": "Smoke test (not for sale)", "price": 0.01, "stock": 100_000}
        body = json.dumps(product)
        put = client.call(
            "PUT",
            f"/products/{product_id}",
            product,
            product_headers(f"/products/{product_id}", body),
        )
        expect(put.status == 200, f"PUT /products/{product_id} (admin)", put)

    catalog = client.call("GET", "/products")
    expect(catalog.status == 200 and isinstance(catalog.body, dict), "GET /products", catalog)
    ids = [p.get("productId") for p in catalog.body.get("products", [])]
    expect(product_id in ids, f"the catalog lists {product_id}", catalog)
    if expect_cloudfront:
        via = catalog.headers.get("via", "") + " " + catalog.headers.get("x-cache", "")
        expect("cloudfront" in via.lower(), "the catalog came through CloudFront", catalog)
        expect(
            "public" in catalog.headers.get("cache-control", ""),
            "the catalog is cacheable",
            catalog,
        )

    auth = {"Authorization": shopper.id_token} if shopper.id_token else {}
    key = f"smoke-{uuid.uuid4()}"
    order_body = {"userId": shopper.user_id, "productId": product_id, "quantity": 1}
    placed = with_busy_retries(
        lambda: client.call("POST", "/orders", order_body, {**auth, "Idempotency-Key": key})
    )
    expect(
        placed.status == 201 and isinstance(placed.body, dict),
        "POST /orders as the shopper",
        placed,
    )
    order_id = str(placed.body["orderId"])
    expect(
        placed.body.get("userId") == shopper.user_id and placed.body.get("quantity") == 1,
        f"order {order_id} is the shopper's",
        placed,
    )
    again = client.call("GET", f"/orders/{order_id}", headers=auth)
    expect(again.status == 200 and again.body == placed.body, f"GET /orders/{order_id}", again)
    mine = client.call("GET", f"/users/{shopper.user_id}/orders?limit=10", headers=auth)
    expect(
        mine.status == 200 and order_id in [o["orderId"] for o in mine.body.get("orders", [])],
        "the order is in the shopper's list",
        mine,
    )
    if shopper.id_token:
        anonymous = client.call("POST", "/orders", order_body)
        expect(anonymous.status in (401, 403), "an order without sign-in is refused", anonymous)
        expect(
            isinstance(anonymous.body, dict) and {"code", "message"} <= set(anonymous.body),
            "the refusal has the contract's error body",
            anonymous,
        )
    return order_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-prefix", default="", help="/api behind CloudFront; empty locally")
    parser.add_argument("--product", default=SMOKE_PRODUCT)
    parser.add_argument("--expect-cloudfront", action="store_true")
    parser.add_argument("--create-product", action="store_true", help="put the smoke product first")
    parser.add_argument("--signing-host", help="<rest-api-id>.execute-api.<region>.amazonaws.com")
    parser.add_argument("--user-pool-id")
    parser.add_argument("--client-id")
    parser.add_argument("--username")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    client = Client(args.base_url, args.api_prefix, os.environ.get("SMOKE_TOKEN") or None)
    try:
        if args.user_pool_id:
            import boto3

            password = os.environ.get("SMOKE_PASSWORD")
            if not (args.client_id and args.username and password):
                parser.error("signing in needs --client-id, --username and SMOKE_PASSWORD")
            cognito = boto3.client("cognito-idp", region_name=args.region)
            shopper = sign_in(cognito, args.user_pool_id, args.client_id, args.username, password)
            print(f"ok   signed in as {args.username}", flush=True)
        else:
            shopper = Shopper(user_id=f"smoke-{uuid.uuid4().hex[:12]}", id_token=None)
        product_headers = None
        if args.create_product:
            product_headers = lambda path, body: {}  # noqa: E731 - the local stage signs nothing
            if args.signing_host:
                import boto3

                credentials = boto3.session.Session().get_credentials()
                stage_path = urllib.parse.urlsplit(args.base_url).path.rstrip("/") + args.api_prefix
                product_headers = lambda path, body: sigv4_headers(  # noqa: E731
                    "PUT", args.signing_host, stage_path + path, body, args.region, credentials
                )
        order_id = run(client, shopper, args.product, args.expect_cloudfront, product_headers)
    except SmokeFailed as failure:
        print(f"FAIL {failure}", file=sys.stderr, flush=True)
        return 1
    print(f"smoke test passed (order {order_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
