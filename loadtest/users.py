"""Shoppers for a load test against a deployed stage: Cognito users, created and
removed by an operator (admin APIs), signed in by Locust.

    python -m loadtest.users create --user-pool-id POOL --count 50 > build/load-users.csv
    LOADTEST_USERS=build/load-users.csv LOADTEST_USER_POOL_ID=POOL \\
        LOADTEST_CLIENT_ID=SMOKE_CLIENT python -m locust -f loadtest/locustfile.py \\
        --host https://<distribution>/api
    python -m loadtest.users delete --user-pool-id POOL < build/load-users.csv

The client is the pool's smoke client (infra/core: ADMIN_USER_PASSWORD_AUTH only),
so signing in needs the operator's AWS credentials too
(cognito-idp:AdminCreateUser/AdminSetUserPassword/AdminInitiateAuth/AdminDeleteUser).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import secrets
import sys
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

DOMAIN = "example.invalid"  # never deliverable: Cognito sends these users nothing


def create(cognito: Any, user_pool_id: str, count: int, out: TextIO) -> list[tuple[str, str]]:
    """Create `count` confirmed users with random passwords; write username,password rows."""
    writer = csv.writer(out)
    made = []
    for _ in range(count):
        username = f"load-{uuid.uuid4().hex[:12]}@{DOMAIN}"
        # Meets any pool policy: 12+ characters, upper, lower, digit and symbol.
        password = secrets.token_urlsafe(24) + "Aa1!"
        cognito.admin_create_user(
            UserPoolId=user_pool_id,
            Username=username,
            MessageAction="SUPPRESS",
            # Unverified on purpose: mail goes to verified addresses only, and
            # these never receive any (example.invalid would bounce).
            UserAttributes=[{"Name": "email", "Value": username}],
        )
        cognito.admin_set_user_password(
            UserPoolId=user_pool_id, Username=username, Password=password, Permanent=True
        )
        writer.writerow([username, password])
        made.append((username, password))
    return made


def read(rows: Iterable[str]) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in csv.reader(rows) if row]


def delete(cognito: Any, user_pool_id: str, users: list[tuple[str, str]]) -> int:
    for username, _ in users:
        if not username.endswith(f"@{DOMAIN}"):
            raise SystemExit(f"refusing to delete {username}: not a load-test user")
        cognito.admin_delete_user(UserPoolId=user_pool_id, Username=username)
    return len(users)


class Identities:
    """Who the simulated shoppers are: dev identities locally, Cognito users (from
    LOADTEST_USERS) signed in on a deployed stage."""

    def __init__(self, env: Mapping[str, str] = os.environ, cognito: Any = None) -> None:
        self._pool = env.get("LOADTEST_USER_POOL_ID")
        self._client = env.get("LOADTEST_CLIENT_ID")
        self._cognito = cognito
        self._users: itertools.cycle[tuple[str, str]] | None = None
        self._lock = threading.Lock()
        if env.get("LOADTEST_USERS"):
            with open(env["LOADTEST_USERS"]) as rows:
                users = read(rows)
            if not users or not (self._pool and self._client):
                raise SystemExit(
                    "LOADTEST_USERS needs users, LOADTEST_USER_POOL_ID and LOADTEST_CLIENT_ID"
                )
            self._users = itertools.cycle(users)

    def next(self) -> tuple[str, dict[str, str]]:
        """A shopper's userId and the headers its requests carry."""
        if self._users is None:
            return f"load-{uuid.uuid4().hex[:12]}", {}
        from deploy.smoke import sign_in

        with self._lock:
            username, password = next(self._users)
            if self._cognito is None:
                import boto3

                self._cognito = boto3.client("cognito-idp")
        assert self._pool and self._client
        shopper = sign_in(self._cognito, self._pool, self._client, username, password)
        assert shopper.id_token is not None
        return shopper.user_id, {"Authorization": shopper.id_token}


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["create", "delete"])
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()
    cognito = boto3.client("cognito-idp")
    if args.command == "create":
        create(cognito, args.user_pool_id, args.count, sys.stdout)
    else:
        removed = delete(cognito, args.user_pool_id, read(sys.stdin))
        print(f"deleted {removed} load-test users", file=sys.stderr)


if __name__ == "__main__":
    main()
