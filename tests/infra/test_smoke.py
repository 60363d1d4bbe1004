"""The post-deploy smoke test's and the load test's sign-in, against moto's Cognito;
the SigV4 signing of the admin request. The checks themselves run against the
local stack in tests/stack/test_smoke.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials
from moto import mock_aws

from deploy import smoke
from loadtest import users
from loadtest.users import Identities

PASSWORD = "Smoke-Passw0rd-123"


@pytest.fixture
def pool() -> Iterator[tuple[Any, str, str]]:
    with mock_aws():
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = cognito.create_user_pool(PoolName="shoppers", UsernameAttributes=["email"])[
            "UserPool"
        ]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="smoke",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        yield cognito, pool_id, client_id


def add_user(cognito: Any, pool_id: str, username: str) -> str:
    created = cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": username}],
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
    )
    attributes = {a["Name"]: a["Value"] for a in created["User"]["Attributes"]}
    return attributes["sub"]


def test_the_smoke_shopper_signs_in_as_the_tokens_subject(pool: tuple[Any, str, str]) -> None:
    cognito, pool_id, client_id = pool
    sub = add_user(cognito, pool_id, "smoke@example.invalid")

    shopper = smoke.sign_in(cognito, pool_id, client_id, "smoke@example.invalid", PASSWORD)

    assert shopper.user_id == sub  # the API takes the token's sub as the shopper
    assert shopper.id_token and smoke.claims(shopper.id_token)["token_use"] == "id"
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        smoke.sign_in(cognito, pool_id, client_id, "smoke@example.invalid", "wrong")


def test_the_admin_request_is_signed_for_the_apis_own_host() -> None:
    headers = smoke.sigv4_headers(
        "PUT",
        "abc123.execute-api.us-east-1.amazonaws.com",
        "/api/products/smoke-test",
        '{"name": "x"}',
        "us-east-1",
        Credentials("AKIDEXAMPLE", "secret"),
    )
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/execute-api/aws4_request" in authorization
    assert "SignedHeaders=content-type;host;x-amz-date" in authorization
    assert "X-Amz-Date" in headers and "host" not in {k.lower() for k in headers}


def test_load_test_users_sign_in_and_are_removed(
    pool: tuple[Any, str, str], tmp_path: Path
) -> None:
    cognito, pool_id, client_id = pool
    out = io.StringIO()
    made = users.create(cognito, pool_id, 3, out)
    roster = tmp_path / "users.csv"
    roster.write_text(out.getvalue())

    identities = Identities(
        {
            "LOADTEST_USERS": str(roster),
            "LOADTEST_USER_POOL_ID": pool_id,
            "LOADTEST_CLIENT_ID": client_id,
        },
        cognito=cognito,
    )
    seen = [identities.next() for _ in range(4)]  # cycles through the roster

    subs = {user_id for user_id, _ in seen}
    assert len(subs) == 3
    for user_id, headers in seen:
        assert smoke.claims(headers["Authorization"])["sub"] == user_id
    assert users.delete(cognito, pool_id, users.read(roster.read_text().splitlines())) == 3
    assert cognito.list_users(UserPoolId=pool_id)["Users"] == []
    assert len(made) == 3
    with pytest.raises(SystemExit):
        users.delete(cognito, pool_id, [("someone@shop.example", "")])


def test_locally_shoppers_are_dev_identities_without_tokens() -> None:
    user_id, headers = Identities({}).next()
    assert user_id.startswith("load-") and headers == {}
